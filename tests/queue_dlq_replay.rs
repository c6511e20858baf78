//! End to end through GenHook (disk queue): SL1 down for longer than every retry puts the events
//! in the dead-letter queue; once SL1 is back, `genhook dlq replay --all` delivers them all, with
//! the message rendered by the mappings in use at replay time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use genhook::cli::dlq::{run, DlqCommand};
use support::sl1_mock::{Answer, Sl1Mock};
use support::{eventually, TestGenHook};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    dlq: DlqCommand,
}

async fn genhook_dlq(args: Vec<String>) -> ExitCode {
    let cli = Cli::try_parse_from(std::iter::once("dlq".to_owned()).chain(args)).unwrap();
    tokio::task::spawn_blocking(move || run(cli.dlq))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl1_outage_fills_the_dlq_and_replay_all_delivers_with_current_mappings() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::status(500))
        .start()
        .await;
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", "shop: n::old $n$\n")
        .sl1(&sl1.url())
        .set("queue_backend", "disk")
        .set("admin_token", "replay-token")
        .set("sl1_retry_attempts", 0)
        .set("sl1_breaker_threshold", 1000)
        .start()
        .await;
    for n in 0..5 {
        let response = genhook
            .post(
                "/webhook/shop",
                &[("content-type", "application/json")],
                format!("{{\"n\": {n}}}"),
            )
            .await;
        assert_eq!(response.status(), 202);
    }
    let dead = |c: &reqwest::Client| {
        let request = c
            .get(genhook.url("/admin/dlq"))
            .bearer_auth("replay-token")
            .send();
        async move {
            request
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let mut count = 0;
    for _ in 0..100 {
        count = dead(&genhook.client).await["total"].as_u64().unwrap();
        if count == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count, 5, "every event dead-lettered after SL1 refused it");
    let refused = sl1.request_count();

    // SL1 is back, and the mapping was changed meanwhile.
    sl1.set_default(Answer::created());
    std::fs::write(
        genhook.mappings_dir().join("shop.ini"),
        "shop: n::new $n$\n",
    )
    .unwrap();
    assert!(genhook.running().reload(), "the fixed mapping was taken");

    let url = genhook.url("");
    let args = [
        "--url",
        url.trim_end_matches('/'),
        "--token",
        "replay-token",
        "replay",
        "--all",
    ];
    assert_eq!(
        genhook_dlq(args.iter().map(|s| (*s).to_owned()).collect()).await,
        ExitCode::SUCCESS
    );
    assert!(eventually(Duration::from_secs(10), || sl1.accepted().len() == 5).await);
    let mut messages: Vec<_> = sl1
        .accepted()
        .iter()
        .filter_map(|r| r.message().map(str::to_owned))
        .collect();
    messages.sort();
    assert_eq!(messages, ["new 0", "new 1", "new 2", "new 3", "new 4"]);
    assert_eq!(dead(&genhook.client).await["total"], 0);
    assert!(sl1.request_count() >= refused + 5);
}
