//! Accepting a new event: the queue-full checks (count and bytes), the delivery id's claim
//! (`SET … PX`), the `XADD` and the byte counter's `INCRBY` in one Lua script (`accept.lua`, run
//! with `EVALSHA`; loaded again by the client when a restarted Redis answers `NOSCRIPT`). Redis
//! stores the entry, its bytes and the claim, or none of them.
//!
//! If the answer is lost with the connection after Redis ran the script, the webhook is answered
//! 503 and the provider's retry `duplicate`: its event is queued, so nothing is lost.

use std::sync::LazyLock;

use genhook_core::queue::{record, Accepted, Claim, DeadLetter, Event, QueueError};

use super::errors::storage;
use super::Inner;

static ACCEPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("accept.lua")));

impl Inner {
    /// Runs the accept script for `event` (to the dead letters when it has a `render_error`);
    /// what it did, and the bytes it added to the queue.
    pub(super) async fn accept(
        &self,
        event: Event,
        claim: Option<Claim>,
    ) -> Result<(Accepted, u64), QueueError> {
        let dead = event.render_error.is_some();
        let stream = if dead {
            &self.keys.dead
        } else {
            self.keys.stream(event.priority)
        };
        let mut script = ACCEPT.prepare_invoke();
        script
            .key(stream)
            .key(&self.keys.streams()[..])
            .key(&self.keys.bytes);
        if let Some(claim) = &claim {
            script.key(format!("{}{}", self.keys.dedup, claim.key));
        }
        let window_ms = claim.as_ref().map_or(0, |c| {
            // Redis refuses an expiry past its clock's range: ~35,000 years is plenty.
            u64::try_from(c.window.as_millis()).map_or(1 << 50, |ms| ms.clamp(1, 1 << 50))
        });
        let bound = |value: String| if dead { String::new() } else { value };
        let max_events = match self.limits.max_events {
            usize::MAX => String::new(),
            n => n.to_string(),
        };
        script
            .arg(bound(max_events))
            .arg(window_ms)
            .arg(bound(self.limits.max_bytes.to_string()));
        let (done, size) = if dead {
            let id = event.id.clone();
            let letter = DeadLetter {
                event,
                dead_at_ms: super::super::now_ms(),
            };
            let bytes = encode_dead_letter(&letter)?;
            script.arg(0).arg("id").arg(id).arg("letter").arg(bytes);
            (Accepted::DeadLettered, 0)
        } else {
            let bytes = encode_event(&event)?;
            let size = bytes.len() as u64;
            script.arg(size).arg("event").arg(bytes);
            (Accepted::Queued, size)
        };
        let answer: String = script
            .invoke_async(&mut self.conn())
            .await
            .map_err(storage)?;
        match answer.as_str() {
            "ok" => Ok((done, size)),
            "duplicate" => Ok((Accepted::Duplicate, 0)),
            "full" => Err(QueueError::Full),
            other => Err(QueueError::Storage(
                format!("unexpected answer from the accept script: {other}").into(),
            )),
        }
    }
}

/// An event's stored record (binary: see [`record`]).
pub(super) fn encode_event(event: &Event) -> Result<Vec<u8>, QueueError> {
    record::encode_event(event).map_err(|e| QueueError::Storage(Box::new(e)))
}

/// A dead letter's stored record.
pub(super) fn encode_dead_letter(letter: &DeadLetter) -> Result<Vec<u8>, QueueError> {
    record::encode_dead_letter(letter).map_err(|e| QueueError::Storage(Box::new(e)))
}
