//! Backend contract: one test body, run against every backend (`memory`, `disk`, `redis`).
//! Redis tests print "skipped: no Redis at 127.0.0.1:6379" when it is absent, and fail under
//! `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod queue_common;

use std::sync::Arc;
use std::time::Duration;

use genhook::core::queue::{Accepted, Claim, DeadLetterFilter, Priority, QueueError};
use queue_common::{event, open, open_bounded, sized_event, Kind};

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Kind::Memory).await } )* }
        mod disk { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Kind::Disk).await } )* }
        mod redis { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::Kind::Redis).await } )* }
    };
}

contract!(
    enqueue_next_ack_empties_the_queue,
    backlog_is_served_by_priority_without_starvation,
    full_queue_refuses_with_full,
    requeued_event_comes_back_with_its_attempts,
    dead_letters_list_get_take_purge_with_filters,
    fifty_concurrent_accepts_of_one_key_store_one_event,
    refused_accept_leaves_no_claim,
    closed_queue_refuses_and_drains,
    byte_bound_refuses_with_full_until_bytes_leave,
    bytes_follow_ack_requeue_and_dead_letter,
);

async fn enqueue_next_ack_empties_the_queue(kind: Kind) {
    let Some(t) = open(kind, 100).await else {
        return;
    };
    let q = &t.backend.queue;
    for i in 0..3 {
        q.enqueue(event(&format!("e{i}"), "github", "push", Priority::Normal))
            .await
            .unwrap();
    }
    assert_eq!(q.depth(), 3);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let e = q.next().await.unwrap().unwrap();
        seen.push(e.id.clone());
        q.ack(&e).await.unwrap();
    }
    assert_eq!(seen, ["e0", "e1", "e2"], "one priority is FIFO");
    assert_eq!(q.depth(), 0);
    assert_eq!(q.backend(), kind.name());
}

async fn backlog_is_served_by_priority_without_starvation(kind: Kind) {
    let Some(t) = open(kind, 1000).await else {
        return;
    };
    let q = &t.backend.queue;
    for i in 0..20 {
        q.enqueue(event(&format!("l{i}"), "s", "e", Priority::Low))
            .await
            .unwrap();
        q.enqueue(event(&format!("n{i}"), "s", "e", Priority::Normal))
            .await
            .unwrap();
        q.enqueue(event(&format!("h{i}"), "s", "e", Priority::High))
            .await
            .unwrap();
    }
    let mut first = Vec::new();
    for _ in 0..14 {
        let e = q.next().await.unwrap().unwrap();
        first.push(e.priority);
        q.ack(&e).await.unwrap();
    }
    let count = |p| first.iter().filter(|&&x| x == p).count();
    assert_eq!(first.first(), Some(&Priority::High));
    assert_eq!(
        (
            count(Priority::High),
            count(Priority::Normal),
            count(Priority::Low)
        ),
        (8, 4, 2)
    );
}

async fn full_queue_refuses_with_full(kind: Kind) {
    let Some(t) = open(kind, 2).await else { return };
    let q = &t.backend.queue;
    q.enqueue(event("a", "s", "e", Priority::Normal))
        .await
        .unwrap();
    q.enqueue(event("b", "s", "e", Priority::Normal))
        .await
        .unwrap();
    let third = q.enqueue(event("c", "s", "e", Priority::Normal)).await;
    assert!(matches!(third, Err(QueueError::Full)), "{third:?}");
    assert_eq!(q.capacity(), 2);
    let e = q.next().await.unwrap().unwrap();
    q.ack(&e).await.unwrap();
    q.enqueue(event("c", "s", "e", Priority::Normal))
        .await
        .unwrap();
}

async fn requeued_event_comes_back_with_its_attempts(kind: Kind) {
    let Some(t) = open(kind, 10).await else {
        return;
    };
    let q = &t.backend.queue;
    q.enqueue(event("a", "s", "e", Priority::Normal))
        .await
        .unwrap();
    let mut e = q.next().await.unwrap().unwrap();
    e.attempts = 3;
    e.last_error = Some("503 from SL1".into());
    q.requeue(e, Duration::from_millis(50)).await.unwrap();
    assert_eq!(q.depth(), 1, "a delayed event still counts");
    let again = tokio::time::timeout(Duration::from_secs(10), q.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((again.id.as_str(), again.attempts), ("a", 3));
    assert_eq!(again.last_error.as_deref(), Some("503 from SL1"));
    q.ack(&again).await.unwrap();
    assert_eq!(q.depth(), 0);
}

async fn dead_letters_list_get_take_purge_with_filters(kind: Kind) {
    let Some(t) = open(kind, 10).await else {
        return;
    };
    let (q, dlq) = (&t.backend.queue, &t.backend.dead_letters);
    for (id, source, ev) in [
        ("d1", "github", "push"),
        ("d2", "github", "ping"),
        ("d3", "stripe", "charge"),
        ("d4", "github", "push"),
    ] {
        q.enqueue(event(id, source, ev, Priority::Normal))
            .await
            .unwrap();
        let mut e = q.next().await.unwrap().unwrap();
        e.attempts = 5;
        q.dead_letter(e).await.unwrap();
    }
    assert_eq!(q.depth(), 0, "dead letters leave the queue");
    assert_eq!(dlq.count().await.unwrap(), 4);
    let github = DeadLetterFilter {
        source: Some("github".into()),
        ..Default::default()
    };
    let ids = |v: Vec<genhook::core::queue::DeadLetter>| {
        v.into_iter().map(|l| l.event.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(dlq.list(&github).await.unwrap()), ["d1", "d2", "d4"]);
    let limited = DeadLetterFilter {
        limit: Some(2),
        ..github.clone()
    };
    assert_eq!(ids(dlq.list(&limited).await.unwrap()), ["d1", "d2"]);
    let got = dlq.get("d3").await.unwrap().unwrap();
    assert_eq!(
        (got.event.source.as_str(), got.event.attempts),
        ("stripe", 5)
    );
    assert!(dlq.get("nope").await.unwrap().is_none());
    let taken = dlq.take("d2").await.unwrap().unwrap();
    assert_eq!(taken.event.event, "ping");
    assert!(dlq.take("d2").await.unwrap().is_none(), "taken once only");
    let push = DeadLetterFilter {
        event: Some("push".into()),
        ..Default::default()
    };
    assert_eq!(dlq.purge(&push).await.unwrap(), 2);
    assert_eq!(
        ids(dlq.list(&DeadLetterFilter::default()).await.unwrap()),
        ["d3"]
    );
}

fn claim(key: &str, window: Duration) -> Option<Claim> {
    Some(Claim {
        key: key.to_owned(),
        window,
    })
}

async fn fifty_concurrent_accepts_of_one_key_store_one_event(kind: Kind) {
    let Some(t) = open(kind, 100).await else {
        return;
    };
    let q = &t.backend.queue;
    let key = format!("{}:delivery-1", t.prefix);
    let accepts = (0..50).map(|i| {
        let (q, key) = (Arc::clone(q), key.clone());
        tokio::spawn(async move {
            let e = event(&format!("r{i}"), "s", "e", Priority::Normal);
            q.accept(e, claim(&key, Duration::from_secs(60))).await
        })
    });
    let answers: Vec<Accepted> = futures_util::future::join_all(accepts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let count = |a| answers.iter().filter(|x| **x == a).count();
    assert_eq!(
        (count(Accepted::Queued), count(Accepted::Duplicate)),
        (1, 49)
    );
    assert_eq!(q.depth(), 1, "only the winner was stored");

    // The claim covers dead letters too, both ways.
    let mut broken = event("broken", "s", "e", Priority::Normal);
    broken.render_error = Some("template failed".into());
    let again = q.accept(broken.clone(), claim(&key, Duration::from_secs(60)));
    assert_eq!(again.await.unwrap(), Accepted::Duplicate);
    let other = format!("{}:delivery-2", t.prefix);
    let dead = q.accept(broken, claim(&other, Duration::from_secs(60)));
    assert_eq!(dead.await.unwrap(), Accepted::DeadLettered);
    assert_eq!(t.backend.dead_letters.count().await.unwrap(), 1);
    let late = q.accept(
        event("late", "s", "e", Priority::Normal),
        claim(&other, Duration::from_secs(60)),
    );
    assert_eq!(late.await.unwrap(), Accepted::Duplicate);
    assert_eq!(q.depth(), 1);

    // An expired claim is new again.
    let brief = format!("{}:delivery-3", t.prefix);
    let first = q.accept(
        event("b1", "s", "e", Priority::Normal),
        claim(&brief, Duration::from_millis(1)),
    );
    assert_eq!(first.await.unwrap(), Accepted::Queued);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = q.accept(
        event("b2", "s", "e", Priority::Normal),
        claim(&brief, Duration::from_secs(60)),
    );
    assert_eq!(
        second.await.unwrap(),
        Accepted::Queued,
        "expired keys are new again"
    );
}

async fn refused_accept_leaves_no_claim(kind: Kind) {
    let Some(t) = open(kind, 1).await else {
        return;
    };
    let q = &t.backend.queue;
    let key = format!("{}:delivery-full", t.prefix);
    q.enqueue(event("a", "s", "e", Priority::Normal))
        .await
        .unwrap();
    let refused = q.accept(
        event("b", "s", "e", Priority::Normal),
        claim(&key, Duration::from_secs(60)),
    );
    assert!(matches!(refused.await, Err(QueueError::Full)));

    // Room is made; the provider's retry with the same key is accepted, not a duplicate.
    let a = q.next().await.unwrap().unwrap();
    q.ack(&a).await.unwrap();
    let retry = q.accept(
        event("b-retry", "s", "e", Priority::Normal),
        claim(&key, Duration::from_secs(60)),
    );
    assert_eq!(retry.await.unwrap(), Accepted::Queued);
    let b = q.next().await.unwrap().unwrap();
    assert_eq!(b.id, "b-retry");
}

async fn closed_queue_refuses_and_drains(kind: Kind) {
    let Some(t) = open(kind, 10).await else {
        return;
    };
    let q = &t.backend.queue;
    q.enqueue(event("a", "s", "e", Priority::Normal))
        .await
        .unwrap();
    q.close();
    assert!(matches!(
        q.enqueue(event("b", "s", "e", Priority::Normal)).await,
        Err(QueueError::Closed)
    ));
    if matches!(kind, Kind::Redis) {
        // Redis is shared: a closing instance only hands out what it already read; the rest
        // stays in the stream for the other instances (or the next start).
        let end = tokio::time::timeout(Duration::from_secs(10), q.next())
            .await
            .unwrap()
            .unwrap();
        assert!(end.is_none());
        assert_eq!(q.depth(), 1, "the unread event stays in Redis");
        return;
    }
    let e = q.next().await.unwrap().unwrap();
    assert_eq!(e.id, "a");
    q.ack(&e).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(10), q.next())
        .await
        .unwrap()
        .unwrap();
    assert!(end.is_none());
}

/// `queue_max_bytes` bounds what the queue holds, with no count bound: 10 KB events fit three
/// to a 35,000-byte bound (each counts its body and a few hundred bytes of metadata), the fourth
/// is refused `Full`, and the door is told there is no room; acknowledging one makes room again.
async fn byte_bound_refuses_with_full_until_bytes_leave(kind: Kind) {
    let Some(t) = open_bounded(kind, usize::MAX, Some(35_000)).await else {
        return;
    };
    let q = &t.backend.queue;
    assert_eq!((q.capacity(), q.max_bytes()), (usize::MAX, 35_000));
    assert_eq!(q.bytes(), 0);
    assert!(q.has_room(0));
    for i in 0..3 {
        q.enqueue(sized_event(&format!("e{i}"), 10_000))
            .await
            .unwrap();
    }
    let held = q.bytes();
    assert!(
        (30_000..35_000).contains(&held),
        "three 10 KB events: {held}"
    );
    let refused = q.enqueue(sized_event("e3", 10_000)).await;
    assert!(matches!(refused, Err(QueueError::Full)), "{refused:?}");
    assert_eq!(q.depth(), 3);
    // A small event still fits in what is left; then the door sees no room at all.
    q.enqueue(sized_event("small", 10)).await.unwrap();
    q.enqueue(sized_event("e4", 4_000)).await.unwrap_err();
    let e = q.next().await.unwrap().unwrap();
    q.ack(&e).await.unwrap();
    assert!(q.bytes() < held, "an acknowledged event's bytes leave");
    q.enqueue(sized_event("e3", 10_000)).await.unwrap();
    for _ in 0..4 {
        let e = q.next().await.unwrap().unwrap();
        q.ack(&e).await.unwrap();
    }
    assert_eq!((q.depth(), q.bytes()), (0, 0));
    // A queue holding nothing takes one event larger than the whole bound.
    q.enqueue(sized_event("huge", 50_000)).await.unwrap();
    assert!(
        !q.has_room(0),
        "past the bound: the door refuses before reading a body"
    );
    let refused = q.enqueue(sized_event("tiny", 1)).await;
    assert!(matches!(refused, Err(QueueError::Full)), "{refused:?}");
}

/// The bytes held follow every way out of the queue: an acknowledgement, a requeue (counted
/// once, as the event is now), a dead letter (dead letters are not counted).
async fn bytes_follow_ack_requeue_and_dead_letter(kind: Kind) {
    let Some(t) = open_bounded(kind, usize::MAX, None).await else {
        return;
    };
    let q = &t.backend.queue;
    q.enqueue(sized_event("a", 5_000)).await.unwrap();
    q.enqueue(sized_event("b", 5_000)).await.unwrap();
    let two = q.bytes();
    assert!(two >= 10_000, "{two}");
    let mut a = q.next().await.unwrap().unwrap();
    a.attempts = 1;
    a.last_error = Some("SL1 answered 503".into());
    q.requeue(a, Duration::ZERO).await.unwrap();
    let after_requeue = q.bytes();
    assert!(
        after_requeue >= two && after_requeue < two + 200,
        "a requeued event counts once: {two} then {after_requeue}"
    );
    for _ in 0..2 {
        let e = q.next().await.unwrap().unwrap();
        if e.id == "a" {
            q.dead_letter(e).await.unwrap();
        } else {
            q.ack(&e).await.unwrap();
        }
    }
    assert_eq!((q.depth(), q.bytes()), (0, 0));
    assert_eq!(t.backend.dead_letters.count().await.unwrap(), 1);
}
