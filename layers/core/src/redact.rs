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

use bytes::Bytes;
use genhook_mapping::Setting;
use http::HeaderMap;

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
        || SECRET_HEADER_WORDS.iter().any(|word| name.contains(word))
}

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
}

impl RedactionPolicy {
    /// The built-in rules only.
    pub fn new() -> Self {
        Self::default()
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

    /// A JSON document with its secret values replaced; `None` when it is not JSON or holds no
    /// secret.
    fn json(&self, body: &[u8]) -> Option<Vec<u8>> {
        let start = if body.starts_with("\u{feff}".as_bytes()) {
            3
        } else {
            0
        };
        let text = body.get(start..)?;
        if !matches!(text.trim_ascii_start().first(), Some(b'{' | b'[')) {
            return None;
        }
        // Most bodies name no secret field: skip them without parsing. A key can only hide a
        // field's name behind a `\u` escape, so a body without one must show the name itself.
        let contains = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
        let may_hold_secret = contains(b"\\u")
            || SECRET_BODY_FIELDS.iter().any(|f| contains(f.as_bytes()))
            || self.top_level_fields.iter().any(|f| contains(f.as_bytes()));
        if !may_hold_secret {
            return None;
        }
        // The scanner below trusts its input to be JSON: check that first.
        serde_json::from_slice::<serde::de::IgnoredAny>(text).ok()?;
        let spans = self.secret_spans(text);
        if spans.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(body.len());
        out.extend_from_slice(body.get(..start)?);
        let mut at = 0;
        for (from, to) in spans {
            out.extend_from_slice(text.get(at..from)?);
            out.push(b'"');
            out.extend_from_slice(REDACTED.as_bytes());
            out.push(b'"');
            at = to;
        }
        out.extend_from_slice(text.get(at..)?);
        Some(out)
    }

    /// A form body with its secret fields' values replaced, and the JSON of a `payload` field
    /// redacted; `None` when nothing changed.
    fn form(&self, body: &[u8]) -> Option<Vec<u8>> {
        let mut changed = false;
        let mut out = Vec::with_capacity(body.len());
        for (index, pair) in body.split(|b| *b == b'&').enumerate() {
            if index > 0 {
                out.push(b'&');
            }
            let raw_name = pair.split(|b| *b == b'=').next().unwrap_or_default();
            let Some((name, value)) = form_urlencoded::parse(pair).next() else {
                out.extend_from_slice(pair);
                continue;
            };
            let replacement = if self.is_secret_field(&name, true) {
                Some(form_urlencoded::byte_serialize(REDACTED.as_bytes()).collect::<String>())
            } else if name == "payload" {
                self.json(value.as_bytes())
                    .map(|json| form_urlencoded::byte_serialize(&json).collect::<String>())
            } else {
                None
            };
            match replacement {
                Some(value) => {
                    changed = true;
                    out.extend_from_slice(raw_name);
                    out.push(b'=');
                    out.extend_from_slice(value.as_bytes());
                }
                None => out.extend_from_slice(pair),
            }
        }
        changed.then_some(out)
    }

    fn is_secret_field(&self, name: &str, top_level: bool) -> bool {
        SECRET_BODY_FIELDS.contains(&name)
            || (top_level && self.top_level_fields.iter().any(|f| f == name))
    }

    /// The byte ranges of the values of secret fields in a valid JSON document, in order.
    /// One linear pass; a secret value is skipped whole (whatever it holds).
    fn secret_spans(&self, json: &[u8]) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        // The open containers: `{` or `[`.
        let mut stack: Vec<u8> = Vec::new();
        let mut expect_key = false;
        let mut at = 0;
        while let Some(&byte) = json.get(at) {
            match byte {
                b'{' => {
                    stack.push(b'{');
                    expect_key = true;
                    at += 1;
                }
                b'[' => {
                    stack.push(b'[');
                    expect_key = false;
                    at += 1;
                }
                b'}' | b']' => {
                    stack.pop();
                    expect_key = false;
                    at += 1;
                }
                b',' => {
                    expect_key = stack.last() == Some(&b'{');
                    at += 1;
                }
                b'"' => {
                    let end = string_end(json, at);
                    if expect_key {
                        expect_key = false;
                        let raw = json.get(at..end).unwrap_or_default();
                        let name: Cow<'_, str> = if raw.contains(&b'\\') {
                            serde_json::from_slice::<String>(raw)
                                .map(Cow::Owned)
                                .unwrap_or_default()
                        } else {
                            String::from_utf8_lossy(
                                raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default(),
                            )
                        };
                        if self.is_secret_field(&name, stack.len() == 1) {
                            let colon = skip_whitespace(json, end);
                            let value = skip_whitespace(json, colon + 1);
                            let value_end = value_end(json, value);
                            spans.push((value, value_end));
                            at = value_end;
                            continue;
                        }
                    }
                    at = end;
                }
                _ => at += 1,
            }
        }
        spans
    }
}

/// The index just after the string starting at `start` (a `"`).
fn string_end(json: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    while let Some(&byte) = json.get(at) {
        match byte {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    json.len()
}

fn skip_whitespace(json: &[u8], mut at: usize) -> usize {
    while json.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The index just after the JSON value starting at `start`.
fn value_end(json: &[u8], start: usize) -> usize {
    match json.get(start) {
        Some(b'"') => string_end(json, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut at = start;
            while let Some(&byte) = json.get(at) {
                match byte {
                    b'"' => {
                        at = string_end(json, at);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return at + 1;
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            json.len()
        }
        _ => {
            let mut at = start;
            while json
                .get(at)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                at += 1;
            }
            at
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn redact(policy: &RedactionPolicy, content_type: &'static str, body: &str) -> String {
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
        let span = genhook_mapping::Span {
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

    #[test]
    fn json_secrets_are_replaced_and_every_other_byte_kept() {
        let policy = RedactionPolicy::new();
        let body = "{\n  \"version\": \"0.1\",\n  \"sharedSecret\" : \"asdf1234\",\n  \"alertData\": {\"x\": [1, {\"sharedSecret\": {\"deep\": \"s\\\"}\"}}]},\n  \"client_secret\": null\n}";
        let expected = "{\n  \"version\": \"0.1\",\n  \"sharedSecret\" : \"<redacted>\",\n  \"alertData\": {\"x\": [1, {\"sharedSecret\": \"<redacted>\"}]},\n  \"client_secret\": \"<redacted>\"\n}";
        assert_eq!(redact(&policy, "application/json", body), expected);
        // Still JSON, the same document apart from the secrets.
        let before: serde_json::Value = serde_json::from_str(body).unwrap();
        let after: serde_json::Value = serde_json::from_str(expected).unwrap();
        assert_eq!(before["alertData"]["x"][0], after["alertData"]["x"][0]);
        assert_eq!(before["version"], after["version"]);
    }

    #[test]
    fn escaped_keys_do_not_hide_a_secret() {
        let body = r#"{"shared\u0053ecret":"asdf1234","a":"sharedSecret"}"#;
        assert_eq!(
            redact(&RedactionPolicy::new(), "text/plain", body),
            r#"{"shared\u0053ecret":"<redacted>","a":"sharedSecret"}"#
        );
    }

    #[test]
    fn values_that_look_like_keys_and_nested_top_level_names_are_kept() {
        let policy = RedactionPolicy::new().with_top_level_field("token");
        // Only the top-level `token` is Slack's; a nested one (Shopify's checkout token) is data.
        let body = r#"[{"token":"x"}]"#;
        assert_eq!(redact(&policy, "application/json", body), body);
        let body = r#"{"order":{"token":"x"},"note":"token","token":"s"}"#;
        assert_eq!(
            redact(&policy, "application/json", body),
            r#"{"order":{"token":"x"},"note":"token","token":"<redacted>"}"#
        );
    }

    #[test]
    fn bodies_without_secrets_or_not_json_are_kept_as_they_are() {
        let policy = RedactionPolicy::new();
        for body in [
            "",
            "not json sharedSecret",
            r#"{"sharedSecret": "unterminated"#,
            r#""sharedSecret""#,
            r#"{"a": 1}"#,
            "\u{feff}{\"a\": 1}",
        ] {
            assert_eq!(redact(&policy, "application/json", body), body);
        }
        assert_eq!(
            redact(&policy, "application/json", "\u{feff}{\"sharedSecret\": 1}"),
            "\u{feff}{\"sharedSecret\": \"<redacted>\"}"
        );
    }

    #[test]
    fn form_fields_and_a_forms_json_payload_are_redacted() {
        let policy = RedactionPolicy::new().with_top_level_field("token");
        let form = "application/x-www-form-urlencoded";
        assert_eq!(
            redact(
                &policy,
                form,
                "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&text=a+b%21"
            ),
            "token=%3Credacted%3E&team_id=T0001&text=a+b%21"
        );
        let payload = r#"{"type":"block_actions","token":"t0k","user":{"id":"U1"}}"#;
        let body = format!(
            "payload={}",
            form_urlencoded::byte_serialize(payload.as_bytes()).collect::<String>()
        );
        let out = redact(&policy, form, &body);
        let decoded: String = form_urlencoded::parse(out.as_bytes())
            .find(|(k, _)| k == "payload")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        assert_eq!(
            decoded,
            r#"{"type":"block_actions","token":"<redacted>","user":{"id":"U1"}}"#
        );
        assert_eq!(redact(&policy, form, "a=1&b=2"), "a=1&b=2");
    }
}
