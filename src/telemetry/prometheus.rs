//! The Prometheus recorder: histogram buckets for GenHook's metrics, install, and upkeep.
//!
//! Every `*_seconds` metric of [`genhook_core::metrics`] gets buckets suited to what it measures
//! (a layer takes microseconds, a delivery with retries can take minutes); any other
//! `*_seconds` histogram gets [`SECONDS_BUCKETS`]. Every name of [`names::ALL`] is described
//! ([`describe_metrics`]), so `/metrics` has a `# HELP` line for each. `/metrics` serves
//! [`PrometheusHandle::render`].

use std::sync::OnceLock;
use std::time::Duration;

use genhook_core::metrics as names;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::TelemetryError;

/// Buckets of `*_seconds` histograms without their own: 1ms to 60s.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Buckets of one pipeline stage ([`names::LAYER_DURATION`]): 10µs to 1s.
pub const LAYER_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 1.0,
];

/// Buckets of an HTTP answer ([`names::REQUEST_DURATION`]): 100µs to 30s.
pub const REQUEST_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

/// Buckets of receipt-to-SL1 ([`names::DELIVERY_LATENCY`]), retries included: 5ms to 10min.
pub const DELIVERY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Buckets of one SL1 call ([`names::SL1_REQUEST_DURATION`]): 5ms to 60s.
pub const SL1_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Buckets of events per durable sync ([`names::QUEUE_EVENTS_PER_SYNC`]): 1 to 4096.
pub const EVENTS_PER_SYNC_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

/// How often [`spawn_upkeep`] drains histogram samples.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// A builder with GenHook's buckets set; [`install_metrics`] installs it. Tests use
/// `prometheus_builder()?.build_recorder()` with `metrics::with_local_recorder`.
///
/// # Errors
/// Never with the constant buckets above (an empty bucket list would be refused).
pub fn prometheus_builder() -> Result<PrometheusBuilder, TelemetryError> {
    let per_metric: [(&str, &[f64]); 5] = [
        (names::LAYER_DURATION, LAYER_BUCKETS),
        (names::REQUEST_DURATION, REQUEST_BUCKETS),
        (names::DELIVERY_LATENCY, DELIVERY_BUCKETS),
        (names::SL1_REQUEST_DURATION, SL1_BUCKETS),
        (names::QUEUE_EVENTS_PER_SYNC, EVENTS_PER_SYNC_BUCKETS),
    ];
    let mut builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
        .map_err(TelemetryError::Metrics)?;
    // Full-name matchers take precedence over the suffix one.
    for (name, buckets) in per_metric {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
            .map_err(TelemetryError::Metrics)?;
    }
    Ok(builder)
}

/// Installs the Prometheus recorder as the process's `metrics` recorder and returns the handle
/// whose [`render`](PrometheusHandle::render) the `/metrics` route serves. Call once; run
/// [`spawn_upkeep`] (or `handle.run_upkeep()` every few seconds) as well.
///
/// # Errors
/// When a recorder is already installed.
pub fn install_metrics() -> Result<PrometheusHandle, TelemetryError> {
    let handle = prometheus_builder()?
        .install_recorder()
        .map_err(TelemetryError::Metrics)?;
    describe_metrics();
    Ok(handle)
}

/// Gives the current recorder the help text of every metric of [`names::ALL`] (its `# HELP`
/// line); the recorder installers here call it.
pub fn describe_metrics() {
    for &(name, kind, help) in names::ALL {
        match kind {
            names::Kind::Counter => metrics::describe_counter!(name, help),
            names::Kind::Gauge => metrics::describe_gauge!(name, help),
            names::Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
}

/// The process's Prometheus handle: the first call installs the recorder (with
/// [`prometheus_builder`]'s buckets) and starts a thread that runs upkeep every
/// [`UPKEEP_INTERVAL`]; later calls return the same handle, so several servers in one process
/// (tests) share it. If another recorder was installed first, the handle still renders, but
/// only what was recorded through it (nothing): a warning says so.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = prometheus_builder().unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("Another metrics recorder is installed; /metrics will be empty.");
            } else {
                describe_metrics();
            }
            start_upkeep_thread(handle.clone());
            handle
        })
        .clone()
}

/// Runs upkeep on a thread of its own (not tied to any runtime), for the process's life.
fn start_upkeep_thread(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("genhook-metrics-upkeep".to_owned())
        .spawn(move || loop {
            // Woken only by the timeout: nothing unparks this thread.
            std::thread::park_timeout(UPKEEP_INTERVAL);
            handle.run_upkeep();
        });
    if let Err(error) = started {
        tracing::warn!(%error, "Cannot start the metrics upkeep thread; histograms are drained at each scrape only.");
    }
}

/// Drains histogram samples every [`UPKEEP_INTERVAL`] so they do not grow between scrapes.
/// Needs a Tokio runtime; abort the returned task at shutdown (or let the runtime end it).
pub fn spawn_upkeep(handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            handle.run_upkeep();
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Records one sample of each histogram into a local recorder and renders it.
    fn render_with_samples() -> String {
        let recorder = prometheus_builder().unwrap().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!(names::LAYER_DURATION, "source" => "github", "layer" => "verify")
                .record(0.000_03);
            metrics::histogram!(names::DELIVERY_LATENCY, "source" => "github").record(200.0);
            metrics::histogram!(names::SL1_REQUEST_DURATION).record(0.2);
            metrics::histogram!(names::REQUEST_DURATION, "status" => "202").record(0.002);
            metrics::histogram!(names::QUEUE_EVENTS_PER_SYNC, "backend" => "disk").record(3.0);
            metrics::histogram!("genhook_other_seconds").record(0.3);
        });
        handle.run_upkeep();
        handle.render()
    }

    #[test]
    fn every_histogram_is_rendered_with_its_buckets() {
        let text = render_with_samples();
        for expected in [
            r#"genhook_layer_duration_seconds_bucket{source="github",layer="verify",le="0.00005"} 1"#,
            r#"genhook_layer_duration_seconds_bucket{source="github",layer="verify",le="0.000025"} 0"#,
            r#"genhook_delivery_latency_seconds_bucket{source="github",le="300"} 1"#,
            r#"genhook_delivery_latency_seconds_bucket{source="github",le="120"} 0"#,
            r#"genhook_sl1_request_duration_seconds_bucket{le="0.25"} 1"#,
            r#"genhook_http_request_duration_seconds_bucket{status="202",le="0.0025"} 1"#,
            r#"genhook_queue_events_per_sync_bucket{backend="disk",le="4"} 1"#,
            r#"genhook_other_seconds_bucket{le="0.5"} 1"#,
            r#"genhook_other_seconds_bucket{le="0.25"} 0"#,
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
        // Histograms, not summaries (which have quantiles instead of buckets).
        assert!(!text.contains("quantile="), "{text}");
    }

    #[test]
    fn the_process_handle_is_installed_once_and_shared() {
        let first = prometheus();
        let second = prometheus();
        // Labels no other test uses: the recorder is shared by the whole test process.
        metrics::counter!(names::WEBHOOKS_RECEIVED, "source" => "telemetry-test", "event" => "push")
            .increment(2);
        metrics::histogram!("genhook_telemetry_test_seconds").record(0.2);
        for handle in [&first, &second] {
            let text = handle.render();
            assert!(
                text.contains(
                    r#"genhook_webhooks_received_total{source="telemetry-test",event="push"} 2"#
                ),
                "{text}"
            );
        }
        let text = second.render();
        assert!(
            text.contains(r#"genhook_telemetry_test_seconds_bucket{le="0.25"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn every_metric_has_its_help_and_type_line() {
        let recorder = prometheus_builder().unwrap().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe_metrics();
            for &(name, kind, _) in names::ALL {
                match kind {
                    names::Kind::Counter => metrics::counter!(name).increment(1),
                    names::Kind::Gauge => metrics::gauge!(name).set(1.0),
                    names::Kind::Histogram => metrics::histogram!(name).record(0.1),
                }
            }
        });
        let text = handle.render();
        for &(name, kind, help) in names::ALL {
            let kind = match kind {
                names::Kind::Counter => "counter",
                names::Kind::Gauge => "gauge",
                names::Kind::Histogram => "histogram",
            };
            assert!(
                text.contains(&format!("# HELP {name} {help}\n")),
                "no HELP for {name}:\n{text}"
            );
            assert!(
                text.contains(&format!("# TYPE {name} {kind}\n")),
                "no TYPE for {name}:\n{text}"
            );
        }
    }

    #[test]
    fn bucket_lists_are_sorted_and_non_empty() {
        for buckets in [
            SECONDS_BUCKETS,
            LAYER_BUCKETS,
            REQUEST_BUCKETS,
            DELIVERY_BUCKETS,
            SL1_BUCKETS,
            EVENTS_PER_SYNC_BUCKETS,
        ] {
            assert!(!buckets.is_empty());
            assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{buckets:?}");
        }
    }
}
