//! SL1 over HTTPS: `sl1_ca_file` trusted as roots and pinned (SL1's own self-signed `CA:TRUE`
//! certificate), a different certificate refused, the pinned certificate still checked against
//! the URL's host; directly through the client and through the worker pool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery_common;
mod support;

use std::time::Duration;

use delivery_common::{request, settings, spawn_pool, WAIT};
use genhook::worker::{Sl1Client, Sl1Error, ThreadingModel, WorkerSettings};
use http::StatusCode;
use support::memory_queue::{test_event, MemoryQueue};
use support::sl1_mock::{Sl1Mock, TestPki};
use tokio_rustls::rustls;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_ca_file_is_trusted_for_https_sl1() {
    let pki = TestPki::generate();
    let sl1 = Sl1Mock::builder().tls(pki.identity()).start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("sl1-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();

    // Without the CA: the TLS handshake fails, a connect error (retryable).
    let untrusting = Sl1Client::new(&settings(&sl1)).unwrap();
    let error = untrusting.oneshot(request()).await.unwrap_err();
    assert!(matches!(error, Sl1Error::Connect(_)), "{error:?}");
    assert!(error.is_retryable());

    // With it: delivered, by IP and by name.
    for url in [sl1.url(), sl1.url_localhost()] {
        let settings = WorkerSettings {
            sl1_api_url: Some(url),
            sl1_ca_file: Some(ca_file.clone()),
            ..settings(&sl1)
        };
        let client = Sl1Client::new(&settings).unwrap();
        let response = client.oneshot(request()).await.unwrap();
        assert_eq!(response.status, StatusCode::CREATED);
    }
    assert_eq!(sl1.accepted().len(), 2);
}

/// The rustls error under a failed SL1 attempt, if a TLS check refused the server.
fn tls_error(error: &Sl1Error) -> Option<&rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // io::Error hides its inner error from `source()`: look through it.
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

/// An HTTPS SL1 serving `served`, and worker settings with `sl1_ca_file` holding `trusted`.
async fn https_sl1(
    served: &TestPki,
    trusted: &str,
) -> (Sl1Mock, WorkerSettings, tempfile::TempDir) {
    let sl1 = Sl1Mock::builder().tls(served.identity()).start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("sl1-ca.pem");
    std::fs::write(&ca_file, trusted).unwrap();
    let settings = WorkerSettings {
        sl1_ca_file: Some(ca_file),
        ..settings(&sl1)
    };
    (sl1, settings, dir)
}

/// SL1's usual certificate: self-signed, `CA:TRUE`, served as its own. With that certificate in
/// `sl1_ca_file` it is pinned: the client delivers, by IP and by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_ca_true_sl1_certificate_in_ca_file_is_delivered() {
    let own = TestPki::self_signed_ca(&["127.0.0.1", "localhost"]);
    let (sl1, settings, _dir) = https_sl1(&own, &own.ca_pem).await;
    for url in [sl1.url(), sl1.url_localhost()] {
        let settings = WorkerSettings {
            sl1_api_url: Some(url.clone()),
            ..settings.clone()
        };
        let client = Sl1Client::new(&settings).unwrap();
        let response = client.oneshot(request()).await;
        assert_eq!(response.unwrap().status, StatusCode::CREATED, "{url}");
    }
    assert_eq!(sl1.accepted().len(), 2);
}

/// The pin is the exact certificate: another self-signed certificate in `sl1_ca_file` makes the
/// server's refused (a TLS error, retryable, nothing sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_self_signed_certificate_in_ca_file_is_refused() {
    let own = TestPki::self_signed_ca(&["127.0.0.1", "localhost"]);
    let other = TestPki::self_signed_ca(&["127.0.0.1", "localhost"]);
    let (sl1, settings, _dir) = https_sl1(&own, &other.ca_pem).await;

    let error = Sl1Client::new(&settings)
        .unwrap()
        .oneshot(request())
        .await
        .unwrap_err();
    assert!(matches!(error, Sl1Error::Connect(_)), "{error:?}");
    assert!(error.is_retryable());
    assert!(
        matches!(
            tls_error(&error),
            Some(rustls::Error::InvalidCertificate(_))
        ),
        "{error:?}"
    );
    assert_eq!(sl1.request_count(), 0, "nothing was sent");
}

/// A pinned certificate is still checked against the URL's host (its subjectAltName).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_certificate_must_name_the_url_host() {
    let own = TestPki::self_signed_ca(&["sl1.example.invalid"]);
    let (sl1, settings, _dir) = https_sl1(&own, &own.ca_pem).await;
    let error = Sl1Client::new(&settings)
        .unwrap()
        .oneshot(request())
        .await
        .unwrap_err();
    assert!(
        matches!(
            tls_error(&error),
            Some(rustls::Error::InvalidCertificate(_))
        ),
        "{error:?}"
    );
    assert_eq!(sl1.request_count(), 0);
}

/// Through the worker pool, with async deliveries (`hybrid`) and OS threads (`thread_pool`),
/// both over the one async client: the pinned self-signed SL1 gets the alert; with another certificate in
/// `sl1_ca_file` the event is retried, dead-lettered with the TLS error, and never sent.
async fn self_signed_sl1_through_the_pool(model: ThreadingModel) {
    let own = TestPki::self_signed_ca(&["127.0.0.1"]);
    let other = TestPki::self_signed_ca(&["127.0.0.1"]);
    for (trusted, delivered) in [(&own.ca_pem, true), (&other.ca_pem, false)] {
        let (sl1, settings, _dir) = https_sl1(&own, trusted).await;
        let queue = MemoryQueue::new();
        queue.push(test_event("tls1", "github", "one"));
        let pool = spawn_pool(
            WorkerSettings {
                threading: model,
                ..settings
            },
            &queue,
        );
        queue.wait_settled(1, WAIT).await;
        if delivered {
            assert_eq!(queue.acked().len(), 1, "{model:?}");
            assert_eq!(sl1.accepted().len(), 1, "{model:?}");
        } else {
            let dead = queue.dead();
            assert_eq!(dead.len(), 1, "{model:?}");
            assert_eq!(
                dead[0].attempts, 4,
                "{model:?}: the first try and 3 retries"
            );
            let last_error = dead[0].last_error.as_deref().unwrap();
            assert!(
                last_error.contains("certificate"),
                "{model:?}: {last_error}"
            );
            assert_eq!(sl1.request_count(), 0, "{model:?}: never sent");
        }
        assert_eq!(pool.shutdown(Duration::from_secs(1)).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_sl1_through_the_pool_with_async_deliveries() {
    self_signed_sl1_through_the_pool(ThreadingModel::Hybrid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_sl1_through_the_pool_with_thread_pool_workers() {
    self_signed_sl1_through_the_pool(ThreadingModel::ThreadPool).await;
}
