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
