//! The disk backend across restarts and with damaged store files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod queue_common;

use std::io::{Seek, SeekFrom, Write};
use std::time::Duration;

use genhook::core::queue::{Accepted, Claim, DeadLetterFilter, Priority, QueueError};
use queue_common::{event, open, reopen, Kind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_brings_back_unacked_events_dead_letters_and_dedup_ids() {
    let t = open(Kind::Disk, 100).await.unwrap();
    let q = &t.backend.queue;
    for i in 0..5 {
        q.enqueue(event(&format!("e{i}"), "s", "e", Priority::Normal))
            .await
            .unwrap();
    }
    let acked = q.next().await.unwrap().unwrap();
    q.ack(&acked).await.unwrap();
    let _leased_not_acked = q.next().await.unwrap().unwrap();
    let dead = q.next().await.unwrap().unwrap();
    q.dead_letter(dead).await.unwrap();
    let claim = || {
        Some(Claim {
            key: "delivery-x".into(),
            window: Duration::from_secs(3600),
        })
    };
    let claimed = q.accept(event("x", "s", "e", Priority::Normal), claim());
    assert_eq!(claimed.await.unwrap(), Accepted::Queued);
    drop(t.backend);

    let again = reopen(&t.settings).await;
    let mut ids = Vec::new();
    while again.queue.depth() > ids.len() {
        ids.push(again.queue.next().await.unwrap().unwrap().id);
    }
    ids.sort();
    assert_eq!(
        ids,
        ["e1", "e3", "e4", "x"],
        "the leased but unacked e1 is delivered again"
    );
    let letters = again
        .dead_letters
        .list(&DeadLetterFilter::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].event.id, "e2");
    let redelivered = again
        .queue
        .accept(event("x2", "s", "e", Priority::Normal), claim())
        .await
        .unwrap();
    assert_eq!(redelivered, Accepted::Duplicate, "dedup ids survive");
    // Sequence numbers continue after a restart: new events do not overwrite old ones.
    again
        .queue
        .enqueue(event("new", "s", "e", Priority::Normal))
        .await
        .unwrap();
    assert_eq!(again.queue.depth(), 5);
}

/// A backlog the store holds from an earlier run is read in batches (not one read per event):
/// every event comes back once, in its lane's order, even when callers stop waiting for `next`
/// while a batch is being read, and requeued events come back with their new attempt count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_is_read_ahead_in_order_once_even_when_next_is_dropped() {
    let t = open(Kind::Disk, 1000).await.unwrap();
    let ids: Vec<String> = (0..150).map(|i| format!("e{i:03}")).collect();
    for id in &ids {
        t.backend
            .queue
            .enqueue(event(id, "s", "e", Priority::Normal))
            .await
            .unwrap();
    }
    drop(t.backend);
    let again = reopen(&t.settings).await;
    let q = &again.queue;
    let mut taken = Vec::new();
    let mut requeued_one = false;
    for round in 0..ids.len() * 3 {
        if taken.len() == ids.len() {
            break;
        }
        // Every other call is given up at once, before its read could finish.
        let next = if round % 2 == 0 {
            match tokio::time::timeout(Duration::ZERO, q.next()).await {
                Ok(next) => next,
                Err(_) => continue,
            }
        } else {
            q.next().await
        };
        let event = next.unwrap().unwrap();
        if taken.len() == 10 && !requeued_one {
            requeued_one = true;
            let mut again = event.clone();
            again.attempts = 4;
            q.requeue(again, Duration::ZERO).await.unwrap();
            continue;
        }
        taken.push(event);
    }
    let mut order: Vec<&str> = taken.iter().map(|e| e.id.as_str()).collect();
    let requeued = taken.iter().find(|e| e.attempts == 4).map(|e| e.id.clone());
    assert!(
        requeued.is_some(),
        "the requeued event came back with its attempts"
    );
    order.retain(|id| Some(*id) != requeued.as_deref());
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.retain(|id| Some(*id) != requeued.as_deref());
    assert_eq!(order, expected, "each event once, in order");
    assert_eq!(q.depth(), ids.len(), "nothing acknowledged yet");
    for event in &taken {
        q.ack(event).await.unwrap();
    }
    assert_eq!(q.depth(), 0);
}

/// Waits until the dropped queue's writer thread has closed the store file.
async fn wait_released(path: &std::path::Path) {
    for _ in 0..250 {
        match redb::Database::open(path) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            _ => return,
        }
    }
    panic!("the store was never released");
}

async fn store_with_events() -> (queue_common::Opened, std::path::PathBuf) {
    let t = open(Kind::Disk, 1000).await.unwrap();
    for i in 0..200 {
        t.backend
            .queue
            .enqueue(event(&format!("e{i}"), "s", "e", Priority::Normal))
            .await
            .unwrap();
    }
    let path = t.dir.path().join("queue.redb");
    (t, path)
}

async fn assert_clear_open_error(
    settings: &genhook::queue::QueueSettings,
    path: &std::path::Path,
    len_before: u64,
) {
    let error = genhook::queue::open(settings).await.unwrap_err();
    assert!(matches!(error, QueueError::Storage(_)));
    let cause = std::error::Error::source(&error).unwrap().to_string();
    assert!(cause.contains(&path.display().to_string()), "{cause}");
    assert!(cause.starts_with("cannot open queue store"), "{cause}");
    assert_eq!(
        std::fs::metadata(path).unwrap().len(),
        len_before,
        "the damaged file is left as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_store_file_is_a_clear_error_and_is_kept() {
    let (t, path) = store_with_events().await;
    drop(t.backend);
    wait_released(&path).await;
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_clear_open_error(&t.settings, &path, len / 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_store_file_is_a_clear_error() {
    let (t, path) = store_with_events().await;
    drop(t.backend);
    wait_released(&path).await;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    assert_clear_open_error(&t.settings, &path, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scribbled_store_file_is_a_clear_error() {
    let (t, path) = store_with_events().await;
    drop(t.backend);
    wait_released(&path).await;
    let len = std::fs::metadata(&path).unwrap().len();
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    file.write_all(&vec![0x5a; 4096]).unwrap();
    file.sync_all().unwrap();
    assert_clear_open_error(&t.settings, &path, len).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_open_of_a_store_in_use_is_an_error() {
    let t = open(Kind::Disk, 10).await.unwrap();
    let error = genhook::queue::open(&t.settings).await.unwrap_err();
    let cause = std::error::Error::source(&error).unwrap().to_string();
    assert!(cause.contains("queue.redb"), "{cause}");
}

/// An upgrade with events queued: a store written by the previous version (JSON records, the
/// body base64-encoded) is read, its events delivered and its dead letters listed, next to
/// records written in the binary form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_by_the_previous_version_is_delivered() {
    use redb::{Database, TableDefinition};
    const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");
    const DEAD: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("dead_letters");
    const DEAD_IDS: TableDefinition<'_, &str, u64> = TableDefinition::new("dead_letter_ids");

    let dir = tempfile::tempdir().unwrap();
    let mut old = queue_common::sized_event("old", 3_000);
    old.attempts = 2;
    let letter = genhook::core::queue::DeadLetter {
        event: event("old-dead", "s", "e", Priority::Low),
        dead_at_ms: 99,
    };
    {
        // What the previous version wrote: `serde_json::to_vec` of the event and of the letter.
        let db = Database::create(dir.path().join("queue.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(EVENTS)
            .unwrap()
            .insert(7, serde_json::to_vec(&old).unwrap().as_slice())
            .unwrap();
        txn.open_table(DEAD)
            .unwrap()
            .insert(8, serde_json::to_vec(&letter).unwrap().as_slice())
            .unwrap();
        txn.open_table(DEAD_IDS)
            .unwrap()
            .insert("old-dead", 8)
            .unwrap();
        txn.commit().unwrap();
    }
    let (settings, _) = queue_common::settings(Kind::Disk, 100, dir.path());
    let backend = reopen(&settings).await;
    let q = &backend.queue;
    assert_eq!(q.depth(), 1);
    assert!(
        q.bytes() > 4_000,
        "the old record counts its (base64) bytes"
    );
    q.enqueue(event("new", "s", "e", Priority::Normal))
        .await
        .unwrap();
    let first = q.next().await.unwrap().unwrap();
    assert_eq!(first, old, "the old record decodes to the event it was");
    q.ack(&first).await.unwrap();
    assert_eq!(q.next().await.unwrap().unwrap().id, "new");
    let letters = backend
        .dead_letters
        .list(&DeadLetterFilter::default())
        .await
        .unwrap();
    assert_eq!(letters, std::slice::from_ref(&letter));
    let taken = backend.dead_letters.take("old-dead").await.unwrap();
    assert_eq!(taken, Some(letter));
}
