//! Provider handshakes, answered by the identify stage and never forwarded: Slack
//! `url_verification` and `ssl_check`, Event Grid `SubscriptionValidationEvent`, SNS
//! `SubscriptionConfirmation` / `UnsubscribeConfirmation`, GitHub `ping`.

use http::HeaderMap;
use serde_json::Value;

use crate::provider::{header, Provider};

/// A handshake found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Handshake {
    /// Slack `url_verification`: echo the challenge.
    SlackChallenge(String),
    /// Slack `ssl_check=1`: answer 200.
    SlackSslCheck,
    /// Event Grid subscription validation: answer the validation code.
    EventGridValidation(String),
    /// SNS subscription confirmation.
    SnsSubscribe {
        subscribe_url: Option<String>,
        topic_arn: String,
    },
    /// SNS unsubscribe confirmation: acknowledge and log.
    SnsUnsubscribe { topic_arn: String },
    /// GitHub `ping`: answer `pong`.
    GithubPing,
}

fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

/// The handshake a request carries, if any. `provider` is what the source's settings or
/// detection say; `None` (unknown) considers every provider's handshake.
pub(crate) fn find(
    provider: Option<Provider>,
    headers: &HeaderMap,
    payload: &Value,
) -> Option<Handshake> {
    let maybe = |p: Provider| provider.is_none_or(|q| q == p);
    if maybe(Provider::Github) && header(headers, "x-github-event") == Some("ping") {
        return Some(Handshake::GithubPing);
    }
    if maybe(Provider::Slack) {
        if text(payload, "type") == Some("url_verification") {
            if let Some(challenge) = text(payload, "challenge") {
                return Some(Handshake::SlackChallenge(challenge.to_owned()));
            }
        }
        if text(payload, "ssl_check") == Some("1") {
            return Some(Handshake::SlackSslCheck);
        }
    }
    if maybe(Provider::Azure) {
        let validation = payload.as_array().and_then(|events| {
            events.iter().find(|e| {
                text(e, "eventType") == Some("Microsoft.EventGrid.SubscriptionValidationEvent")
            })
        });
        if let Some(code) = validation
            .and_then(|e| e.get("data"))
            .and_then(|d| text(d, "validationCode"))
        {
            return Some(Handshake::EventGridValidation(code.to_owned()));
        }
    }
    if maybe(Provider::Aws) && payload.get("MessageId").is_some() {
        let topic_arn = text(payload, "TopicArn").unwrap_or("").to_owned();
        match text(payload, "Type") {
            Some("SubscriptionConfirmation") => {
                return Some(Handshake::SnsSubscribe {
                    subscribe_url: text(payload, "SubscribeURL").map(str::to_owned),
                    topic_arn,
                })
            }
            Some("UnsubscribeConfirmation") => {
                return Some(Handshake::SnsUnsubscribe { topic_arn })
            }
            _ => {}
        }
    }
    None
}

/// The answer to a Slack `ssl_check=1` request, or `None` when `request` is not one.
///
/// Slack's own Bolt frameworks answer `ssl_check` *before* verifying the signature (bolt-python
/// `App._init_middleware_list` puts `SslCheck` ahead of `RequestVerification`): such a request may
/// come unsigned. The identify stage answers it after `verify`; an edge or a `verify` stage that
/// must not refuse it can call this first. It reveals nothing and forwards nothing.
pub fn slack_ssl_check_response<B: AsRef<[u8]>>(
    request: &http::Request<B>,
) -> Option<genhook_core::WebhookResponse> {
    let is_form = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form || request.method() != http::Method::POST {
        return None;
    }
    let is_check = request
        .body()
        .as_ref()
        .split(|b| *b == b'&')
        .any(|pair| pair == b"ssl_check=1");
    is_check.then(|| {
        genhook_core::json_response(http::StatusCode::OK, &serde_json::json!({"status": "ok"}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &'static str) -> http::Request<&'static [u8]> {
        http::Request::post("/webhook/slack")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.as_bytes())
            .unwrap()
    }

    #[test]
    fn ssl_check_is_answered_before_verification() {
        let response = slack_ssl_check_response(&form("token=abc&ssl_check=1")).unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        assert!(slack_ssl_check_response(&form("ssl_check=0&token=abc")).is_none());
        assert!(slack_ssl_check_response(&form("command=%2Fx&text=ssl_check=1")).is_none());
        let json = http::Request::post("/").body(&b"ssl_check=1"[..]).unwrap();
        assert!(slack_ssl_check_response(&json).is_none());
    }

    #[test]
    fn handshakes_are_only_those_of_the_provider() {
        let challenge = serde_json::json!({"type": "url_verification", "challenge": "c"});
        let headers = HeaderMap::new();
        assert_eq!(
            find(None, &headers, &challenge),
            Some(Handshake::SlackChallenge("c".into()))
        );
        assert_eq!(
            find(Some(Provider::Slack), &headers, &challenge),
            Some(Handshake::SlackChallenge("c".into()))
        );
        assert_eq!(find(Some(Provider::Github), &headers, &challenge), None);
    }
}
