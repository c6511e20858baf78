//! The HTTPS certificate is replaced while GenHook serves: the certificate a client is served
//! before and after SIGHUP, after a file change with no signal, a bad pair refused (the old
//! certificate kept, an error logged with no key material), a keep-alive connection that lives
//! through the swap; and mutual TLS with `ssl_client_ca`. Real TLS over loopback sockets.
//! (Its own test binary: SIGHUP goes to the whole process.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SerialNumber,
};
use support::captured_log::CapturedLog;
use support::{eventually, TestGenHook};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// How long a reload may take on a busy machine.
const RELOAD_LIMIT: Duration = Duration::from_secs(30);
/// Every PEM file is padded to this size, so a swap can keep the size a watcher compares.
const PEM_SIZE: usize = 4096;

/// A test CA that signs server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate (PEM and DER) and its key (PEM).
struct Leaf {
    cert_pem: String,
    der: CertificateDer<'static>,
    key_pem: String,
    key_der: Vec<u8>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for 127.0.0.1 and localhost with this serial number.
    fn server(&self, serial: u8) -> Leaf {
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params.serial_number = Some(SerialNumber::from_slice(&[serial]));
        params
            .distinguished_name
            .push(DnType::CommonName, format!("genhook-{serial}"));
        self.sign(params)
    }

    /// A client certificate.
    fn client(&self) -> Leaf {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "sender");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            der: cert.der().clone(),
            key_pem: key.serialize_pem(),
            key_der: key.serialize_der(),
        }
    }
}

/// `text` padded with newlines (outside any PEM block) to [`PEM_SIZE`].
fn padded(text: &str) -> String {
    assert!(text.len() < PEM_SIZE);
    format!("{text}{}", "\n".repeat(PEM_SIZE - text.len()))
}

/// Writes `text` to `file` with the modification time `file` has, through a rename: a watcher
/// comparing sizes and times cannot see the change (only SIGHUP can make it count).
fn replace_unnoticed(file: &Path, text: &str) {
    let modified = std::fs::metadata(file).unwrap().modified().unwrap();
    let temp = file.with_extension("new");
    std::fs::write(&temp, text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&temp)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    std::fs::rename(&temp, file).unwrap();
}

/// Writes the server's certificate and key files into `dir`.
fn write_pair(dir: &Path, leaf: &Leaf) {
    std::fs::write(dir.join("cert.pem"), padded(&leaf.cert_pem)).unwrap();
    std::fs::write(dir.join("key.pem"), padded(&leaf.key_pem)).unwrap();
}

/// GenHook over HTTPS with the files `write_pair` wrote into `dir`.
async fn start(dir: &Path, reload: bool, client_ca: Option<&Path>) -> TestGenHook {
    let mut builder = TestGenHook::builder()
        .mapping("shop.ini", "[shop]\nevent = type\n*: type::$type$\n")
        .set("ssl_enabled", "true")
        .set("ssl_cert_path", dir.join("cert.pem").display())
        .set("ssl_key_path", dir.join("key.pem").display())
        .set("reload", reload);
    if let Some(ca) = client_ca {
        builder = builder.set("ssl_client_ca", ca.display());
    }
    builder.start().await
}

/// A TLS connection to GenHook trusting `ca`, with a client certificate when given.
async fn connect(
    genhook: &TestGenHook,
    ca: &Ca,
    client: Option<&Leaf>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.issuer.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![leaf.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone())),
            )
            .unwrap(),
    };
    let tcp = TcpStream::connect(genhook.addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// The certificate a new connection is served.
async fn served(genhook: &TestGenHook, ca: &Ca) -> CertificateDer<'static> {
    let stream = connect(genhook, ca, None).await.unwrap();
    stream.get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// Which of the leaves a new connection is served (by serial, for the messages).
async fn serial_served(genhook: &TestGenHook, ca: &Ca, leaves: &[(&str, &Leaf)]) -> String {
    let der = served(genhook, ca).await;
    leaves
        .iter()
        .find(|(_, leaf)| leaf.der == der)
        .map_or_else(|| "unknown".to_owned(), |(name, _)| (*name).to_owned())
}

/// Sends `GET /healthz` on a (kept-alive) connection; the status code of the answer.
async fn healthz(stream: &mut TlsStream<TcpStream>) -> std::io::Result<u16> {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text.get(..end).unwrap().to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if seen.len() >= end + 4 + length {
                return Ok(text.get(9..12).unwrap().parse().unwrap());
            }
        }
    }
}

/// Waits until a new connection is served `want`.
async fn wait_served(genhook: &TestGenHook, ca: &Ca, want: &Leaf) -> bool {
    let deadline = tokio::time::Instant::now() + RELOAD_LIMIT;
    while tokio::time::Instant::now() < deadline {
        if served(genhook, ca).await == want.der {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Waits until the reload watcher runs (it listens for SIGHUP from its first step on): a file
/// only the watcher can notice is added to the mappings directory and its reload awaited.
async fn wait_for_the_watcher(genhook: &TestGenHook) {
    let before = genhook.running().state().stacks();
    std::fs::write(genhook.mappings_dir().join("watcher-probe.txt"), "seen").unwrap();
    assert!(
        eventually(RELOAD_LIMIT, || !Arc::ptr_eq(
            &before,
            &genhook.running().state().stacks()
        ))
        .await,
        "the watcher did not run within {RELOAD_LIMIT:?}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_serves_the_new_certificate_and_open_connections_live_on() {
    let ca = Ca::new("GenHook test CA");
    let (one, two) = (ca.server(1), ca.server(2));
    let leaves = [("serial 1", &one), ("serial 2", &two)];
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), &one);
    let genhook = start(dir.path(), true, None).await;
    wait_for_the_watcher(&genhook).await;
    assert_eq!(serial_served(&genhook, &ca, &leaves).await, "serial 1");

    // A keep-alive connection opened on the old certificate.
    let mut open = connect(&genhook, &ca, None).await.unwrap();
    assert_eq!(open.get_ref().1.peer_certificates().unwrap()[0], one.der);
    assert_eq!(healthz(&mut open).await.unwrap(), 200);

    replace_unnoticed(&dir.path().join("cert.pem"), &padded(&two.cert_pem));
    replace_unnoticed(&dir.path().join("key.pem"), &padded(&two.key_pem));
    assert_eq!(
        serial_served(&genhook, &ca, &leaves).await,
        "serial 1",
        "nothing reloads the files before the signal"
    );
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        wait_served(&genhook, &ca, &two).await,
        "still {} after SIGHUP",
        serial_served(&genhook, &ca, &leaves).await
    );

    // The connection opened before the swap still answers, on its own certificate.
    assert_eq!(healthz(&mut open).await.unwrap(), 200);
    assert_eq!(open.get_ref().1.peer_certificates().unwrap()[0], one.der);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_certificate_file_is_served_without_a_signal() {
    let ca = Ca::new("GenHook test CA");
    let (one, three) = (ca.server(1), ca.server(3));
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), &one);
    let genhook = start(dir.path(), true, None).await;
    assert_eq!(served(&genhook, &ca).await, one.der);

    // Written as an operator (or certbot) would: new sizes, new modification times.
    std::fs::write(dir.path().join("cert.pem"), &three.cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &three.key_pem).unwrap();
    assert!(
        wait_served(&genhook, &ca, &three).await,
        "the new certificate was not served within {RELOAD_LIMIT:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_pair_is_refused_with_an_error_line_and_the_old_certificate_stays() {
    let ca = Ca::new("GenHook test CA");
    let (one, four) = (ca.server(1), ca.server(4));
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), &one);
    let genhook = start(dir.path(), false, None).await;

    // The new certificate with the old key: they do not fit.
    std::fs::write(dir.path().join("cert.pem"), &four.cert_pem).unwrap();
    let captured = CapturedLog::default();
    let report = tracing::subscriber::with_default(captured.subscriber(), || {
        genhook.running().reload_report()
    });
    assert_eq!(report.tls, Some(false), "{report:?}");
    assert!(!report.all_taken());
    assert_eq!(served(&genhook, &ca).await, one.der, "the old pair stays");

    let log = captured.text();
    let line = log
        .lines()
        .find(|l| l.contains("HTTPS certificate reload refused"))
        .unwrap_or_else(|| panic!("no refusal line in:\n{log}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("does not fit"), "{line}");
    let key_body: Vec<&str> = one
        .key_pem
        .lines()
        .filter(|l| !l.starts_with("---"))
        .collect();
    assert!(
        key_body.iter().all(|part| !log.contains(part)),
        "key material in the log:\n{log}"
    );

    // A key file that is not a key at all: refused the same way.
    std::fs::write(dir.path().join("key.pem"), "not a key\n").unwrap();
    assert_eq!(genhook.running().reload_report().tls, Some(false));
    assert_eq!(served(&genhook, &ca).await, one.der);

    // Fixed: the matching pair is taken.
    write_pair(dir.path(), &four);
    assert_eq!(genhook.running().reload_report().tls, Some(true));
    assert_eq!(served(&genhook, &ca).await, four.der);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ssl_client_ca_only_clients_with_a_certificate_it_signed_get_in() {
    let ca = Ca::new("GenHook test CA");
    let clients = Ca::new("GenHook test client CA");
    let stranger = Ca::new("Someone else's CA");
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), &ca.server(1));
    let bundle = dir.path().join("clients.pem");
    std::fs::write(&bundle, clients.pem()).unwrap();
    let genhook = start(dir.path(), false, Some(&bundle)).await;

    let mut allowed = connect(&genhook, &ca, Some(&clients.client()))
        .await
        .unwrap();
    assert_eq!(healthz(&mut allowed).await.unwrap(), 200);

    // Without a certificate, or with one another CA signed: refused (in TLS 1.3 the server's
    // alert arrives after the client's side of the handshake, so at the first read at latest).
    for client in [None, Some(stranger.client())] {
        let refused = match connect(&genhook, &ca, client.as_ref()).await {
            Err(_) => true,
            Ok(mut stream) => healthz(&mut stream).await.is_err(),
        };
        assert!(refused, "a client without a good certificate got an answer");
    }
}
