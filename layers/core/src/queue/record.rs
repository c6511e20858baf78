//! The stored form of an [`Event`] and of a [`DeadLetter`] in the `disk` and `redis` backends:
//! a binary record that keeps the raw body as it is.
//!
//! ```text
//! magic 0xB1 'G' | version 1 | metadata length (u32, little endian) | metadata JSON | raw body
//! ```
//!
//! The metadata is every field of the event but its body (and, for a dead letter, when it died)
//! as JSON; the body follows as the bytes received, so a 25 KB webhook costs 25 KB and no
//! base64 pass on either side. Decoding a record held in a [`Bytes`] shares the body with it
//! (no copy).
//!
//! **Older records.** Before this format the backends stored an event (or a dead letter) as one
//! JSON object with the body base64-encoded. [`decode_event`] and [`decode_dead_letter`] still
//! read those (a JSON record starts with `{`, a binary one with the magic byte), so events queued
//! by an older GenHook are delivered after an upgrade. Only the stored form changed: the admin
//! API and `genhook dlq` still render events as JSON with a base64 body ([`Event`]'s serde form).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{DeadLetter, Event, Priority};
use crate::alert::Alert;

/// The first byte of a binary record: never `{`, the first byte of an older JSON record.
const MAGIC: u8 = 0xB1;
/// The second byte: `G`, for GenHook.
const MAGIC2: u8 = b'G';
/// The format's version.
const VERSION: u8 = 1;
/// Magic, version and the metadata's length.
const HEADER: usize = 3 + 4;

/// A stored record that does not decode: neither a binary record nor an older JSON one.
#[derive(Debug, thiserror::Error)]
#[error("queue record does not decode: {0}")]
pub struct RecordError(String);

/// The metadata of a record, borrowed from the event being encoded.
#[derive(Serialize)]
struct MetaRef<'a> {
    id: &'a str,
    source: &'a str,
    event: &'a str,
    delivery_id: Option<&'a str>,
    priority: Priority,
    received_at_ms: u64,
    alert: &'a Alert,
    render_error: Option<&'a str>,
    headers: &'a [(String, String)],
    attempts: u32,
    last_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dead_at_ms: Option<u64>,
}

/// The metadata of a record, as decoded.
#[derive(Deserialize)]
struct Meta {
    id: String,
    source: String,
    event: String,
    delivery_id: Option<String>,
    priority: Priority,
    received_at_ms: u64,
    alert: Alert,
    render_error: Option<String>,
    headers: Vec<(String, String)>,
    attempts: u32,
    last_error: Option<String>,
    #[serde(default)]
    dead_at_ms: Option<u64>,
}

impl Meta {
    fn into_event(self, body: Bytes) -> Event {
        Event {
            id: self.id,
            source: self.source,
            event: self.event,
            delivery_id: self.delivery_id,
            priority: self.priority,
            received_at_ms: self.received_at_ms,
            alert: self.alert,
            render_error: self.render_error,
            headers: self.headers,
            body,
            attempts: self.attempts,
            last_error: self.last_error,
        }
    }
}

fn encode(event: &Event, dead_at_ms: Option<u64>) -> Result<Vec<u8>, RecordError> {
    let meta = MetaRef {
        id: &event.id,
        source: &event.source,
        event: &event.event,
        delivery_id: event.delivery_id.as_deref(),
        priority: event.priority,
        received_at_ms: event.received_at_ms,
        alert: &event.alert,
        render_error: event.render_error.as_deref(),
        headers: &event.headers,
        attempts: event.attempts,
        last_error: event.last_error.as_deref(),
        dead_at_ms,
    };
    let mut out = Vec::with_capacity(HEADER + 512 + event.body.len());
    out.extend_from_slice(&[MAGIC, MAGIC2, VERSION, 0, 0, 0, 0]);
    serde_json::to_writer(&mut out, &meta).map_err(|e| RecordError(e.to_string()))?;
    let meta_len = u32::try_from(out.len() - HEADER)
        .map_err(|_| RecordError("metadata longer than 4 GiB".into()))?;
    if let Some(slot) = out.get_mut(3..HEADER) {
        slot.copy_from_slice(&meta_len.to_le_bytes());
    }
    out.extend_from_slice(&event.body);
    Ok(out)
}

/// Encodes an event as a binary record.
///
/// # Errors
/// [`RecordError`] when its metadata does not serialize (not expected for a well-formed event).
pub fn encode_event(event: &Event) -> Result<Vec<u8>, RecordError> {
    encode(event, None)
}

/// Encodes a dead letter as a binary record.
///
/// # Errors
/// As [`encode_event`].
pub fn encode_dead_letter(letter: &DeadLetter) -> Result<Vec<u8>, RecordError> {
    encode(&letter.event, Some(letter.dead_at_ms))
}

/// Whether a stored record is the older JSON form (base64 body).
fn is_json(record: &[u8]) -> bool {
    record.first() == Some(&b'{')
}

/// Splits a binary record into its metadata and its body (sharing `record`'s buffer).
fn split(record: &Bytes) -> Result<(Meta, Bytes), RecordError> {
    let bad = |what: &str| RecordError(what.to_owned());
    let header = record
        .get(..HEADER)
        .ok_or_else(|| bad("record shorter than its header"))?;
    match header {
        [MAGIC, MAGIC2, VERSION, len @ ..] => {
            let len: [u8; 4] = len.try_into().map_err(|_| bad("bad header"))?;
            let end = usize::try_from(u32::from_le_bytes(len))
                .ok()
                .and_then(|len| HEADER.checked_add(len))
                .filter(|end| *end <= record.len())
                .ok_or_else(|| bad("metadata length past the end of the record"))?;
            let meta_bytes = record
                .get(HEADER..end)
                .ok_or_else(|| bad("metadata length past the end of the record"))?;
            let meta: Meta =
                serde_json::from_slice(meta_bytes).map_err(|e| RecordError(e.to_string()))?;
            Ok((meta, record.slice(end..)))
        }
        [MAGIC, MAGIC2, version, ..] => Err(RecordError(format!(
            "record version {version} is newer than this GenHook reads (1)"
        ))),
        _ => Err(bad("neither a binary record nor a JSON one")),
    }
}

/// Decodes a stored event: a binary record, or the older JSON form.
///
/// # Errors
/// [`RecordError`] when it is neither.
pub fn decode_event(record: Bytes) -> Result<Event, RecordError> {
    if is_json(&record) {
        return serde_json::from_slice(&record).map_err(|e| RecordError(e.to_string()));
    }
    let (meta, body) = split(&record)?;
    Ok(meta.into_event(body))
}

/// Decodes a stored dead letter: a binary record, or the older JSON form.
///
/// # Errors
/// [`RecordError`] when it is neither, or a binary event record without `dead_at_ms`.
pub fn decode_dead_letter(record: Bytes) -> Result<DeadLetter, RecordError> {
    if is_json(&record) {
        return serde_json::from_slice(&record).map_err(|e| RecordError(e.to_string()));
    }
    let (mut meta, body) = split(&record)?;
    let dead_at_ms = meta
        .dead_at_ms
        .take()
        .ok_or_else(|| RecordError("a dead-letter record without dead_at_ms".into()))?;
    Ok(DeadLetter {
        event: meta.into_event(body),
        dead_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertDefaults;

    fn event(body: &[u8]) -> Event {
        Event {
            id: "0190-abc".into(),
            source: "github".into(),
            event: "push".into(),
            delivery_id: Some("d-1".into()),
            priority: Priority::High,
            received_at_ms: 1_700_000_000_123,
            alert: AlertDefaults::default().alert("main: 3 commits \u{e9}"),
            render_error: None,
            headers: vec![("x-github-event".into(), "push".into())],
            body: Bytes::copy_from_slice(body),
            attempts: 2,
            last_error: Some("SL1 answered 502".into()),
        }
    }

    /// Every byte value, a `{` first and invalid UTF-8: the body is kept as it came.
    fn binary_body() -> Vec<u8> {
        let mut body = b"{\"not\": json".to_vec();
        body.extend((0..=255u8).cycle().take(3000));
        body
    }

    #[test]
    fn an_event_round_trips_with_its_raw_body() {
        let event = event(&binary_body());
        let record = encode_event(&event).unwrap();
        assert_eq!(record.first(), Some(&MAGIC));
        assert!(record.ends_with(&event.body), "the body is stored raw");
        assert_eq!(decode_event(Bytes::from(record)).unwrap(), event);
    }

    #[test]
    fn a_dead_letter_round_trips() {
        let letter = DeadLetter {
            event: event(b""),
            dead_at_ms: 42,
        };
        let record = encode_dead_letter(&letter).unwrap();
        assert_eq!(decode_dead_letter(Bytes::from(record)).unwrap(), letter);
    }

    #[test]
    fn the_record_is_the_body_plus_small_metadata_not_base64() {
        let event = event(&vec![7u8; 25_000]);
        let record = encode_event(&event).unwrap();
        let old = serde_json::to_vec(&event).unwrap();
        assert!(record.len() < 25_000 + 1_000, "{}", record.len());
        assert!(
            old.len() > 25_000 * 4 / 3,
            "the old form base64-encoded the body"
        );
    }

    #[test]
    fn records_written_by_the_previous_version_still_decode() {
        // The previous version stored `serde_json::to_vec(&event)`: a JSON object, body base64.
        let event = event(&binary_body());
        let old = serde_json::to_vec(&event).unwrap();
        assert_eq!(old.first(), Some(&b'{'));
        assert_eq!(decode_event(Bytes::from(old)).unwrap(), event);
        let letter = DeadLetter {
            event,
            dead_at_ms: 7,
        };
        let old = serde_json::to_vec(&letter).unwrap();
        assert_eq!(decode_dead_letter(Bytes::from(old)).unwrap(), letter);
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let record = encode_event(&event(b"body")).unwrap();
        for cut in 0..HEADER + 3 {
            assert!(decode_event(Bytes::copy_from_slice(&record[..cut])).is_err());
        }
        let mut newer = record.clone();
        newer[2] = 9;
        let error = decode_event(Bytes::from(newer)).unwrap_err();
        assert!(error.to_string().contains("version 9"), "{error}");
        let mut long = record;
        long[3..7].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_event(Bytes::from(long)).is_err());
        assert!(decode_event(Bytes::from_static(b"garbage")).is_err());
        // An event record is not a dead letter.
        let plain = encode_event(&event(b"")).unwrap();
        assert!(decode_dead_letter(Bytes::from(plain)).is_err());
    }
}
