//! `genhook dlq …` against a real admin API on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod queue_common;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use genhook::admin::{router, AdminState};
use genhook::cli::dlq::{run, DlqCommand};
use genhook::core::queue::{DeadLetters as _, Event, Priority, Queue};
use genhook::core::Secret;
use genhook::queue::memory::MemoryQueue;
use queue_common::event;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    dlq: DlqCommand,
}

async fn server() -> (String, Arc<MemoryQueue>) {
    let queue = Arc::new(MemoryQueue::new(100));
    for (id, source) in [("a1", "github"), ("a2", "github"), ("b1", "stripe")] {
        queue
            .dead_letter(event(id, source, "push", Priority::Normal))
            .await
            .unwrap();
    }
    let state = AdminState {
        dead_letters: queue.dead_letters(),
        queue: queue.clone(),
        token: Secret::new("tok"),
        rerender: Arc::new(|e: Event| Ok(e)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().nest("/admin", router(state));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, queue)
}

async fn genhook_dlq(args: &[&str]) -> ExitCode {
    let cli = Cli::try_parse_from(std::iter::once("dlq").chain(args.iter().copied())).unwrap();
    tokio::task::spawn_blocking(move || run(cli.dlq))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_replay_and_purge_over_the_api() {
    let (url, queue) = server().await;
    let ok = ExitCode::SUCCESS;
    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "tok", "list"]).await,
        ok
    );
    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "tok", "list", "--source", "github", "--json"])
            .await,
        ok
    );
    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "tok", "show", "a1"]).await,
        ok
    );
    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "tok", "show", "nope"]).await,
        ExitCode::FAILURE
    );
    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "wrong", "list"]).await,
        ExitCode::FAILURE
    );

    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "tok", "replay", "a1"]).await,
        ok
    );
    assert_eq!(queue.next().await.unwrap().unwrap().id, "a1");
    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "tok", "replay", "--all", "--source", "github"])
            .await,
        ok
    );
    assert_eq!(queue.next().await.unwrap().unwrap().id, "a2");
    assert_eq!(queue.dead_letters().count().await.unwrap(), 1);
    // Without a filter, a purge needs --all.
    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "tok", "purge"]).await,
        ExitCode::from(2)
    );
    assert_eq!(queue.dead_letters().count().await.unwrap(), 1);
    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "tok", "purge", "--all"]).await,
        ok
    );
    assert_eq!(queue.dead_letters().count().await.unwrap(), 0);
}

#[tokio::test]
async fn unreachable_server_fails() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    assert_eq!(
        genhook_dlq(&["--url", &url, "--token", "t", "list"]).await,
        ExitCode::FAILURE
    );
}

#[test]
fn replay_needs_an_id_or_all() {
    assert!(Cli::try_parse_from(["dlq", "replay"]).is_err());
    assert!(Cli::try_parse_from(["dlq", "replay", "x", "--all"]).is_err());
    assert!(Cli::try_parse_from(["dlq", "replay", "--all"]).is_ok());
}

#[test]
fn token_never_shows_in_debug() {
    let cli = Cli::try_parse_from(["dlq", "--token", "hunter2", "list"]).unwrap();
    assert!(!format!("{:?}", cli.dlq).contains("hunter2"));
}
