//! Storage faults are back-pressure, not errors (issue 8): a disk queue whose writes fail (disk
//! full, I/O errors, read-only) answers webhooks `503` + `Retry-After`, `/readyz` turns 503 with
//! the reason, GenHook alerts SL1 about itself, and the queue reopens its store by itself once
//! writes succeed again, losing nothing and delivering nothing twice.
//!
//! The faults are injected under redb (`FaultSwitch`, a test-only store backend), so this runs
//! everywhere without mounts; `tmpfs_full_disk_heals` repeats the outage on a real full tmpfs
//! where mounting works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use genhook::core::error_chain;
use genhook::core::queue::{Accepted, Claim, Queue as _};
use genhook::queue::disk::{self, DiskQueue, FaultSwitch};
use support::memory_queue::test_event;
use support::sl1_mock::{Answer, Sl1Mock};
use support::TestGenHook;

const WAIT: Duration = Duration::from_secs(30);

fn mapping() -> &'static str {
    "[shop]\nevent = type\n*: type,id::order $id$\n"
}

fn body(id: &str) -> String {
    format!(r#"{{"type":"t","id":"{id}"}}"#)
}

/// How many times SL1 accepted each order, by id (GenHook's own alerts left out).
fn orders(sl1: &Sl1Mock) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for request in sl1.accepted() {
        if let Some(id) = request.message().and_then(|m| m.strip_prefix("order ")) {
            *seen.entry(id.to_owned()).or_default() += 1;
        }
    }
    seen
}

/// GenHook's own alerts SL1 received.
fn self_alerts(sl1: &Sl1Mock) -> Vec<String> {
    sl1.requests()
        .iter()
        .filter_map(|r| r.message())
        .filter(|m| m.starts_with("GenHook: queue storage"))
        .map(str::to_owned)
        .collect()
}

async fn start(sl1: &Sl1Mock, queue_dir: &Path, faults: &FaultSwitch) -> TestGenHook {
    let backend = disk::open_backend_with_faults(queue_dir, 1_000, faults.clone())
        .await
        .unwrap();
    TestGenHook::builder()
        .mapping("shop.ini", mapping())
        .sl1(&sl1.url())
        .set("queue_backend", "disk")
        // SL1 holds one delivery for a second: far from timing out on a stalled machine.
        .set("sl1_timeout", "15s")
        .customize(move |builder| builder.queue_backend(backend))
        .start()
        .await
}

/// Polls `/readyz` until its status is `status`; the last answer's JSON.
async fn readyz_becomes(genhook: &TestGenHook, status: u16) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let answer = genhook.get("/readyz").await;
        let got = answer.status().as_u16();
        let json: serde_json::Value = answer.json().await.unwrap();
        if got == status {
            return json;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz stayed {got} ({json}), wanted {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A webhook refused for the storage: 503, `Retry-After`, a JSON reason; never 500 or 202.
async fn assert_refused(genhook: &TestGenHook, id: &str) {
    let answer = genhook.post("/webhook/shop", &[], body(id)).await;
    assert_eq!(
        answer.status(),
        503,
        "webhook {id} during the storage fault"
    );
    assert!(
        answer.headers().contains_key("retry-after"),
        "503 without Retry-After"
    );
    let json: serde_json::Value = answer.json().await.unwrap();
    assert!(json["error"].is_string(), "no JSON reason: {json}");
}

/// Opens the store the way the next start would (once the old process let go of it).
async fn reopen_plain(queue_dir: &Path) -> DiskQueue {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match DiskQueue::open(queue_dir, 1_000).await {
            Ok(queue) => return queue,
            Err(error) if tokio::time::Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the store does not open again: {}", error_chain(&error)),
        }
    }
}

async fn outage_heals(errno: i32, reason: &str) {
    let sl1 = Sl1Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let queue_dir = dir.path().join("queue");
    let faults = FaultSwitch::new();
    let genhook = start(&sl1, &queue_dir, &faults).await;

    // Before: accepted and delivered.
    for id in ["a0", "a1", "a2"] {
        assert_eq!(
            genhook.post("/webhook/shop", &[], body(id)).await.status(),
            202
        );
    }
    sl1.wait_for_accepted(3, WAIT).await;

    // SL1 holds the next delivery while the storage fails: its ack meets the fault.
    sl1.push_answer(Answer::created().delay(Duration::from_secs(1)));
    assert_eq!(
        genhook
            .post("/webhook/shop", &[], body("held"))
            .await
            .status(),
        202
    );
    sl1.wait_for_requests(4, WAIT).await;
    faults.fail_with(errno);

    for n in 0..5 {
        assert_refused(&genhook, &format!("refused{n}")).await;
    }
    let ready = readyz_becomes(&genhook, 503).await;
    let said = ready["error"].as_str().unwrap_or_default();
    assert!(
        said.contains("queue storage is unavailable") && said.contains(reason),
        "/readyz does not say why: {ready}"
    );
    // The held event was delivered and acked during the fault: nothing is left to deliver.
    let queue = genhook.running().backend().queue.clone();
    assert!(
        support::eventually(WAIT, || queue.depth() == 0).await,
        "the ack made during the fault was not taken"
    );
    assert!(
        support::eventually(WAIT, || self_alerts(&sl1)
            .iter()
            .any(|m| m.contains("queue storage unavailable") && m.contains(reason)))
        .await,
        "no self alert about the storage reached SL1: {:?}",
        self_alerts(&sl1)
    );
    assert_refused(&genhook, "refused-late").await;

    // Space is back: the queue reopens its store by itself.
    faults.clear();
    readyz_becomes(&genhook, 200).await;
    for id in ["b0", "b1", "b2", "refused0"] {
        assert_eq!(
            genhook.post("/webhook/shop", &[], body(id)).await.status(),
            202
        );
    }
    let want = ["a0", "a1", "a2", "held", "b0", "b1", "b2", "refused0"];
    assert!(
        support::eventually(WAIT, || want
            .iter()
            .all(|id| orders(&sl1).contains_key(*id)))
        .await,
        "not everything answered 202 reached SL1: {:?}",
        orders(&sl1)
    );
    assert!(
        support::eventually(WAIT, || self_alerts(&sl1)
            .iter()
            .any(|m| m.contains("queue storage recovered")))
        .await,
        "no recovery alert reached SL1: {:?}",
        self_alerts(&sl1)
    );
    assert_eq!(
        self_alerts(&sl1)
            .iter()
            .filter(|m| m.contains("unavailable:"))
            .count(),
        1,
        "one alert per outage: {:?}",
        self_alerts(&sl1)
    );
    drop(queue);
    let (_, dir) = genhook.shutdown().await;

    // The next start finds nothing left to deliver: the ack kept during the fault was written.
    let reopened = reopen_plain(&queue_dir).await;
    reopened.close();
    assert_eq!(
        reopened.depth(),
        0,
        "events delivered during the fault would be delivered again"
    );
    let seen = orders(&sl1);
    for id in want {
        assert_eq!(
            seen.get(id),
            Some(&1),
            "{id} reached SL1 {:?} times",
            seen.get(id)
        );
    }
    assert!(
        seen.keys().all(|id| want.contains(&id.as_str())),
        "SL1 got an order answered 503: {seen:?}"
    );
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_is_back_pressure_and_the_queue_heals_itself() {
    outage_heals(FaultSwitch::DISK_FULL, "disk full").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_errors_are_back_pressure_and_the_queue_heals_itself() {
    outage_heals(FaultSwitch::IO_ERROR, "I/O error").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_storage_is_back_pressure_and_the_queue_heals_itself() {
    outage_heals(FaultSwitch::READ_ONLY, "read-only").await;
}

/// The start-up error for storage that refuses writes names the data directory and the fault,
/// not a corrupted store (the tests run as root, whom file modes do not stop: the fault is
/// injected under redb).
#[tokio::test]
async fn unwritable_data_directory_is_named_at_start_up() {
    for (errno, what, fresh) in [
        (FaultSwitch::READ_ONLY, "read-only", true),
        (FaultSwitch::READ_ONLY, "read-only", false),
        (13, "permission denied", true),
        (13, "permission denied", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let queue_dir = dir.path().join("queue");
        if !fresh {
            let queue = DiskQueue::open(&queue_dir, 10).await.unwrap();
            drop(queue);
            // Let the writer thread let go of the file.
            reopen_plain(&queue_dir).await;
        }
        let faults = FaultSwitch::new();
        faults.fail_with(errno);
        let error = loop {
            match DiskQueue::open_with_faults(&queue_dir, 10, faults.clone()).await {
                Ok(_) => panic!("an unwritable store opened ({what}, fresh: {fresh})"),
                Err(error) => {
                    let text = error_chain(&error);
                    if text.contains("already open") {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    break text;
                }
            }
        };
        assert!(
            error.contains(&queue_dir.display().to_string()) && error.contains(what),
            "({what}, fresh: {fresh}) says: {error}"
        );
        assert!(!error.contains("corrupted"), "({what}) says: {error}");
    }
}

// === on a real, small tmpfs (where this process may mount one) ===

/// A tmpfs mounted for one test, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs with `options`, or says why the test is skipped (not root, no mount
    /// permission in this container).
    fn mount(options: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "genhook-test"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Self { dir }),
            Ok(output) => {
                eprintln!(
                    "skipped: cannot mount a tmpfs here ({}); the injected faults above cover the same paths",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(error) => {
                eprintln!("skipped: cannot run mount ({error}); the injected faults above cover the same paths");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system under `dir` until it is full; the filler file.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write as _;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x5a_u8; 16 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    path
}

/// The disk really fills up (a 16 MB tmpfs): 503 + Retry-After, `/readyz` says "disk full";
/// once the filler is deleted the queue heals by itself and everything answered 202 reaches SL1
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmpfs_full_disk_heals() {
    let Some(tmpfs) = Tmpfs::mount("size=16m") else {
        return;
    };
    let sl1 = Sl1Mock::start().await;
    let queue_dir = tmpfs.path().join("queue");
    let backend = genhook::queue::open(&genhook::queue::QueueSettings {
        data_dir: queue_dir.clone(),
        max_size: 100_000,
        ..Default::default()
    })
    .await
    .unwrap();
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", mapping())
        .sl1(&sl1.url())
        .set("queue_backend", "disk")
        .customize(move |builder| builder.queue_backend(backend))
        .start()
        .await;
    let filler = fill(tmpfs.path());

    let padding = "x".repeat(32 * 1024);
    let mut accepted = Vec::new();
    let mut refused = false;
    for n in 0..400 {
        let id = format!("full{n}");
        let body = format!(r#"{{"type":"t","id":"{id}","padding":"{padding}"}}"#);
        let answer = genhook.post("/webhook/shop", &[], body).await;
        match answer.status().as_u16() {
            202 => accepted.push(id),
            503 => {
                assert!(answer.headers().contains_key("retry-after"));
                refused = true;
                break;
            }
            other => panic!("webhook {id} on a full disk answered {other}"),
        }
    }
    assert!(refused, "the full tmpfs never refused a webhook");
    let ready = readyz_becomes(&genhook, 503).await;
    assert!(
        ready["error"]
            .as_str()
            .is_some_and(|e| e.contains("disk full")),
        "/readyz does not say the disk is full: {ready}"
    );

    std::fs::remove_file(filler).unwrap();
    readyz_becomes(&genhook, 200).await;
    for id in ["after0", "after1"] {
        assert_eq!(
            genhook.post("/webhook/shop", &[], body(id)).await.status(),
            202
        );
        accepted.push(id.to_owned());
    }
    assert!(
        support::eventually(WAIT, || {
            let seen = orders(&sl1);
            accepted.iter().all(|id| seen.contains_key(id))
        })
        .await,
        "not everything answered 202 reached SL1"
    );
    let seen = orders(&sl1);
    assert!(seen.values().all(|n| *n == 1), "delivered twice: {seen:?}");
    genhook.shutdown().await;
}

/// A data directory on a read-only file system: the binary refuses to start and names the
/// directory and "read-only" (not "corrupted, or not a queue store?").
#[test]
fn read_only_data_directory_stops_the_binary_with_a_clear_message() {
    let Some(tmpfs) = Tmpfs::mount("ro,size=1m") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir_all(&mappings).unwrap();
    std::fs::write(mappings.join("shop.ini"), mapping()).unwrap();
    let config = dir.path().join("genhook.ini");
    std::fs::write(
        &config,
        format!(
            "server_host = 127.0.0.1\nserver_port = 0\nmappings_dir = {}\ndata_dir = {}\n",
            mappings.display(),
            tmpfs.path().display()
        ),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_genhook"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started on a read-only data_dir");
    assert!(
        stderr.contains(&tmpfs.path().display().to_string()) && stderr.contains("read-only"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("corrupted"), "stderr: {stderr}");
}

/// A disk queue in a fresh directory whose storage faults the switch injects.
async fn faulty_queue() -> (tempfile::TempDir, DiskQueue, FaultSwitch) {
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultSwitch::new();
    let queue = DiskQueue::open_with_faults(dir.path(), 100, faults.clone())
        .await
        .unwrap();
    (dir, queue, faults)
}

/// A commit whose fsync failed may still be found on reopening (the data reached the page
/// cache): such an event is delivered in this process (a worker already waiting is woken), not
/// only after a restart, and its delivery id's claim, which landed with it, makes the sender's
/// retry a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_failed_sync_landed_is_delivered() {
    let (_dir, queue, faults) = faulty_queue().await;
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let consumer = tokio::spawn({
        let queue = queue.clone();
        async move {
            while let Ok(Some(event)) = queue.next().await {
                queue.ack(&event).await.unwrap();
                let _ = seen_tx.send(event.id);
            }
        }
    });
    queue.enqueue(test_event("before", "s", "m")).await.unwrap();
    assert_eq!(seen.recv().await.as_deref(), Some("before"));
    // Its acknowledgement was committed without a sync, which the writer makes as soon as it is
    // idle: let it, so that the first sync to fail is the accept's below (a fault met by that
    // idle sync would close the store first, and the accept would be refused unwritten).
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Accepted with its delivery id's claim: the claim lands with the event.
    let claim = || {
        Some(Claim {
            key: "s:limbo".into(),
            window: Duration::from_secs(3600),
        })
    };
    faults.fail_syncs_with(FaultSwitch::IO_ERROR);
    let refused = queue.accept(test_event("limbo", "s", "m"), claim()).await;
    assert!(
        matches!(
            refused,
            Err(genhook::core::queue::QueueError::Unavailable(_))
        ),
        "{refused:?}"
    );
    faults.clear();
    let limbo = tokio::time::timeout(WAIT, seen.recv()).await;
    assert_eq!(
        limbo.ok().flatten().as_deref(),
        Some("limbo"),
        "the event the reopened store holds was not delivered"
    );
    // The sender's retry (it was answered 503) is a duplicate of an event that is delivered.
    let retry = queue.accept(test_event("limbo-retry", "s", "m"), claim());
    assert_eq!(retry.await.unwrap(), Accepted::Duplicate);
    queue.close();
    consumer.await.unwrap();
}

/// An acknowledgement is committed without a sync of its own, and here the sync after it fails:
/// once the store healed, the event is still acknowledged, so a later start does not deliver it
/// a second time. (The writer also keeps such acknowledgements and writes them again after the
/// reopen, for a fault in which redb's in-memory state is lost too; in this process redb still
/// holds the unsynced commit, so this test would pass without that.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_a_fault_left_unsynced_is_written_after_it() {
    let (dir, queue, faults) = faulty_queue().await;
    queue.enqueue(test_event("acked", "s", "m")).await.unwrap();
    let event = queue.next().await.unwrap().unwrap();
    // Syncs fail from here: the acknowledgement commits (unsynced), its sync fails.
    faults.fail_syncs_with(FaultSwitch::IO_ERROR);
    queue.ack(&event).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while queue.is_available() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the failed sync was never seen"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    faults.clear();
    while !queue.is_available() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the store never came back"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(queue.depth(), 0);
    drop(queue);
    let again = loop {
        match DiskQueue::open(dir.path(), 100).await {
            Ok(again) => break again,
            Err(error) => {
                assert!(tokio::time::Instant::now() < deadline, "{error}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(
        again.depth(),
        0,
        "the acknowledged event is not pending again"
    );
}

/// Shutting down during a fault ends the consumers; what was queued stays in the store for the
/// next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_closed_during_a_fault_ends_its_consumers() {
    let (dir, queue, faults) = faulty_queue().await;
    queue.enqueue(test_event("kept", "s", "m")).await.unwrap();
    faults.fail_with(FaultSwitch::DISK_FULL);
    assert!(queue
        .enqueue(test_event("refused", "s", "m"))
        .await
        .is_err());
    let consumer = tokio::spawn({
        let queue = queue.clone();
        async move { queue.next().await }
    });
    queue.close();
    let ended = tokio::time::timeout(WAIT, consumer).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(None)))),
        "next() did not end: {ended:?}"
    );
    drop(queue);
    let reopened = reopen_plain(dir.path()).await;
    assert_eq!(
        reopened.depth(),
        1,
        "the queued event stays for the next start"
    );
}
