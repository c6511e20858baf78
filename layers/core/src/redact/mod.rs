//! The one redaction policy: which parts of a webhook are secrets that GenHook never keeps, logs
//! or shows.
//!
//! The edge marks the secret headers sensitive (so no trace ever prints them), and the dispatch
//! stage stores events — and so dead letters, the admin API, `genhook dlq show` and the queue's
//! files — with every secret value replaced by [`REDACTED`]. Both ask this module; nothing else
//! keeps a list of its own.
//!
//! What is a secret:
//!
//! - **headers** named in [`SECRET_HEADERS`] (`Authorization`, `Proxy-Authorization`, `Cookie`,
//!   `Set-Cookie`, every provider signature header: GitHub's and Jira's `X-Hub-Signature(-256)`,
//!   `Stripe-Signature`, `X-Slack-Signature`, Shopify's `X-Shopify-Hmac-Sha256` in both spellings,
//!   Standard Webhooks' and Svix's `webhook-signature`/`svix-signature`, Event Grid's
//!   `aeg-sas-key`/`aeg-sas-token`, and the default headers of `verify = token` and `api-key`);
//! - any header whose name contains a word of [`SECRET_HEADER_WORDS`] (`signature`, `hmac`,
//!   `token`, `secret`, `password`, `api-key`, …), so a provider not listed here is covered too;
//! - the header each source names in its [`SECRET_HEADER_SETTINGS`] (`token_header`,
//!   `api_key_header`, `signature_header`, `azure_header`): see [`RedactionPolicy::for_source`];
//! - body fields named in [`SECRET_BODY_FIELDS`] at any depth of a JSON body (Meraki's
//!   `sharedSecret`, Stripe's `client_secret`), and for `verify = slack` the top-level `token`
//!   (Slack's deprecated verification token; also in slash-command forms and in the JSON of an
//!   interactivity form's `payload` field).
//!
//! AWS SNS's `x-amz-sns-*` headers name the message type, id, topic and subscription: they are
//! not secrets and are kept. SNS signs with a public key; its body's `Signature` is not a secret.
//!
//! A redacted body stays what it was byte for byte except for each secret value, which becomes
//! the JSON string `"<redacted>"` (`%3Credacted%3E` in a form): a dead letter replays to the
//! same message (replays render the stored body again; signatures are not checked again), unless
//! a template printed the secret itself. A body that is not JSON (nor a form) is kept as it is.
//!
//! ```
//! use bytes::Bytes;
//! use genhook_core::redact::{RedactionPolicy, REDACTED};
//! use http::{HeaderMap, HeaderValue};
//!
//! let policy = RedactionPolicy::new().with_header("X-My-Auth");
//! let mut headers = HeaderMap::new();
//! headers.insert("x-my-auth", HeaderValue::from_static("hunter2"));
//! headers.insert("aeg-sas-key", HeaderValue::from_static("k3y"));
//! headers.insert("x-github-event", HeaderValue::from_static("push"));
//! let kept = policy.headers(&headers);
//! assert!(kept.contains(&("x-my-auth".into(), REDACTED.into())));
//! assert!(kept.contains(&("aeg-sas-key".into(), REDACTED.into())));
//! assert!(kept.contains(&("x-github-event".into(), "push".into())));
//!
//! let body = Bytes::from_static(br#"{"alertId": "1", "sharedSecret": "asdf1234"}"#);
//! let stored = policy.body(&headers, &body);
//! assert_eq!(&stored[..], br#"{"alertId": "1", "sharedSecret": "<redacted>"}"#);
//! ```

use std::borrow::Cow;

use crate::setting::Setting;
use bytes::Bytes;
use http::HeaderMap;

mod body;
mod needles;

use needles::Needles;

/// What replaces a secret value.
pub const REDACTED: &str = "<redacted>";

/// Header names (lower-case) that always carry a credential or a signature.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-hub-signature",
    "x-hub-signature-256",
    "stripe-signature",
    "x-slack-signature",
    "x-shopify-hmac-sha256",
    "shopify-hmac-sha256",
    "webhook-signature",
    "svix-signature",
    "aeg-sas-key",
    "aeg-sas-token",
    "x-api-key",
    "x-webhook-token",
];

/// A header whose (lower-case) name contains one of these words is a secret.
pub const SECRET_HEADER_WORDS: &[&str] = &[
    "signature",
    "hmac",
    "token",
    "secret",
    "password",
    "api-key",
    "apikey",
    "sas-key",
];

/// The section keys through which a source names a header that carries its secret (the verify
/// stage's settings).
pub const SECRET_HEADER_SETTINGS: &[&str] = &[
    "token_header",
    "api_key_header",
    "signature_header",
    "azure_header",
];

/// Body fields that are secrets wherever they appear in a JSON body.
pub const SECRET_BODY_FIELDS: &[&str] = &["sharedSecret", "client_secret"];

/// Whether a header is a secret by the built-in rules ([`SECRET_HEADERS`],
/// [`SECRET_HEADER_WORDS`]); case does not matter. A source's own headers are added by
/// [`RedactionPolicy::for_source`].
pub fn is_secret_header(name: &str) -> bool {
    let name = lower(name);
    SECRET_HEADERS.contains(&name.as_ref())
        || match &*HEADER_WORDS {
            Some(words) => words.is_match(name.as_bytes()),
            None => SECRET_HEADER_WORDS.iter().any(|word| name.contains(word)),
        }
}

/// [`SECRET_HEADER_WORDS`] as one DFA, built once: a header name is checked for all of them in
/// one pass (a `str::contains` per word sets up a searcher per word and name, and every request
/// checks every header at least twice). `None` only if building failed, which these few short
/// words cannot make happen: then each word is searched for in turn.
static HEADER_WORDS: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .prefilter(false)
            .build(SECRET_HEADER_WORDS)
            .ok()
    });

/// Marks every secret header (built-in rules) sensitive, so that `Debug` output and tracing
/// never print it: what the edge does to every request.
pub fn mark_sensitive(headers: &mut HeaderMap) {
    for (name, value) in headers.iter_mut() {
        if is_secret_header(name.as_str()) {
            value.set_sensitive(true);
        }
    }
}

fn lower(name: &str) -> Cow<'_, str> {
    // `http::HeaderName`s are already lower-case: only allocate for a caller's mixed-case name.
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// A source's redaction policy: the built-in rules plus the headers and top-level body fields
/// the source's settings make secret. Built once, at load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactionPolicy {
    /// Extra secret headers, lower-case.
    headers: Vec<String>,
    /// Extra secret fields at the top level of a body (JSON or form).
    top_level_fields: Vec<String>,
    /// What a JSON body holding a secret must show: every secret field name, and `\u` (a name
    /// may hide behind an escape), searched for at once. Follows `top_level_fields`.
    needles: Needles,
}

impl RedactionPolicy {
    /// The built-in rules only.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in rules only, built once and shared: for a request no source claimed.
    pub fn default_ref() -> &'static Self {
        static BUILT_IN: std::sync::LazyLock<RedactionPolicy> =
            std::sync::LazyLock::new(RedactionPolicy::new);
        &BUILT_IN
    }

    /// The policy of a source, from its settings (`lookup` returns a setting by key, as
    /// `CompiledSource::setting` does): every header named by a [`SECRET_HEADER_SETTINGS`] key,
    /// and Slack's top-level `token` when `verify = slack`.
    pub fn for_source<'a>(lookup: impl Fn(&str) -> Option<&'a Setting>) -> Self {
        let mut policy = Self::new();
        for key in SECRET_HEADER_SETTINGS {
            if let Some(setting) = lookup(key) {
                policy = policy.with_header(&setting.value);
            }
        }
        if lookup("verify").is_some_and(|s| s.value.trim().eq_ignore_ascii_case("slack")) {
            policy = policy.with_top_level_field("token");
        }
        policy
    }

    /// Also treats the header `name` as a secret.
    #[must_use]
    pub fn with_header(mut self, name: &str) -> Self {
        let name = name.trim().to_ascii_lowercase();
        if !name.is_empty() && !self.headers.contains(&name) {
            self.headers.push(name);
        }
        self
    }

    /// Also treats the field `name` at the top level of a body as a secret.
    #[must_use]
    pub fn with_top_level_field(mut self, name: &str) -> Self {
        if !name.is_empty() && !self.top_level_fields.iter().any(|f| f == name) {
            self.top_level_fields.push(name.to_owned());
            self.needles = Needles::new(&self.top_level_fields);
        }
        self
    }

    /// Whether the header `name` is a secret for this source (case does not matter).
    pub fn is_secret_header(&self, name: &str) -> bool {
        is_secret_header(name) || {
            let name = lower(name);
            self.headers.iter().any(|h| *h == name)
        }
    }

    /// The headers as stored: in order, secret values replaced by [`REDACTED`], other values as
    /// text (bytes that are not UTF-8 replaced).
    pub fn headers(&self, headers: &HeaderMap) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| {
                let value = if self.is_secret_header(name.as_str()) {
                    REDACTED.to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.as_str().to_owned(), value)
            })
            .collect()
    }

    /// The body as stored: each secret field's value replaced, every other byte kept. A body
    /// that is neither JSON nor a form (by `Content-Type`), or holds no secret, is returned as
    /// it is (a cheap clone).
    pub fn body(&self, headers: &HeaderMap, body: &Bytes) -> Bytes {
        let is_form = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| {
                media
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let redacted = match self.json(body) {
            Some(json) => Some(json),
            None if is_form => self.form(body),
            None => None,
        };
        redacted.map_or_else(|| body.clone(), Bytes::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    pub(super) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    /// The body `policy` stores for `body` sent with `content_type`, as text.
    pub(super) fn redact(
        policy: &RedactionPolicy,
        content_type: &'static str,
        body: &str,
    ) -> String {
        let headers = headers(&[("content-type", content_type)]);
        let out = policy.body(&headers, &Bytes::copy_from_slice(body.as_bytes()));
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn provider_secret_headers_are_redacted_and_the_rest_kept() {
        let secrets = [
            ("authorization", "Bearer abc"),
            ("proxy-authorization", "Basic xyz"),
            ("cookie", "s=1"),
            ("set-cookie", "s=1"),
            ("x-hub-signature", "sha1=ff"),
            ("x-hub-signature-256", "sha256=ff"),
            ("stripe-signature", "t=1,v1=ff"),
            ("x-slack-signature", "v0=ff"),
            ("x-shopify-hmac-sha256", "ff=="),
            ("shopify-hmac-sha256", "ff=="),
            ("webhook-signature", "v1,ff"),
            ("svix-signature", "v1,ff"),
            ("aeg-sas-key", "k"),
            ("aeg-sas-token", "r=x&e=1&s=ff"),
            ("x-gitlab-token", "tok"),
            ("x-webhook-secret", "sec"),
            ("x-api-key", "key"),
            ("x-twilio-signature", "ff"),
        ];
        let public = [
            ("x-github-event", "pull_request"),
            ("content-type", "application/json"),
            ("x-amz-sns-message-type", "Notification"),
            ("x-shopify-topic", "orders/create"),
            ("aeg-event-type", "Notification"),
        ];
        let mut all = secrets.to_vec();
        all.extend(public);
        let kept = RedactionPolicy::new().headers(&headers(&all));
        assert_eq!(kept.len(), all.len());
        for (name, value) in &kept {
            let is_public = public.iter().any(|(p, _)| p == name);
            assert_eq!(value == REDACTED, !is_public, "{name}: {value}");
        }
        assert!(kept.contains(&("x-github-event".into(), "pull_request".into())));
    }

    #[test]
    fn a_sources_configured_headers_are_secrets() {
        let span = crate::diagnostic::Span {
            file: std::sync::Arc::from(std::path::Path::new("m.ini")),
            line: 1,
        };
        let setting = |value: &str| Setting {
            value: value.to_owned(),
            span: span.clone(),
        };
        let token = setting("X-Acme-Auth");
        let azure = setting(" X-Eg-Check ");
        let slack = setting("slack");
        let policy = RedactionPolicy::for_source(|key| match key {
            "token_header" => Some(&token),
            "azure_header" => Some(&azure),
            "verify" => Some(&slack),
            _ => None,
        });
        assert!(policy.is_secret_header("x-acme-auth"));
        assert!(policy.is_secret_header("X-Eg-Check"));
        assert!(!RedactionPolicy::new().is_secret_header("x-acme-auth"));
        assert!(!policy.is_secret_header("x-acme-event"));
        assert_eq!(
            redact(
                &policy,
                "application/json",
                r#"{"token":"t0k","type":"event_callback"}"#
            ),
            r#"{"token":"<redacted>","type":"event_callback"}"#
        );
    }

    #[test]
    fn sensitivity_ignores_case() {
        assert!(is_secret_header("X-Hub-Signature-256"));
        assert!(is_secret_header("Authorization"));
        assert!(is_secret_header("AEG-SAS-KEY"));
        assert!(!is_secret_header("X-GitHub-Event"));
    }

    #[test]
    fn the_edge_marks_secret_headers_sensitive() {
        let mut map = headers(&[("aeg-sas-key", "k"), ("x-github-event", "push")]);
        mark_sensitive(&mut map);
        assert!(map["aeg-sas-key"].is_sensitive());
        assert!(!map["x-github-event"].is_sensitive());
        assert_eq!(format!("{:?}", map["aeg-sas-key"]), "Sensitive");
    }
}
