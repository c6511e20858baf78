//! `verify = aws-sns`: the RSA signature of an AWS SNS message.
//!
//! What is checked, following AWS's "Verifying the signatures of Amazon SNS messages" and the
//! official validators (aws-js-sns-message-validator, aws-php-sns-message-validator):
//!
//! 1. The body is an SNS JSON envelope with a `Signature`; raw message delivery (no envelope, no
//!    signature) cannot be authenticated and is refused with 401.
//! 2. `SignatureVersion` is `1` (RSA PKCS#1 v1.5 with SHA-1) or `2` (with SHA-256).
//! 3. `SigningCertURL` is `https`, ends in `.pem`, has no port or user info, and its host
//!    matches `^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$` ([`is_sns_host`]).
//! 4. The canonical string (`Key\nvalue\n` for `Message, MessageId, Subject` (if present)`,
//!    Timestamp, TopicArn, Type` of a `Notification`; `Message, MessageId, SubscribeURL,
//!    Timestamp, Token, TopicArn, Type` of a `SubscriptionConfirmation` or
//!    `UnsubscribeConfirmation`) verifies with the certificate's RSA key.
//! 5. Optionally (`sns_topic_arn =`), the `TopicArn` is one of the expected ones.
//!
//! The certificate is fetched over HTTPS with normal CA validation, only from such a URL, and
//! cached by URL in the [`SnsTrust`] (shared by every source built with it, kept across reloads
//! when the same `SnsTrust` is reused). A cache hit verifies inline; a miss makes the
//! [`Verify`](crate::Verify) future await the fetch, with no lock held across the await.
//! Concurrent misses on the same URL each fetch (no single-flight: SNS uses a handful of
//! certificates, so a cold cache is rare). A URL whose fetch failed is not fetched again for a
//! minute (answered 503 at once), so forged messages cannot drive outbound requests.
//!
//! Tests need to serve a generated certificate from a loopback HTTPS server: [`SnsTrustBuilder`]
//! can trust an extra root and relax the host rule, but only from code. A mapping file cannot
//! reach it: the verify factory takes an `SnsTrust` only from the
//! [`BuildContext`](genhook_core::BuildContext)'s resources, which code inserts.
//!
//! | module | holds |
//! |---|---|
//! | `message.rs` | [`SnsMessage`]: the envelope parsed, its canonical string by message type |
//! | `trust.rs` | [`SnsTrust`]: which certificate URLs are trusted, the fetch and its cache; [`CertificateKey`] |
//! | `verifier.rs` | [`SnsVerifier`]: the `aws-sns` scheme, message and trust put together |

mod message;
mod trust;
mod verifier;

/// The SNS host rule, defined in core (the identify stage applies it to `SubscribeURL`).
pub use genhook_core::sns::is_sns_host;
pub use message::{parse_message, SignatureVersion, SnsMessage, SnsMessageType};
pub use trust::{CertificateKey, SnsTrust, SnsTrustBuilder, SnsTrustError};
pub use verifier::SnsVerifier;
