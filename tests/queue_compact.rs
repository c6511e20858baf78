//! The disk store gives space back after a backlog drained (redb compaction on the writer
//! thread), without losing or refusing what is accepted around it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod queue_common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use genhook::core::queue::Queue;
use genhook::queue::disk::DiskQueue;
use genhook::queue::Limits;
use queue_common::sized_event;

/// The backlog: 400 webhooks of 25 KB (10 MB of bodies).
const BACKLOG: usize = 400;
const BODY: usize = 25 * 1024;
/// Events accepted while the backlog drains and the store compacts.
const AROUND: usize = 150;

fn file_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("queue.redb")).unwrap().len()
}

/// Takes `n` events from the queue with `workers` concurrent workers, acknowledging each; their
/// ids.
async fn deliver(queue: &Arc<DiskQueue>, n: usize, workers: usize) -> Vec<String> {
    let left = Arc::new(std::sync::atomic::AtomicUsize::new(n));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (queue, left) = (Arc::clone(queue), Arc::clone(&left));
            tokio::spawn(async move {
                let mut got = Vec::new();
                while left
                    .fetch_update(
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                        |l| l.checked_sub(1),
                    )
                    .is_ok()
                {
                    let e = tokio::time::timeout(Duration::from_secs(60), queue.next())
                        .await
                        .expect("an accepted event never came")
                        .unwrap()
                        .unwrap();
                    queue.ack(&e).await.unwrap();
                    got.push(e.id);
                }
                got
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_store_shrinks_and_nothing_accepted_around_it_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    // Compact once the file grew by 4 MiB (64 MiB in production), so 10 MB of backlog do.
    let queue = Arc::new(
        DiskQueue::open_compacting_after(dir.path(), Limits::default(), 4 << 20)
            .await
            .unwrap(),
    );
    let producers: Vec<_> = (0..20)
        .map(|p| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move {
                for i in 0..BACKLOG / 20 {
                    let id = format!("backlog-{p}-{i}");
                    queue.enqueue(sized_event(&id, BODY)).await.unwrap();
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }
    let peak = file_len(dir.path());
    assert!(
        peak > (BACKLOG * BODY) as u64,
        "the backlog is on disk: {peak}"
    );

    // Webhooks keep coming while the backlog drains and the store is compacted.
    let late = {
        let queue = Arc::clone(&queue);
        tokio::spawn(async move {
            for i in 0..AROUND {
                queue
                    .enqueue(sized_event(&format!("late-{i}"), 2_000))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut delivered = deliver(&queue, BACKLOG, 16).await;
    // Wait for the writer to compact (it does when idle, with few events held).
    let mut shrunk = peak;
    for _ in 0..600 {
        shrunk = file_len(dir.path());
        if shrunk * 4 < peak {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    late.await.unwrap();
    delivered.extend(deliver(&queue, AROUND, 4).await);
    assert!(
        shrunk * 4 < peak,
        "the drained store shrank to under a quarter of its peak: {shrunk} of {peak} bytes"
    );
    let unique: HashSet<_> = delivered.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        BACKLOG + AROUND,
        "every accepted event delivered once"
    );
    assert!((0..AROUND).all(|i| unique.contains(&format!("late-{i}"))));
    assert_eq!((queue.depth(), queue.bytes()), (0, 0));

    // What is queued after a compaction is in the store across a restart.
    for i in 0..3 {
        queue
            .enqueue(sized_event(&format!("kept-{i}"), BODY))
            .await
            .unwrap();
    }
    queue.close();
    drop(queue);
    let mut reopened = None;
    for _ in 0..100 {
        match DiskQueue::open(dir.path(), usize::MAX).await {
            Ok(q) => {
                reopened = Some(q);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let reopened = reopened.expect("the store reopens");
    assert_eq!(reopened.depth(), 3);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let e = reopened.next().await.unwrap().unwrap();
        assert_eq!(e.body.len(), BODY);
        ids.push(e.id);
    }
    ids.sort();
    assert_eq!(ids, ["kept-0", "kept-1", "kept-2"]);
}
