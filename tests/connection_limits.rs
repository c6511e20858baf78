//! Connection hygiene and the memory bound, over real sockets: silent connections beyond the
//! descriptor limit do not lock out `/healthz` and webhooks (the real binary under a lowered
//! `RLIMIT_NOFILE`); a silent connection, plain or TLS, is closed after `header_read_timeout`;
//! idle HTTP/1 and HTTP/2 connections are closed after `idle_timeout`; an HTTP/2 peer that does
//! not answer pings is closed; bodies beyond `max_inflight_body_bytes` get `503` + `Retry-After`;
//! `POST /webhook` checks the signature before it parses a body whose headers name the provider;
//! an HTTP/1 read buffer bounded at 64 KiB (a larger head is `431`, a 4 MB body still streams
//! through) and the binary's allocator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash_common;
mod support;

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sha2::Sha256;
use support::{scrape_metrics, TestGenHook};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The bound of every wait: generous, the tests never assert a speed.
const WAIT: Duration = Duration::from_secs(60);

/// A source whose webhooks are signed as GitHub signs them.
const SIGNED_MAPPING: &str =
    "[signed]\nverify = github\nsecret = s3cret\nevent = type\n*: type,n::signed $n$\n";

fn github_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Reads until the peer closes the connection (EOF or reset); `false` if it is still open after
/// [`WAIT`].
async fn closed_by_server(stream: &mut (impl AsyncReadExt + Unpin)) -> bool {
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(WAIT, read_all).await.is_ok()
}

/// Opens a connection that never sends a byte; whether the server closes it within [`WAIT`].
async fn silent_connection_is_closed(genhook: &TestGenHook) -> bool {
    let mut silent = TcpStream::connect(genhook.addr).await.unwrap();
    closed_by_server(&mut silent).await
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_header_read_timeout() {
    let genhook = TestGenHook::builder()
        .set("header_read_timeout", "1s")
        .start()
        .await;
    assert!(
        silent_connection_is_closed(&genhook).await,
        "a connection that never sent a byte is still open"
    );
    // The server still serves.
    assert_eq!(genhook.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_silent_tls_connection_is_closed_after_header_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let genhook = TestGenHook::builder()
        .set("ssl_enabled", "true")
        .set("ssl_cert_path", cert.display())
        .set("ssl_key_path", key.display())
        .set("header_read_timeout", "1s")
        .start()
        .await;
    assert!(
        silent_connection_is_closed(&genhook).await,
        "a connection that never began its TLS handshake is still open"
    );
}

#[tokio::test]
async fn an_idle_http1_keep_alive_connection_is_closed_after_idle_timeout() {
    let genhook = TestGenHook::builder()
        // Longer than the wait: only idle_timeout can close the connection in time.
        .set("header_read_timeout", "10m")
        .set("idle_timeout", "1s")
        .start()
        .await;
    let stream = TcpStream::connect(genhook.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get("/healthz")
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("connection")
            .is_none_or(|v| v != "close"),
        "the answer itself must keep the connection alive, or the test proves nothing"
    );
    drop(response);
    let ended = tokio::time::timeout(WAIT, connection).await;
    assert!(
        ended.is_ok(),
        "the idle keep-alive connection is still open"
    );
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_after_idle_timeout() {
    let genhook = TestGenHook::builder()
        .set("header_read_timeout", "10m")
        .set("http2_keep_alive_interval", "10m")
        .set("idle_timeout", "1s")
        .start()
        .await;
    let stream = TcpStream::connect(genhook.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get(genhook.url("/healthz"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    drop(response);
    let ended = tokio::time::timeout(WAIT, connection).await;
    assert!(ended.is_ok(), "the idle HTTP/2 connection is still open");
}

/// The client connection preface of HTTP/2 with prior knowledge, and an empty SETTINGS frame.
const H2_PREFACE_AND_SETTINGS: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
const H2_PING: u8 = 0x6;

#[tokio::test]
async fn an_http2_peer_that_never_answers_pings_is_pinged_then_closed() {
    let genhook = TestGenHook::builder()
        .set("header_read_timeout", "10m")
        .set("idle_timeout", "10m")
        .set("http2_keep_alive_interval", "1s")
        .start()
        .await;
    let mut stream = TcpStream::connect(genhook.addr).await.unwrap();
    stream.write_all(H2_PREFACE_AND_SETTINGS).await.unwrap();
    // Read frames (9-byte header, then the payload) until the server closes; never answer.
    let mut pinged = false;
    let read_frames = async {
        loop {
            let mut header = [0u8; 9];
            if stream.read_exact(&mut header).await.is_err() {
                return;
            }
            let length =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            let mut payload = vec![0u8; length];
            if stream.read_exact(&mut payload).await.is_err() {
                return;
            }
            let is_ack = header[4] & 0x1 != 0;
            if header[3] == H2_PING && !is_ack {
                pinged = true;
            }
        }
    };
    let closed = tokio::time::timeout(WAIT, read_frames).await.is_ok();
    assert!(pinged, "the server never sent a PING");
    assert!(
        closed,
        "a peer that never acknowledged a PING is still connected"
    );
}

/// A webhook body of exactly `size` bytes: `{"type":"t","n":N,"pad":"xxx…"}`.
fn padded_body(n: usize, size: usize) -> Vec<u8> {
    let head = format!(r#"{{"type":"t","n":{n},"pad":""#);
    let mut body = head.into_bytes();
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
    body
}

async fn post_shop(genhook: &TestGenHook, body: impl Into<reqwest::Body>) -> reqwest::Response {
    let json = [("content-type", "application/json")];
    genhook.post("/webhook/shop", &json, body).await
}

#[tokio::test]
async fn bodies_beyond_max_inflight_body_bytes_get_503_while_smaller_totals_pass() {
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", "[shop]\nevent = type\n*: type,n::order $n$\n")
        .set("max_body_size", "1MB")
        .set("max_inflight_body_bytes", "1MB")
        .start()
        .await;
    let budget = genhook.running().state().body_budget().clone();
    let size = 700 * 1024;
    let held_body = padded_body(1, size);

    // A: a slow upload, its head and a first part sent, the rest held back.
    let mut slow = TcpStream::connect(genhook.addr).await.unwrap();
    let head = format!(
        "POST /webhook/shop HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&held_body[..1000]).await.unwrap();
    assert!(
        support::eventually(WAIT, || budget.held() >= size as u64).await,
        "the slow upload never reserved its length"
    );

    // B: another body of the same size does not fit beside A: 503 + Retry-After + JSON, at once.
    let refused = post_shop(&genhook, padded_body(2, size)).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .is_ok_and(|secs| secs >= 1));
    let reason: serde_json::Value = refused.json().await.unwrap();
    assert!(
        reason["error"]
            .as_str()
            .unwrap()
            .contains("max_inflight_body_bytes"),
        "{reason}"
    );

    // C: a small body fits beside A.
    let small = post_shop(&genhook, r#"{"type":"t","n":3}"#).await;
    assert_eq!(small.status(), 202);

    // A completes normally, and gives its bytes back once answered.
    slow.write_all(&held_body[1000..]).await.unwrap();
    let mut answer = vec![0u8; 12];
    tokio::time::timeout(WAIT, slow.read_exact(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 202");
    assert!(support::eventually(WAIT, || budget.held() == 0).await);

    // Once A is answered, the body refused before fits.
    let retried = post_shop(&genhook, padded_body(2, size)).await;
    assert_eq!(retried.status(), 202);
}

#[tokio::test]
async fn max_inflight_body_bytes_reloads_live_and_the_connection_keys_need_a_restart() {
    let genhook = TestGenHook::builder()
        .set("max_body_size", "1MB")
        .set("max_inflight_body_bytes", "1MB")
        .start()
        .await;
    let path = genhook.dir().join("genhook.ini");
    let mut text: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("max_inflight_body_bytes"))
        .map(|line| format!("{line}\n"))
        .collect();
    text.push_str("max_inflight_body_bytes = 2MB\nidle_timeout = 5s\nmax_connections = 10\n");
    std::fs::write(&path, text).unwrap();
    let report = genhook.running().reload_report();
    assert_eq!(report.config, Some(true), "{report:?}");
    assert_eq!(report.restart_needed, ["idle_timeout", "max_connections"]);
    assert_eq!(
        genhook.running().state().body_budget().limit(),
        2 << 20,
        "max_inflight_body_bytes is applied live"
    );
}

#[tokio::test]
async fn post_webhook_with_a_bad_signature_is_401_before_the_body_is_parsed() {
    let genhook = TestGenHook::builder()
        .mapping("signed.ini", SIGNED_MAPPING)
        .start()
        .await;
    let not_json = "this is { not json";
    let response = genhook
        .post(
            "/webhook",
            &[
                ("x-github-event", "push"),
                ("x-hub-signature-256", "sha256=00"),
                ("content-type", "application/json"),
            ],
            not_json,
        )
        .await;
    assert_eq!(response.status(), 401, "{}", response.text().await.unwrap());
    // Signed correctly, the same body is refused as the malformed body it is.
    let response = genhook
        .post(
            "/webhook",
            &[
                ("x-github-event", "push"),
                (
                    "x-hub-signature-256",
                    &github_signature(not_json.as_bytes()),
                ),
                ("content-type", "application/json"),
            ],
            not_json,
        )
        .await;
    assert_eq!(response.status(), 400);
}

/// Sends an HTTP/1.1 `GET /healthz` whose head carries a header of `padding` bytes; the status
/// line answered.
async fn status_of_a_head_padded_by(genhook: &TestGenHook, padding: usize) -> String {
    let mut stream = TcpStream::connect(genhook.addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-padding: {}\r\n\r\n",
        "p".repeat(padding)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let line = answer.split(|b| *b == b'\r').next().unwrap();
    String::from_utf8_lossy(line).into_owned()
}

#[tokio::test]
async fn an_http1_request_head_beyond_64_kib_is_refused_431_and_one_below_is_served() {
    let genhook = TestGenHook::builder().start().await;
    assert_eq!(
        status_of_a_head_padded_by(&genhook, 56 * 1024).await,
        "HTTP/1.1 200 OK",
        "a 56 KiB head is within the read buffer's bound"
    );
    // hyper's default bound (some 400 KiB) would serve this one.
    assert_eq!(
        status_of_a_head_padded_by(&genhook, 72 * 1024).await,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert_eq!(genhook.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_4_mb_body_streams_through_the_bounded_read_buffer() {
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", "[shop]\nevent = type\n*: type,n::order $n$\n")
        .set("max_body_size", "8MB")
        .set("max_inflight_body_bytes", "8MB")
        .start()
        .await;
    let answer = post_shop(&genhook, padded_body(1, 4_000_000)).await;
    assert_eq!(answer.status(), 202);
}

/// The `genhook` binary's global allocator is the one its cargo features name (src/main.rs): its
/// code, and so its messages, are linked in only when it is the global allocator.
#[test]
fn the_binary_is_linked_with_the_allocator_its_features_name() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_genhook")).unwrap();
    let links = |marker: &[u8]| binary.windows(marker.len()).any(|w| w == marker);
    assert_eq!(
        links(b"mimalloc: "),
        cfg!(feature = "mimalloc"),
        "mimalloc linked in, or not, as the `mimalloc` feature says"
    );
}

/// The peak resident memory of a process (`VmHWM`), in bytes.
#[cfg(target_os = "linux")]
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Starts the binary with the [`SIGNED_MAPPING`] source besides the crash tests' one, the
/// extra keys set, through `sh -c` with `prelude` run first (e.g. `ulimit -n 256`).
async fn start_binary(
    prelude: &str,
    extra: &[(&str, String)],
) -> (tempfile::TempDir, crash_common::Server) {
    let dir = tempfile::tempdir().unwrap();
    let port = crash_common::free_port();
    let mut keys = vec![("queue_backend", "memory".to_owned())];
    keys.extend(extra.iter().cloned());
    let config =
        crash_common::write_config(dir.path(), "genhook", port, "http://127.0.0.1:9/", &keys);
    std::fs::write(dir.path().join("mappings/signed.ini"), SIGNED_MAPPING).unwrap();
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(format!("{prelude}\nexec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_genhook"));
    let log = dir.path().join("genhook.log");
    let server = crash_common::Server::start_with(shell, &config, port, log).await;
    (dir, server)
}

/// Polls `/healthz` with a fresh connection each time until it answers 200 (bounded by [`WAIT`]).
async fn healthy(port: u16) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let answer = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        if answer.is_ok_and(|r| r.status() == 200) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_webhook_does_not_parse_an_unverified_body_whose_headers_name_the_provider() {
    let (_dir, server) = start_binary("", &[]).await;
    let port = server.port;
    // Four million bytes of a JSON array of small numbers: parsed, some 64 MB of values.
    let mut body = b"[0".to_vec();
    while body.len() < 4_000_000 {
        body.extend_from_slice(b",0");
    }
    body.push(b']');
    let client = reqwest::Client::new();
    let send = |body: Vec<u8>| {
        client
            .post(format!("http://127.0.0.1:{port}/webhook"))
            .header("x-github-event", "push")
            .header("x-hub-signature-256", "sha256=00")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let before = peak_rss(server.child.id());
    for _ in 0..3 {
        let response = send(body.clone()).await.unwrap();
        assert_eq!(response.status(), 401);
    }
    let grown = peak_rss(server.child.id()).saturating_sub(before);
    assert!(
        grown < 40 << 20,
        "the peak memory grew by {} MB for three unsigned 4 MB bodies: they were parsed before \
         their signature was checked",
        grown >> 20
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_beyond_the_descriptor_limit_do_not_lock_out_health_or_webhooks() {
    // 256 descriptors: max_connections defaults to 192 of them.
    let (_dir, server) = start_binary(
        "ulimit -n 256 || exit 97",
        &[("header_read_timeout", "2s".into())],
    )
    .await;
    let port = server.port;

    // More silent connections than the process may hold descriptors, kept open by the test.
    let mut silent = Vec::new();
    for _ in 0..400 {
        match std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(2),
        ) {
            Ok(stream) => silent.push(stream),
            Err(_) => break,
        }
    }
    assert!(
        silent.len() > 256,
        "only {} connections opened",
        silent.len()
    );

    assert!(
        healthy(port).await,
        "/healthz does not answer while silent connections are held: {}",
        server.log_text()
    );
    let body = br#"{"type":"t","n":1}"#;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut accepted = false;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !accepted && tokio::time::Instant::now() < deadline {
        let response = client
            .post(format!("http://127.0.0.1:{port}/webhook/signed"))
            .header("x-github-event", "push")
            .header("x-hub-signature-256", github_signature(body))
            .header("content-type", "application/json")
            .body(&body[..])
            .send()
            .await;
        accepted = response.is_ok_and(|r| r.status() == 202);
    }
    assert!(
        accepted,
        "a signed webhook was not accepted: {}",
        server.log_text()
    );

    drop(silent);
    let log = server.log_text();
    let exhausted = log.matches("Too many open files").count();
    assert!(
        exhausted <= 2,
        "{exhausted} lines of `Too many open files` in the log:\n{log}"
    );
    let metrics = scrape_metrics(&client, port).await;
    let refused =
        support::metric_value(&metrics, "genhook_connections_refused_total", &[]).unwrap_or(0.0);
    assert!(
        refused >= 1.0,
        "no connection was refused beyond max_connections:\n{metrics}"
    );
}

/// The soft open-file limit is raised to the hard one at start (systemd's default soft limit,
/// 1024, would otherwise cap connections far below what the hard limit allows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soft_descriptor_limit_is_raised_to_the_hard_one() {
    let (_dir, server) = start_binary("ulimit -S -n 256 || exit 97", &[]).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.child.id())).unwrap();
    let open_files: Vec<&str> = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .skip(3)
        .take(2)
        .collect();
    let [soft, hard] = open_files[..] else {
        panic!("unexpected /proc limits line: {limits}");
    };
    assert_ne!(soft, "256", "soft limit left at 256: {limits}");
    assert_eq!(soft, hard, "soft limit raised to the hard one: {limits}");
}
