//! The TLS settings of the SL1 client when `sl1_ca_file` is set: the built-in roots plus the file's
//! certificates as roots, and the file's certificates *pinned*, so that SL1's own self-signed
//! certificate is accepted even when it is marked `CA:TRUE`.
//!
//! `openssl req -x509 …` (and SL1 appliances) make self-signed certificates with
//! `basicConstraints = CA:TRUE`. webpki refuses such a certificate as a server's own
//! (`CaUsedAsEndEntity`), even when it is a trusted root. [`PinningVerifier`] wraps rustls'
//! [`WebPkiServerVerifier`] and changes one thing: when webpki refuses the server's certificate
//! and that certificate is byte-for-byte (DER) one of the file's, it is accepted after these checks:
//!
//! - webpki's refusal is `CaUsedAsEndEntity` or `UnknownIssuer` (a pinned leaf whose CA is not in
//!   the file). webpki checks the validity period before both, so an expired or not yet valid
//!   pinned certificate is still refused; any other refusal (expired, bad encoding, …) stands;
//! - the name: the URL's host must be in the certificate's subjectAltName (DNS name or IP
//!   address), checked by webpki as for any certificate (the CN is not read);
//! - the handshake signatures are always checked with the crypto provider (ring), with the
//!   server's certificate's key, as rustls does for every certificate.
//!
//! A pinned certificate never makes another certificate acceptable: the match is on the whole
//! DER of the end-entity certificate the server presents. (The file's certificates are also
//! roots, as before: a CA in the file still vouches for the leaves it signed, under full webpki
//! validation.)

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::server::ParsedCertificate;
use tokio_rustls::rustls::{
    CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::sl1_error::Sl1Error;

/// Reads the certificates of `sl1_ca_file` (PEM, one or more certificates).
///
/// # Errors
/// [`Sl1Error::Config`] when the file cannot be read, is not PEM or holds no certificate.
pub(crate) fn load_ca(path: &Path) -> Result<Vec<CertificateDer<'static>>, Sl1Error> {
    let pem = std::fs::read(path).map_err(|e| {
        Sl1Error::Config(format!("cannot read sl1_ca_file {}: {e}", path.display()))
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Sl1Error::Config(format!("sl1_ca_file {} is not PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Sl1Error::Config(format!(
            "sl1_ca_file {} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The rustls client configuration for SL1 with the certificates of `sl1_ca_file`: the built-in
/// (webpki) roots and the file's certificates as roots, verified by a [`PinningVerifier`];
/// ring as the crypto provider; ALPN `h2`, `http/1.1` as reqwest offers by itself.
///
/// # Errors
/// [`Sl1Error::Config`] when the file cannot be used (see [`load_ca`]) or a certificate in it
/// cannot be a root.
pub(crate) fn client_config(ca_file: &Path) -> Result<rustls::ClientConfig, Sl1Error> {
    let pinned = load_ca(ca_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinningVerifier::new(pinned, Arc::clone(&provider)).map_err(|e| {
        Sl1Error::Config(format!(
            "sl1_ca_file {} cannot be trusted: {e}",
            ca_file.display()
        ))
    })?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Sl1Error::Config(format!("cannot configure TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A [`ServerCertVerifier`]: full webpki validation against the built-in roots and the pinned
/// certificates, then a byte-for-byte match against the pinned certificates for a certificate
/// webpki refuses only for being a CA or for an unknown issuer (see the module docs).
#[derive(Debug)]
pub(crate) struct PinningVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinningVerifier {
    /// Trusts the built-in roots and `pinned` as roots, and pins `pinned`.
    pub(crate) fn new(
        pinned: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, rustls::Error> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in &pinned {
            roots.add(cert.clone())?;
        }
        let algorithms = provider.signature_verification_algorithms;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        Ok(Self {
            webpki,
            pinned,
            algorithms,
        })
    }

    fn is_pinned(&self, end_entity: &CertificateDer<'_>) -> bool {
        self.pinned
            .iter()
            .any(|pinned| pinned.as_ref() == end_entity.as_ref())
    }
}

/// Whether webpki's refusal is one a pinned certificate overrides: `CaUsedAsEndEntity` (a
/// self-signed `CA:TRUE` certificate) or `UnknownIssuer`. Both come after webpki checked the
/// certificate's validity period.
fn pin_overrides(error: &rustls::Error) -> bool {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => true,
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => matches!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ),
        _ => false,
    }
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => Ok(verified),
            Err(error) if pin_overrides(&error) && self.is_pinned(end_entity) => {
                let cert = ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&cert, server_name)?;
                tracing::debug!(
                    "SL1's certificate is not valid under webpki ({error}) but is pinned in sl1_ca_file: accepted."
                );
                Ok(ServerCertVerified::assertion())
            }
            Err(error) => Err(error),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

    fn self_signed_ca(names: &[&str], expired: bool) -> CertificateDer<'static> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "sl1 self-signed");
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn verifier(pinned: &[&CertificateDer<'static>]) -> PinningVerifier {
        let pinned = pinned.iter().map(|c| (*c).clone()).collect();
        PinningVerifier::new(pinned, Arc::new(rustls::crypto::ring::default_provider())).unwrap()
    }

    fn verify(
        verifier: &PinningVerifier,
        cert: &CertificateDer<'_>,
        host: &str,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = ServerName::try_from(host).unwrap();
        verifier.verify_server_cert(cert, &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn pinned_ca_true_certificate_is_accepted_for_its_names_only() {
        let own = self_signed_ca(&["127.0.0.1", "sl1.local"], false);
        let verifier = verifier(&[&own]);
        assert!(verify(&verifier, &own, "127.0.0.1").is_ok());
        assert!(verify(&verifier, &own, "sl1.local").is_ok());
        assert!(matches!(
            verify(&verifier, &own, "10.0.0.1"),
            Err(rustls::Error::InvalidCertificate(_))
        ));
    }

    #[test]
    fn a_pin_never_makes_another_certificate_acceptable() {
        let own = self_signed_ca(&["127.0.0.1"], false);
        let other = self_signed_ca(&["127.0.0.1"], false);
        let error = verify(&verifier(&[&other]), &own, "127.0.0.1").unwrap_err();
        // Refused only for being a CA (what a pin overrides), yet not accepted: not pinned.
        assert!(pin_overrides(&error), "{error:?}");
        assert!(
            verify(&verifier(&[&own]), &own, "127.0.0.1").is_ok(),
            "the same certificate, pinned, is accepted"
        );
    }

    #[test]
    fn an_expired_pinned_certificate_is_refused() {
        let own = self_signed_ca(&["127.0.0.1"], true);
        let error = verify(&verifier(&[&own]), &own, "127.0.0.1").unwrap_err();
        assert!(
            matches!(
                error,
                rustls::Error::InvalidCertificate(
                    CertificateError::Expired | CertificateError::ExpiredContext { .. }
                )
            ),
            "{error:?}"
        );
    }

    #[test]
    fn a_pinned_leaf_of_an_unknown_ca_is_accepted() {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "unknown CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "sl1");
        let leaf = leaf_params
            .signed_by(&KeyPair::generate().unwrap(), &ca)
            .unwrap()
            .der()
            .clone();
        let unrelated = self_signed_ca(&["127.0.0.1"], false);
        let error = verify(&verifier(&[&unrelated]), &leaf, "127.0.0.1").unwrap_err();
        assert!(
            matches!(
                error,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
            ),
            "{error:?}"
        );
        assert!(verify(&verifier(&[&leaf]), &leaf, "127.0.0.1").is_ok());
    }
}
