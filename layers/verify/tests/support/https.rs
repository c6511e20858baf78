//! A loopback HTTPS server for the tests whose verifier fetches something (Entra's key set,
//! SNS's signing certificate): a CA generated per test (rcgen), a server certificate for
//! 127.0.0.1 it signed, and a tokio-rustls server on a free loopback port that answers each GET
//! from a closure of the request path and counts the requests. The verifier under test trusts
//! the CA through its builder, so the real TLS and HTTP client code runs.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A generated CA and the certificate (with its key) it issued for 127.0.0.1.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pem: String,
    server_cert: CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl TestCa {
    pub fn new() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let mut server_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        server_params
            .subject_alt_names
            .push(SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();
        Self {
            pem: issuer.pem(),
            issuer,
            server_cert: server_cert.der().clone(),
            server_key: server_key.serialize_der(),
        }
    }

    /// The CA certificate, PEM: what the verifier under test is told to trust.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The CA as an issuer, to sign further certificates with.
    pub fn issuer(&self) -> &CertifiedIssuer<'static, KeyPair> {
        &self.issuer
    }

    /// Starts an HTTPS server on 127.0.0.1 with this CA's server certificate. Each request is
    /// answered from `answer(path)`: `Some(body)` is a 200 with `content_type`, `None` a 404.
    pub async fn serve(
        &self,
        content_type: &'static str,
        answer: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> HttpsServer {
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![self.server_cert.clone()],
            PrivateKeyDer::Pkcs8(self.server_key.clone().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let (counter, answer) = (Arc::clone(&counter), Arc::clone(&answer));
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let line = String::from_utf8_lossy(&head);
                    let path = line.split(' ').nth(1).unwrap_or_default();
                    let (status, body) = match answer(path) {
                        Some(body) => ("200 OK", body),
                        None => ("404 Not Found", String::new()),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        HttpsServer { port, hits }
    }
}

/// A running [`TestCa::serve`] server (it lives as long as the test's runtime).
pub struct HttpsServer {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl HttpsServer {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://127.0.0.1:{port}`.
    pub fn authority(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Requests answered so far (counted once a whole request head came in).
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
