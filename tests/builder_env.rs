//! The start-up's "unknown variable" warning is about GenHook's own overrides: the process
//! environment's `GENHOOK_*` variables are checked when the overrides come from it (the
//! default, as `genhook serve` runs), and not when the embedding program gives its own lookup
//! with `Builder::env` (as the load bench does: its `GENHOOK_LOAD_*` knobs are not GenHook's).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use genhook::app::GenHook;
use genhook::config::Config;
use support::captured_log::CapturedLog;

const STRAY: &str = "GENHOOK_ZZ_NOT_A_SETTING";

/// Starts and stops GenHook (own lookup or the process environment) and returns its log.
fn start_log(own_lookup: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let ini = format!(
        "server_host = 127.0.0.1\nserver_port = 0\nqueue_backend = memory\nreload = false\n\
         data_dir = {}\nmappings_dir = {}\n",
        dir.path().join("data").display(),
        dir.path().join("no-mappings-here").display(),
    );
    let path = dir.path().join("genhook.ini");
    std::fs::write(&path, ini).unwrap();
    let config = Config::load(Some(&path), &|_| None).unwrap();
    let captured = CapturedLog::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(captured.subscriber(), || {
        runtime.block_on(async {
            let mut builder = GenHook::builder(config);
            if own_lookup {
                builder = builder.env(Arc::new(|_| None));
            }
            let running = builder.start().await.unwrap();
            running.shutdown().await;
        });
    });
    captured.text()
}

#[test]
fn unknown_variables_are_warned_about_only_when_the_overrides_come_from_the_process() {
    // The one test of this binary, before any other thread exists: nothing reads the
    // environment while it changes.
    #[allow(clippy::disallowed_methods)]
    std::env::set_var(STRAY, "1");

    let process = start_log(false);
    assert!(
        process.contains(&format!("{STRAY}: unknown variable, ignored")),
        "the process environment is checked by default:\n{process}"
    );
    let own = start_log(true);
    assert!(
        own.contains("Dispatch workers started"),
        "the log was captured:\n{own}"
    );
    assert!(
        !own.contains(STRAY),
        "with its own lookup, the process's variables are not GenHook's:\n{own}"
    );
}
