//! `genhook serve`: run the receiver on the runtime its `threading_model` asks for, until
//! SIGTERM or SIGINT, then shut down gracefully; under systemd (`NOTIFY_SOCKET`) it says when it is
//! ready and when it stops ([`crate::notify`]).

use std::process::ExitCode;

use super::{print_problems, ConfigArg};
use crate::app::GenHook;
use crate::config::{Config, ThreadingModel};

pub(super) fn run(args: &ConfigArg) -> ExitCode {
    // Before the configuration: the default `max_connections` is derived from this limit.
    let descriptors = raise_descriptor_limit();
    let config = match Config::load(args.config.as_deref(), &crate::config::env::lookup) {
        Ok(config) => config,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::FAILURE;
        }
    };
    let logging =
        match crate::telemetry::init_logging(crate::telemetry::LogSettings::from_config(&config)) {
            Ok(guard) => std::sync::Arc::new(guard),
            Err(error) => {
                eprintln!("cannot set up logging: {error}");
                return ExitCode::FAILURE;
            }
        };
    for warning in config.warnings() {
        tracing::warn!(%warning, "Configuration warning.");
    }
    if let Some((from, to)) = descriptors {
        tracing::info!(
            from,
            to,
            "Raised the open-file limit (RLIMIT_NOFILE) to its hard limit."
        );
    }
    // `async`: one thread runs everything; `hybrid` and `thread_pool`: a multi-threaded runtime
    // for HTTP (the thread pool's workers are OS threads of their own).
    let runtime = match config.threading_model {
        ThreadingModel::Async => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        ThreadingModel::Hybrid | ThreadingModel::ThreadPool => {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        }
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // A reload that changes `log_level` applies it to this subscriber.
        let level_logging = std::sync::Arc::clone(&logging);
        let set_level = std::sync::Arc::new(move |level| {
            if let Err(error) = level_logging.set_level(level) {
                tracing::warn!(%error, "Cannot change the log level.");
            }
        });
        let running = match GenHook::builder(config)
            .log_level_setter(set_level)
            .start()
            .await
        {
            Ok(running) => running,
            Err(error) => {
                let chain = genhook_core::error_chain(&error);
                tracing::error!(error = %chain, "GenHook could not start.");
                eprintln!("genhook: {chain}");
                return ExitCode::FAILURE;
            }
        };
        // Listening, stacks built, workers running: systemd's Type=notify start is over.
        crate::notify::ready();
        running
            .run_until(async {
                crate::app::shutdown_signal().await;
                crate::notify::stopping();
            })
            .await;
        ExitCode::SUCCESS
    })
}

/// Raises the soft open-file limit to the hard one, as servers do (systemd's default soft limit
/// is 1024, hard 524288): every connection is a descriptor, and `max_connections` defaults to
/// a share of this limit. Returns the limits before and after when it raised them; a limit that
/// cannot be read or raised is left as it is (the defaults adapt to it).
#[cfg(unix)]
fn raise_descriptor_limit() -> Option<(u64, u64)> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    let (Some(soft), hard) = (limit.current, limit.maximum) else {
        return None; // already unlimited
    };
    // An unlimited hard limit: enough for any connection count GenHook would accept.
    let target = hard.unwrap_or(1 << 20);
    if target <= soft {
        return None;
    }
    limit.current = Some(target);
    setrlimit(Resource::Nofile, limit).ok()?;
    Some((soft, target))
}

#[cfg(not(unix))]
fn raise_descriptor_limit() -> Option<(u64, u64)> {
    None
}
