//! `genhook serve`: run the receiver on the runtime its `threading_model` asks for, until
//! SIGTERM or SIGINT, then shut down gracefully.

use std::process::ExitCode;

use super::{print_problems, ConfigArg};
use crate::app::GenHook;
use crate::config::{Config, ThreadingModel};

pub(super) fn run(args: &ConfigArg) -> ExitCode {
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
                let chain = error_chain(&error);
                tracing::error!(error = %chain, "GenHook could not start.");
                eprintln!("genhook: {chain}");
                return ExitCode::FAILURE;
            }
        };
        running.run_until(crate::app::shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}

/// An error and its causes, `: `-separated (a store error names its file in a cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let more = current.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = current.source();
    }
    text
}
