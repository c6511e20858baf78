//! # genhook-verify: the verify stage
//!
//! Lets through only webhooks whose signature (or credential) checks out, before anything
//! parses the body: every scheme works on the raw body bytes, compares in constant time, accepts
//! several secrets at once (rotation), and refuses with a reason that names no secret and no
//! signature value. A refused request never reaches the inner service.
//!
//! - **Requires:** nothing (it is normally the first stage).
//! - **Provides:** [`Capability::VERIFIED`](genhook_core::Capability::VERIFIED): a
//!   [`Verified`](genhook_core::stage::Verified) `{ scheme }` extension on the request; `meraki`
//!   and `aws-sns`, which parse the JSON body, also leave a
//!   [`Payload`](genhook_core::stage::Payload) so `identify` does not parse it again.
//!
//! ## Settings (a source's mapping section)
//!
//! | key | meaning |
//! |---|---|
//! | `verify` | `github` \| `stripe` \| `slack` \| `shopify` \| `jira` \| `meraki` \| `azure` \| `aws-sns` \| `standard-webhooks` \| `hmac-sha256` \| `basic` \| `api-key` \| `token` \| `none` (default `none`) |
//! | `secret` | one or more secrets separated by commas (so a secret cannot contain a comma, and surrounding blanks are trimmed); any of them is accepted. Required by every scheme but `none`, `aws-sns` and `azure` with an Entra ID token check |
//! | `signature_header`, `signature_prefix` (`""`), `signature_encoding` (`hex` \| `base64`, `hex`) | `hmac-sha256` |
//! | `token_header` (`X-Webhook-Token`) | `token` |
//! | `api_key_header` (`X-API-Key`) | `api-key` |
//! | `username` | `basic` (the secrets are the passwords) |
//! | `azure_query_param` (`code`), `azure_header` | `azure`: the secret in that query parameter or header |
//! | `azure_tenant`, `azure_audience` | `azure`: require a Microsoft Entra ID bearer token (RS256) of that tenant (a GUID) for one of these audiences (app id or app-ID URI, comma-separated); both or neither. `secret` is then optional (checked too when set). See [`entra`] |
//! | `azure_app_id` (`4962773b-9cdb-44cf-a8bf-237846a00ab7`, Event Grid), `azure_role` | `azure` with `azure_tenant`: the caller application (`appid` / `azp`) required, and a role required in `roles` |
//! | `tolerance` (`300s`, must be > 0) | `stripe` (past only, as stripe-node and stripe-python), `slack` and `standard-webhooks` (both ways, as python-slack-sdk and the official Standard Webhooks libraries) |
//! | `sns_topic_arn` | `aws-sns`: accept only these topics (comma-separated) |
//!
//! ```ini
//! [github]
//! verify = github
//! secret = ${GENHOOK_GITHUB_SECRET}, ${GENHOOK_GITHUB_SECRET_OLD}
//!
//! [billing]
//! verify = hmac-sha256
//! secret = ${BILLING_SECRET}
//! signature_header = X-Signature
//! signature_prefix = sha256=
//! signature_encoding = base64
//! ```
//!
//! ## Statuses
//!
//! - `401` bad or missing signature or credential, stale or future timestamp, untrusted SNS
//!   certificate URL, unsigned SNS message (raw delivery), missing or refused Entra ID bearer
//!   token; see [`VerifyError`].
//! - `400` the scheme needs a JSON body and it is not one (`meraki`).
//! - `503` with `Retry-After` when an SNS signing certificate or a tenant's Entra signing keys
//!   cannot be fetched.
//!
//! ## Example
//!
//! ```
//! use bytes::Bytes;
//! use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
//! use genhook_verify::{scheme::github, Secrets, VerifyLayer};
//! use http::StatusCode;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), PipelineError> {
//! let secrets = Secrets::parse("It's a Secret to Everybody").expect("one secret");
//! let mut service = ServiceBuilder::new()
//!     .layer(VerifyLayer::new(github::verifier(&secrets)))
//!     .service_fn(|_request: WebhookRequest| async {
//!         Ok::<_, PipelineError>(WebhookResponse::new(Bytes::new()))
//!     });
//!
//! let signed = http::Request::post("/webhook/github")
//!     .header(
//!         "X-Hub-Signature-256",
//!         "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
//!     )
//!     .body(Bytes::from_static(b"Hello, World!"))
//!     .expect("valid request");
//! let response = service.ready().await?.call(signed).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let forged = http::Request::post("/webhook/github")
//!     .header("X-Hub-Signature-256", "sha256=00")
//!     .body(Bytes::from_static(b"Hello, World!"))
//!     .expect("valid request");
//! let refused = service.ready().await?.call(forged).await.unwrap_err();
//! assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```
//!
//! In a per-source stack the factory builds the stage from the mapping and boxes it:
//! [`VerifyFactory`] (`verify` on a `layers =` line). `verify = aws-sns` fetches signing
//! certificates through the [`sns::SnsTrust`] found in the build context's resources (one code
//! inserts, e.g. tests or an embedder through `Builder::resource`), else a production one the
//! factory keeps for every source it builds; `verify = azure` with `azure_tenant` fetches Entra
//! ID signing keys the same way through an [`entra::EntraTrust`].
//!
//! ## Where the rules come from
//!
//! Each scheme follows the provider's published signing rules and, where that leaves a choice, the provider's
//! official library: stripe-python `_webhook.py` (signature first, then only the past is
//! refused), python-slack-sdk (`abs()` on the timestamp), the Standard Webhooks libraries
//! (±tolerance, `v1` entries only, `svix-*` names), aws-php-sns-message-validator (host pattern,
//! `https`, `.pem`, SHA-1 for version 1 and SHA-256 for version 2), Microsoft's "Deliver events
//! to Microsoft Entra protected endpoints" and access-token claims reference (issuers, `appid` /
//! `azp`, `roles`; RS256 checked with the `jsonwebtoken` crate). Every vector of
//! `tests/fixtures/signature_vectors.json` passes (`tests/vectors.rs`).

pub mod clock;
pub mod entra;
mod error;
pub mod factory;
pub mod future;
mod keys;
mod layer;
pub mod scheme;
mod service;
pub mod sns;
mod verifier;

pub use clock::{Clock, FixedClock, SharedClock, SystemClock, Tolerance};
pub use error::VerifyError;
pub use factory::VerifyFactory;
pub use keys::{HmacKeys, Secrets};
pub use layer::VerifyLayer;
pub use service::Verify;
pub use verifier::{Check, PendingCheck, Verifier};
