//! A bounded HTTP/1.1 load generator, closed-loop or paced.
//!
//! `concurrency` connections, each a keep-alive hyper client connection with at most one request
//! in flight: it sends the next request only once the previous answer has been read completely
//! (closed loop, so the server is never flooded past what it can answer and the latency is what a
//! sender sees). Paced (`rate`, `GENHOOK_LOAD_RATE`): the `n`th request is due `n / rate`
//! seconds after the start, sent by whichever connection is free, and its latency counts from
//! when it was due, not from when a connection got round to it, so a server that falls behind
//! the rate shows it in the percentiles (no coordinated omission) as long as the connections
//! are enough for the rate (`concurrency / rate` above the slowest answer). It stops by itself after `requests` requests in total or when `time_cap` has
//! passed, whichever comes first. A connection that fails is counted and opened again; one the
//! server closes after its answer (`Connection: close`, e.g. a 503 decided at the door) is
//! opened again without counting a failure.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Makes the `n`th request, given the `Host` header value.
pub(crate) type MakeRequest = Arc<dyn Fn(&HeaderValue) -> Request<Full<Bytes>> + Send + Sync>;

/// How much load to apply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadSpec {
    /// Requests in total (all connections together).
    pub(crate) requests: usize,
    /// Connections, each with one request in flight.
    pub(crate) concurrency: usize,
    /// Stop sending new requests after this long.
    pub(crate) time_cap: Duration,
    /// Requests per second when paced; `None`: closed loop.
    pub(crate) rate: Option<f64>,
}

/// What one load run measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadResult {
    /// Answers by status code.
    pub(crate) by_status: BTreeMap<u16, usize>,
    /// Requests that got no answer (connection or protocol errors).
    pub(crate) errors: usize,
    /// From the first request sent to the last answer read.
    pub(crate) elapsed: Duration,
    /// Every answered request's latency, sorted.
    pub(crate) latencies: Vec<Duration>,
    /// When the first request was sent.
    pub(crate) started: Option<Instant>,
    /// The first answer's body for each status other than 202 (for PROBLEM lines).
    pub(crate) samples: BTreeMap<u16, String>,
    /// `429` and `503` answers without a `Retry-After` header (a sender could not know when to
    /// try again).
    pub(crate) no_retry_after: usize,
}

impl LoadResult {
    /// Answers with this status.
    pub(crate) fn status(&self, code: u16) -> usize {
        self.by_status.get(&code).copied().unwrap_or(0)
    }

    /// Answers of any status.
    pub(crate) fn answered(&self) -> usize {
        self.by_status.values().sum()
    }

    /// Answered requests per second.
    pub(crate) fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.answered() as f64 / secs
        } else {
            0.0
        }
    }

    /// The share of answers that were `503`, from 0 to 1.
    pub(crate) fn refused_share(&self) -> f64 {
        let answered = self.answered();
        if answered > 0 {
            self.status(503) as f64 / answered as f64
        } else {
            0.0
        }
    }

    /// The latency at `percent` (nearest rank), if any request was answered.
    pub(crate) fn percentile(&self, percent: usize) -> Option<Duration> {
        let last = self.latencies.len().checked_sub(1)?;
        self.latencies.get(last * percent.min(100) / 100).copied()
    }
}

/// What one connection task saw.
#[derive(Default)]
struct Tally {
    by_status: BTreeMap<u16, usize>,
    samples: BTreeMap<u16, String>,
    errors: usize,
    no_retry_after: usize,
    latencies: Vec<Duration>,
}

/// Runs the load against `addr` and returns what it measured. Must run inside a Tokio runtime;
/// the connection tasks are spawned on it.
pub(crate) async fn run(addr: SocketAddr, make: MakeRequest, spec: LoadSpec) -> LoadResult {
    let host = HeaderValue::try_from(addr.to_string()).expect("an address is a valid Host");
    let issued = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + spec.time_cap;
    let tasks: Vec<_> = (0..spec.concurrency.max(1))
        .map(|_| {
            let (make, host, issued) = (Arc::clone(&make), host.clone(), Arc::clone(&issued));
            tokio::spawn(connection(
                addr,
                make,
                host,
                issued,
                Budget {
                    requests: spec.requests,
                    started,
                    deadline,
                    rate: spec.rate,
                },
            ))
        })
        .collect();
    let mut result = LoadResult {
        started: Some(started),
        ..LoadResult::default()
    };
    for task in tasks {
        let tally = task.await.expect("a load connection task panicked");
        for (status, count) in tally.by_status {
            *result.by_status.entry(status).or_default() += count;
        }
        result.errors += tally.errors;
        result.no_retry_after += tally.no_retry_after;
        for (status, sample) in tally.samples {
            result.samples.entry(status).or_insert(sample);
        }
        result.latencies.extend(tally.latencies);
    }
    result.elapsed = started.elapsed();
    result.latencies.sort_unstable();
    result
}

/// What the connections share: how many requests, from when, until when, at what pace.
#[derive(Debug, Clone, Copy)]
struct Budget {
    requests: usize,
    started: Instant,
    deadline: Instant,
    rate: Option<f64>,
}

/// One keep-alive connection sending requests one after the other until the shared budget or the
/// deadline runs out.
async fn connection(
    addr: SocketAddr,
    make: MakeRequest,
    host: HeaderValue,
    issued: Arc<AtomicUsize>,
    budget: Budget,
) -> Tally {
    let mut tally = Tally::default();
    let mut sender: Option<http1::SendRequest<Full<Bytes>>> = None;
    loop {
        let ticket = issued.fetch_add(1, Ordering::Relaxed);
        if Instant::now() >= budget.deadline || ticket >= budget.requests {
            return tally;
        }
        // Paced: wait until this request is due; its latency counts from then.
        let due = budget
            .rate
            .map(|rate| budget.started + Duration::from_secs_f64(ticket as f64 / rate));
        if let Some(due) = due {
            tokio::time::sleep_until(due.into()).await;
        }
        let mut ready = match sender.take() {
            Some(open) => open,
            None => match open(addr).await {
                Ok(open) => open,
                Err(_) => {
                    tally.errors += 1;
                    // Do not spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let request = make(&host);
        let sent = due.unwrap_or_else(Instant::now);
        let answer = async {
            ready.ready().await?;
            let response = ready.send_request(request).await?;
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key(http::header::RETRY_AFTER);
            // A 503 decided at the door leaves its body unread and closes the connection.
            let closes = response
                .headers()
                .get(http::header::CONNECTION)
                .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body, closes, retry_after))
        }
        .await;
        match answer {
            Ok((status, body, closes, retry_after)) => {
                tally.latencies.push(sent.elapsed());
                if matches!(status, 429 | 503) && !retry_after {
                    tally.no_retry_after += 1;
                }
                if status != 202 && !tally.samples.contains_key(&status) {
                    let text = String::from_utf8_lossy(&body).chars().take(160).collect();
                    tally.samples.insert(status, text);
                }
                *tally.by_status.entry(status).or_default() += 1;
                sender = (!closes).then_some(ready);
            }
            Err(_) => tally.errors += 1,
        }
    }
}

/// Opens one HTTP/1.1 connection and drives it on a task of its own.
async fn open(
    addr: SocketAddr,
) -> Result<http1::SendRequest<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // The connection ends when the sender is dropped or the server closes it.
        let _ = connection.await;
    });
    Ok(sender)
}
