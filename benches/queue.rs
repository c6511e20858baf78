//! Queue backends under concurrency: `disk` (group-committed, fsynced) against `memory` (the
//! baseline) in the same run, 64 concurrent producers of 25 KB webhooks, and the events per sync
//! the disk backend's group commit achieves. Read the results as the ratio disk / memory.
//!
//! Also the stored form of an event: encode + decode of the binary record
//! (`genhook_core::queue::record`) against the JSON + base64 form it replaced (the baseline), for
//! a 25 KB body.
//!
//! And, once per run, what compacting a drained disk store takes: 10,000 webhooks of 25 KB are
//! queued and delivered, then the time until the writer has compacted the file (its size before
//! and after), and the longest an accept waited meanwhile.
//!
//! `cargo bench --bench queue -- --warm-up-time 1 --measurement-time 3`
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use genhook::core::queue::{record, Event, Priority, Queue};
use genhook::core::AlertDefaults;
use genhook::queue::disk::DiskQueue;
use genhook::queue::memory::MemoryQueue;
use genhook::queue::Limits;

/// Concurrent producers (webhook requests in flight).
const PRODUCERS: usize = 64;
/// Events per producer per iteration.
const PER_PRODUCER: usize = 8;
/// The body of each event: a typical large webhook (a GitHub push with many commits).
const BODY: usize = 25 * 1024;

fn event(i: usize) -> Event {
    Event {
        id: format!("bench-{i}"),
        source: "github".into(),
        event: "push".into(),
        delivery_id: None,
        priority: Priority::Normal,
        received_at_ms: 0,
        alert: AlertDefaults::default().alert("GitHub push on genhook: \"bench\" by someone"),
        render_error: None,
        headers: vec![("x-github-event".into(), "push".into())],
        body: Bytes::from(vec![b'x'; BODY]),
        attempts: 0,
        last_error: None,
    }
}

/// Enqueues PRODUCERS × PER_PRODUCER events from PRODUCERS tasks, then drains them with as many
/// workers.
async fn round(queue: Arc<dyn Queue>) {
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move {
                for i in 0..PER_PRODUCER {
                    queue.enqueue(event(p * PER_PRODUCER + i)).await.unwrap();
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }
    // Drained by as many concurrent workers, so acknowledgements are group-committed too.
    let workers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move {
                for _ in 0..PER_PRODUCER {
                    let e = queue.next().await.unwrap().unwrap();
                    queue.ack(&e).await.unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
}

/// Encode + decode of one 25 KB event: the JSON + base64 form (before) and the binary record.
fn records(c: &mut Criterion) {
    let event = event(0);
    let mut group = c.benchmark_group("queue_record_25k");
    group.throughput(Throughput::Bytes(BODY as u64));
    group.bench_function("baseline/json_base64", |b| {
        b.iter(|| {
            let stored = serde_json::to_vec(&event).unwrap();
            serde_json::from_slice::<Event>(&stored).unwrap()
        });
    });
    group.bench_function("binary", |b| {
        b.iter(|| {
            let stored = record::encode_event(&event).unwrap();
            record::decode_event(Bytes::from(stored)).unwrap()
        });
    });
    group.finish();
    let json = serde_json::to_vec(&event).unwrap().len();
    let binary = record::encode_event(&event).unwrap().len();
    println!(
        "queue record: json+base64 {json} bytes, binary {binary} bytes (binary/json size ratio {:.3})",
        binary as f64 / json as f64
    );
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let memory: Arc<dyn Queue> = Arc::new(MemoryQueue::new(1_000_000));
    let disk_queue = rt.block_on(DiskQueue::open(dir.path(), 1_000_000)).unwrap();
    let disk: Arc<dyn Queue> = Arc::new(disk_queue.clone());

    let mut group = c.benchmark_group("queue_enqueue_64_producers");
    // 2 shared cores and an fsync per commit: widen the noise threshold (results are ratios).
    group
        .noise_threshold(0.10)
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements((PRODUCERS * PER_PRODUCER) as u64));
    group.bench_function("baseline/memory", |b| {
        b.to_async(&rt)
            .iter_batched(|| Arc::clone(&memory), round, BatchSize::SmallInput);
    });
    group.bench_function("disk", |b| {
        b.to_async(&rt)
            .iter_batched(|| Arc::clone(&disk), round, BatchSize::SmallInput);
    });
    group.finish();

    // The ratio and the group commit's effect, measured once more side by side.
    let timed = |queue: &Arc<dyn Queue>| {
        let start = Instant::now();
        for _ in 0..5 {
            rt.block_on(round(Arc::clone(queue)));
        }
        start.elapsed()
    };
    let (syncs_before, events_before) = disk_queue.sync_stats();
    let (m, d) = (timed(&memory), timed(&disk));
    let (syncs, events) = disk_queue.sync_stats();
    let events_per_sync = (events - events_before) as f64 / (syncs - syncs_before).max(1) as f64;
    let n = (5 * PRODUCERS * PER_PRODUCER) as f64;
    println!(
        "queue: memory {:.0} ev/s, disk {:.0} ev/s, disk/memory throughput ratio {:.3}; \
         disk group commit: {events_per_sync:.1} enqueued events per sync ({} syncs that stored events)",
        n / m.as_secs_f64(),
        n / d.as_secs_f64(),
        m.as_secs_f64() / d.as_secs_f64(),
        syncs - syncs_before,
    );
}

/// Fills a disk store with 10,000 events of 25 KB, delivers them all, then times the compaction
/// the writer runs once idle, while a probe keeps accepting small events.
fn compaction(_: &mut Criterion) {
    const BACKLOG: usize = 10_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.redb");
    let len = || std::fs::metadata(&path).unwrap().len();
    let queue: Arc<dyn Queue> = Arc::new(
        rt.block_on(DiskQueue::open_with_limits(dir.path(), Limits::default()))
            .unwrap(),
    );
    rt.block_on(async {
        for chunk in 0..BACKLOG / (PRODUCERS * PER_PRODUCER) + 1 {
            let _ = chunk;
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let queue = Arc::clone(&queue);
                    tokio::spawn(async move {
                        for i in 0..PER_PRODUCER {
                            queue.enqueue(event(p * PER_PRODUCER + i)).await.unwrap();
                        }
                    })
                })
                .collect();
            for producer in producers {
                producer.await.unwrap();
            }
        }
    });
    let peak = len();
    let held = queue.depth();
    let drained = Instant::now();
    let (longest_accept, shrunk_after) = rt.block_on(async {
        let workers: Vec<_> = (0..PRODUCERS)
            .map(|_| {
                let queue = Arc::clone(&queue);
                tokio::spawn(async move {
                    while queue.depth() > 0 {
                        match tokio::time::timeout(Duration::from_millis(200), queue.next()).await {
                            Ok(Ok(Some(e))) => queue.ack(&e).await.unwrap(),
                            _ => break,
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        // The backlog is gone: the writer compacts once idle. A probe accepts meanwhile.
        let idle = Instant::now();
        let mut longest = Duration::ZERO;
        while len() * 2 > peak && idle.elapsed() < Duration::from_secs(120) {
            let start = Instant::now();
            let mut probe = event(0);
            probe.body = Bytes::from_static(b"{}");
            queue.enqueue(probe).await.unwrap();
            longest = longest.max(start.elapsed());
            let e = queue.next().await.unwrap().unwrap();
            queue.ack(&e).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        (longest, idle.elapsed())
    });
    println!(
        "disk compaction: {held} events of 25 KB, file {peak} bytes at the peak, {} bytes {:.2}s after the \
         drain ended (delivering them took {:.1}s); the longest accept meanwhile waited {:.0} ms",
        len(),
        shrunk_after.as_secs_f64(),
        drained.elapsed().as_secs_f64() - shrunk_after.as_secs_f64(),
        longest_accept.as_secs_f64() * 1000.0,
    );
}

criterion_group!(benches, records, bench, compaction);
criterion_main!(benches);
