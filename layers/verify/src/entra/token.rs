//! The token as it arrives: the bearer token of `Authorization` with its header read ([`Token`],
//! `RS256` and a `kid` or refused), the typed [`Claims`] read once the signature, `iss` and `aud`
//! checked, and the public reason of a refusal by the JWT library (never the token).

use genhook_core::WebhookRequest;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::VerifyError;

/// The claims read after the library checked signature, `iss` and `aud`. Typed so that a claim
/// of the wrong JSON type refuses the token instead of being skipped.
#[derive(Deserialize)]
pub(super) struct Claims {
    pub(super) iss: String,
    pub(super) exp: f64,
    #[serde(default)]
    pub(super) nbf: Option<f64>,
    #[serde(default)]
    pub(super) appid: Option<String>,
    #[serde(default)]
    pub(super) azp: Option<String>,
    #[serde(default)]
    pub(super) roles: Vec<String>,
}

/// A bearer token whose header was read (not yet verified).
pub(super) struct Token {
    pub(super) jwt: String,
    pub(super) kid: String,
}

impl Token {
    /// Reads the bearer token of `Authorization` and its header.
    pub(super) fn read(request: &WebhookRequest) -> Result<Self, VerifyError> {
        let value = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| VerifyError::missing_header("Authorization"))?;
        let value = value
            .to_str()
            .map_err(|_| VerifyError::malformed_header("Authorization"))?;
        let (scheme, jwt) = value.trim().split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(VerifyError::BadToken("not a Bearer token"));
        }
        let jwt = jwt.trim();
        if jwt.is_empty() {
            return Err(VerifyError::malformed_header("Authorization"));
        }
        let header =
            jsonwebtoken::decode_header(jwt).map_err(|_| VerifyError::BadToken("malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(VerifyError::BadToken("algorithm is not RS256"));
        }
        let kid = header.kid.ok_or(VerifyError::BadToken("no key id"))?;
        Ok(Self {
            jwt: jwt.to_owned(),
            kid,
        })
    }
}

/// The public reason of a refusal by the library (names the check, never the token).
pub(super) fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSignature => "signature does not match",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => "algorithm is not RS256",
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        ErrorKind::Json(_) => "malformed claims",
        _ => "invalid",
    }
}
