//! The outbox: where alerts go when `sl1_api_url` is unset, so that a newcomer sees GenHook work
//! at once. Each alert is logged (info) and appended as one JSON line
//! `{"id","source","event","delivery_id","alert":{...}}` to `outbox_path` (its directory is
//! created when missing). The file I/O is blocking, so it runs on tokio's blocking pool, never on
//! the async threads (in every threading model).

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use genhook_core::queue::Event;
use serde::Serialize;

/// One outbox line.
#[derive(Debug, Serialize)]
struct Line<'a> {
    id: &'a str,
    source: &'a str,
    event: &'a str,
    delivery_id: Option<&'a str>,
    alert: &'a genhook_core::Alert,
}

/// The outbox file. Cheap to clone; clones append to the same file, one line at a time.
#[derive(Debug, Clone)]
pub struct Outbox {
    path: Arc<PathBuf>,
    file: Arc<Mutex<Option<File>>>,
}

impl Outbox {
    /// An outbox at `path`; nothing is created until the first alert.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Arc::new(path.into()),
            file: Arc::new(Mutex::new(None)),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logs the event's alert and appends it, on the blocking pool.
    ///
    /// # Errors
    /// When the file or its directory cannot be created or written.
    pub async fn append(&self, event: &Event) -> io::Result<()> {
        let outbox = self.clone();
        let line = Self::line(event)?;
        tokio::task::spawn_blocking(move || outbox.write_line(&line))
            .await
            .map_err(io::Error::other)?
    }

    /// The event's outbox line; logs the alert on the way (the log is the other place it goes).
    fn line(event: &Event) -> io::Result<Vec<u8>> {
        tracing::info!(
            event_id = %event.id,
            source = %event.source,
            event = %event.event,
            message = %event.alert.message,
            "Alert written to the outbox (no sl1_api_url)."
        );
        let mut line = serde_json::to_vec(&Line {
            id: &event.id,
            source: &event.source,
            event: &event.event,
            delivery_id: event.delivery_id.as_deref(),
            alert: &event.alert,
        })
        .map_err(io::Error::other)?;
        line.push(b'\n');
        Ok(line)
    }

    fn write_line(&self, line: &[u8]) -> io::Result<()> {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if file.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            *file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&*self.path)?,
            );
        }
        match file.as_mut() {
            Some(handle) => {
                handle.write_all(line)?;
                handle.flush()
            }
            None => Err(io::Error::other("outbox file is not open")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use genhook_core::queue::Priority;
    use genhook_core::AlertDefaults;

    pub(crate) fn event(id: &str) -> Event {
        Event {
            id: id.into(),
            source: "github".into(),
            event: "push".into(),
            delivery_id: Some("d-1".into()),
            priority: Priority::Normal,
            received_at_ms: 0,
            alert: AlertDefaults::default().alert(format!("hello {id}")),
            render_error: None,
            headers: vec![],
            body: Bytes::new(),
            attempts: 0,
            last_error: None,
        }
    }

    #[tokio::test]
    async fn appends_json_lines_creating_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path().join("nested/data/outbox.jsonl"));
        outbox.append(&event("a")).await.unwrap();
        outbox.append(&event("b")).await.unwrap();
        let text = std::fs::read_to_string(outbox.path()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["id"], "a");
        assert_eq!(lines[1]["source"], "github");
        assert_eq!(lines[1]["event"], "push");
        assert_eq!(lines[1]["delivery_id"], "d-1");
        assert_eq!(lines[1]["alert"]["message"], "hello b");
        assert_eq!(lines[1]["alert"]["aligned_resource"], "/api/organization/0");
    }
}
