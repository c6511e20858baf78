//! TLS for the receiver (`ssl_enabled`): a rustls acceptor whose certificate can be replaced
//! while it serves, and optional client certificates (`ssl_client_ca`).
//!
//! Every handshake asks [`ServerCerts`] (a rustls [`ResolvesServerCert`]) for the certificate in
//! use, held in an [`ArcSwap`]: [`ServerCerts::reload`] reads `ssl_cert_path` and `ssl_key_path`
//! again and swaps the new pair in, so new handshakes get it while the connections already open
//! keep theirs (nothing is dropped). A pair that cannot be read, or whose key does not fit the
//! certificate, is refused and the pair in use stays. The reload watcher ([`crate::reload`])
//! calls it on SIGHUP and when either file changes. Errors name files, never their contents.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The receiver's certificate and key, re-readable from their files while serving.
pub struct ServerCerts {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
}

impl fmt::Debug for ServerCerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCerts")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ServerCerts {
    /// Reads the certificate chain and key from these PEM files.
    ///
    /// # Errors
    /// When a file cannot be read, holds no certificate or key, or the key does not fit.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, String> {
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let pair = certified_key(cert, key, &provider)?;
        Ok(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            provider,
            current: ArcSwap::from_pointee(pair),
        })
    }

    /// The certificate and key files.
    pub fn files(&self) -> [&Path; 2] {
        [&self.cert, &self.key]
    }

    /// Reads both files again and, when they hold a good pair, serves it to new handshakes.
    /// `Ok(true)`: a different certificate is in use now; `Ok(false)`: the same one was read.
    ///
    /// # Errors
    /// The pair read is not usable; the one in use stays (the caller logs it).
    pub fn reload(&self) -> Result<bool, String> {
        let pair = certified_key(&self.cert, &self.key, &self.provider)?;
        let changed = pair.cert != self.current.load().cert;
        if changed {
            self.current.store(Arc::new(pair));
        }
        Ok(changed)
    }

    /// The end-entity certificate in use (DER).
    pub fn certificate(&self) -> Option<CertificateDer<'static>> {
        self.current.load().cert.first().cloned()
    }
}

impl ResolvesServerCert for ServerCerts {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// A certificate chain and the key that fits it, from PEM files.
fn certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let certs = read_certificates(cert)?;
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key from {}: {e}", key.display()))?;
    CertifiedKey::from_der(certs, private, provider).map_err(|e| {
        format!(
            "the key in {} does not fit the certificate in {}: {e}",
            key.display(),
            cert.display()
        )
    })
}

/// Every certificate of a PEM file (a chain or a CA bundle); an error names the file when it
/// cannot be read or holds none.
///
/// # Errors
/// The file cannot be read, is not PEM, or holds no certificate.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<_, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", path.display()));
    }
    Ok(certs)
}

/// A TLS acceptor serving `certs`; with `client_ca`, clients must present a certificate signed
/// by one of its CAs.
///
/// # Errors
/// The client CA bundle cannot be read or holds no usable CA.
pub(super) fn acceptor(
    certs: Arc<ServerCerts>,
    client_ca: Option<&Path>,
) -> Result<TlsAcceptor, String> {
    let provider = Arc::clone(&certs.provider);
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in read_certificates(path)? {
                roots
                    .add(ca)
                    .map_err(|e| format!("{}: not a usable CA certificate: {e}", path.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    Ok(TlsAcceptor::from(Arc::new(
        builder.with_cert_resolver(certs),
    )))
}
