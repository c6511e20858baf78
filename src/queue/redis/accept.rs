//! Accepting a new event: the queue-full check, the delivery id's claim (`SET … PX`) and the
//! `XADD` in one Lua script (`accept.lua`, run with `EVALSHA`; loaded again by the client when a
//! restarted Redis answers `NOSCRIPT`). Redis stores the entry and the claim, or neither.
//!
//! If the answer is lost with the connection after Redis ran the script, the webhook is answered
//! 503 and the provider's retry `duplicate`: its event is queued, so nothing is lost.

use std::sync::LazyLock;

use genhook_core::queue::{Accepted, Claim, DeadLetter, Event, QueueError};

use super::errors::storage;
use super::Inner;

static ACCEPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("accept.lua")));

impl Inner {
    /// Runs the accept script for `event` (to the dead letters when it has a `render_error`).
    pub(super) async fn accept(
        &self,
        event: Event,
        claim: Option<Claim>,
    ) -> Result<Accepted, QueueError> {
        let dead = event.render_error.is_some();
        let stream = if dead {
            &self.keys.dead
        } else {
            self.keys.stream(event.priority)
        };
        let mut script = ACCEPT.prepare_invoke();
        script.key(stream).key(&self.keys.streams()[..]);
        if let Some(claim) = &claim {
            script.key(format!("{}{}", self.keys.dedup, claim.key));
        }
        let window_ms = claim.as_ref().map_or(0, |c| {
            // Redis refuses an expiry past its clock's range: ~35,000 years is plenty.
            u64::try_from(c.window.as_millis()).map_or(1 << 50, |ms| ms.clamp(1, 1 << 50))
        });
        let capacity = if dead {
            String::new()
        } else {
            self.capacity.to_string()
        };
        script.arg(capacity).arg(window_ms);
        let done = if dead {
            let id = event.id.clone();
            let letter = DeadLetter {
                event,
                dead_at_ms: super::super::now_ms(),
            };
            script.arg("id").arg(id).arg("letter").arg(encode(&letter)?);
            Accepted::DeadLettered
        } else {
            script.arg("event").arg(encode(&event)?);
            Accepted::Queued
        };
        let answer: String = script
            .invoke_async(&mut self.conn())
            .await
            .map_err(storage)?;
        match answer.as_str() {
            "ok" => Ok(done),
            "duplicate" => Ok(Accepted::Duplicate),
            "full" => Err(QueueError::Full),
            other => Err(QueueError::Storage(
                format!("unexpected answer from the accept script: {other}").into(),
            )),
        }
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String, QueueError> {
    serde_json::to_string(value).map_err(|e| QueueError::Storage(Box::new(e)))
}
