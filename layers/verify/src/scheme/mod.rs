//! The signature and credential schemes, one file each, all behind [`Verifier`](crate::Verifier).
//!
//! | `verify =` | type | what is checked |
//! |---|---|---|
//! | `none` | [`NoVerification`] | nothing |
//! | `token` | [`HeaderSecret::token`] | a shared token in a header (`X-Webhook-Token`) |
//! | `api-key` | [`HeaderSecret::api_key`] | a key in a header (`X-API-Key`) |
//! | `basic` | [`BasicAuth`] | HTTP Basic user and password |
//! | `hmac-sha256` | [`HmacHeader`] | HMAC-SHA256 of the body in a configured header |
//! | `github` | [`github::verifier`] | `X-Hub-Signature-256: sha256=<hex>` (legacy `X-Hub-Signature: sha1=`) |
//! | `jira` | [`jira::verifier`] | `X-Hub-Signature: sha256=<hex>` |
//! | `shopify` | [`shopify::verifier`] | `X-Shopify-Hmac-Sha256: <base64>` |
//! | `stripe` | [`Stripe`] | `Stripe-Signature: t=…,v1=…` over `t.body`, 300 s in the past |
//! | `slack` | [`Slack`] | `X-Slack-Signature: v0=…` over `v0:ts:body`, ±300 s |
//! | `standard-webhooks` | [`StandardWebhooks`] | `webhook-signature: v1,…` over `id.ts.body`, ±300 s |
//! | `meraki` | [`Meraki`] | the `sharedSecret` field of the JSON body |
//! | `azure` | [`Azure`] | a secret in a query parameter or a static header |
//! | `aws-sns` | [`crate::sns::SnsVerifier`] | the SNS message's RSA signature |

pub mod azure;
pub mod basic;
pub mod github;
pub mod header_secret;
pub mod hmac_header;
pub mod jira;
pub mod meraki;
pub mod none;
pub mod shopify;
pub mod slack;
pub mod standard_webhooks;
pub mod stripe;

pub use azure::Azure;
pub use basic::BasicAuth;
pub use header_secret::HeaderSecret;
pub use hmac_header::{Encoding, HmacHeader};
pub use meraki::Meraki;
pub use none::NoVerification;
pub use slack::Slack;
pub use standard_webhooks::StandardWebhooks;
pub use stripe::Stripe;
