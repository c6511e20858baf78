//! Shared helpers of the queue tests: events, and opening each backend in isolation.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use std::time::Duration;

use bytes::Bytes;
use genhook::core::queue::{Event, Priority};
use genhook::core::AlertDefaults;
use genhook::queue::{Backend, QueueBackend, QueueSettings};

/// Which backend a test runs against.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Memory,
    Disk,
    Redis,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Disk => "disk",
            Self::Redis => "redis",
        }
    }
}

/// An opened backend and what keeps it isolated (its temp dir, its Redis prefix).
pub struct Opened {
    pub backend: Backend,
    pub settings: QueueSettings,
    pub prefix: String,
    pub dir: tempfile::TempDir,
}

/// [`event`] with a body of `size` bytes (every byte value, not JSON).
pub fn sized_event(id: &str, size: usize) -> Event {
    let mut e = event(id, "s", "e", Priority::Normal);
    e.body = Bytes::from((0..=255u8).cycle().take(size).collect::<Vec<u8>>());
    e
}

/// An event with the given id, source, type and priority.
pub fn event(id: &str, source: &str, event: &str, priority: Priority) -> Event {
    Event {
        id: id.into(),
        source: source.into(),
        event: event.into(),
        delivery_id: Some(format!("d-{id}")),
        priority,
        received_at_ms: 1,
        alert: AlertDefaults::default().alert(format!("{source} {event} {id}")),
        render_error: None,
        headers: vec![("x-test".into(), "1".into())],
        body: Bytes::from(format!("{{\"id\":\"{id}\"}}")),
        attempts: 0,
        last_error: None,
    }
}

/// Whether Redis answers at 127.0.0.1:6379; prints the skip line, and panics under CI=true.
pub async fn redis_available() -> bool {
    let up = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect("127.0.0.1:6379"),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    if !up {
        println!("skipped: no Redis at 127.0.0.1:6379");
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "Redis is required when CI=true"
        );
    }
    up
}

/// Settings for a backend with a fresh directory and a unique Redis prefix.
pub fn settings(kind: Kind, max_size: usize, dir: &std::path::Path) -> (QueueSettings, String) {
    let prefix = format!("genhook-test-{}", uuid::Uuid::new_v4().simple());
    let settings = QueueSettings {
        backend: match kind {
            Kind::Memory => QueueBackend::Memory,
            Kind::Disk => QueueBackend::Disk,
            Kind::Redis => QueueBackend::Redis,
        },
        data_dir: dir.to_path_buf(),
        max_size,
        max_bytes: None,
        redis_url: "redis://127.0.0.1:6379".into(),
        redis_claim_idle: Duration::from_millis(800),
        redis_prefix: prefix.clone(),
    };
    (settings, prefix)
}

/// Opens a fresh backend, or `None` when it is Redis and Redis is absent.
pub async fn open(kind: Kind, max_size: usize) -> Option<Opened> {
    open_bounded(kind, max_size, None).await
}

/// [`open`] with `queue_max_bytes` set (`None`: the backend's default).
pub async fn open_bounded(kind: Kind, max_size: usize, max_bytes: Option<u64>) -> Option<Opened> {
    if matches!(kind, Kind::Redis) && !redis_available().await {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut settings, prefix) = settings(kind, max_size, dir.path());
    settings.max_bytes = max_bytes;
    let backend = genhook::queue::open(&settings).await.unwrap();
    Some(Opened {
        backend,
        settings,
        prefix,
        dir,
    })
}

/// Re-opens a store the previous holder just dropped (its writer thread lets go of the file
/// right after).
pub async fn reopen(settings: &QueueSettings) -> Backend {
    let mut last = None;
    for _ in 0..100 {
        match genhook::queue::open(settings).await {
            Ok(backend) => return backend,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot reopen: {last:?}");
}
