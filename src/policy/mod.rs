//! The SL1 event policy of a source: what `genhook sl1 policy create` and `POST
//! /admin/sl1/policy` create through SL1's GraphQL API, as the Python predecessor did.
//!
//! The request is the predecessor's `eventPolicyCreate` mutation (name `GENHOOK_<source>`,
//! event source 6 "API", severity 0–4), with the policy's patterns fitted to the source's
//! messages ([`pattern`]): a source whose messages start `service|token|` gets the
//! predecessor's `identifierPattern ".*\|.*\|(.*)"` and its token as `regularExpression1`;
//! any other source gets patterns anchored on the fixed beginning of its messages.
//!
//! [`Policy::request`] is the exact GraphQL request body (it never holds credentials, which go
//! in the `Authorization` header only), so a dry run prints what would be sent; [`client`] sends
//! it with `sl1_username`/`sl1_password` and the TLS settings of the SL1 alert client.

pub mod client;
pub mod error;
pub mod pattern;
pub mod request;
pub mod run;

pub use client::PolicyClient;
pub use error::PolicyError;
pub use request::{severity, Policy, EVENT_SOURCE_API, MAX_SEVERITY};
pub use run::{PolicyRequest, Prepared};
