//! The SNS `SubscriptionConfirmation` fetch: a GET of `SubscribeURL`, only to an SNS host.
//!
//! [`SnsConfirmer`] holds the HTTP client and the host rule. It reaches the stage as a resource
//! (`BuildContext::resource::<SnsConfirmer>()`) that only code can insert: no configuration key
//! can widen the host rule. Tests insert [`SnsConfirmer::allowing_loopback`] to confirm against a
//! server on `127.0.0.1`.

use std::fmt;
use std::time::Duration;

use genhook_core::sns::is_sns_host;
use genhook_core::{json_response, WebhookResponse};
use http::StatusCode;
use serde_json::json;

/// How long the confirmation GET may take (SNS waits 15 s for the whole answer).
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// Confirms SNS subscriptions by fetching their `SubscribeURL`, when the URL passes the host rule.
#[derive(Clone)]
pub struct SnsConfirmer {
    client: reqwest::Client,
    allow_loopback: bool,
}

impl fmt::Debug for SnsConfirmer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnsConfirmer")
            .field("allow_loopback", &self.allow_loopback)
            .finish_non_exhaustive()
    }
}

impl SnsConfirmer {
    /// A confirmer that fetches only `https://sns.<region>.amazonaws.com[.cn]/…` URLs.
    pub fn new(client: reqwest::Client) -> Self {
        Self {
            client,
            allow_loopback: false,
        }
    }

    /// A confirmer that also fetches `http(s)://127.0.0.1`, `[::1]` and `localhost` URLs: for
    /// tests against a loopback server. Only code can choose it, never configuration.
    pub fn allowing_loopback(client: reqwest::Client) -> Self {
        Self {
            client,
            allow_loopback: true,
        }
    }

    /// Whether `url` may be fetched: `https` on an SNS host (or loopback when allowed), with no
    /// user information.
    pub fn permits(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url) else {
            return false;
        };
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        if url.scheme() == "https" && is_sns_host(host) && url.port().is_none() {
            return true;
        }
        self.allow_loopback
            && matches!(url.scheme(), "http" | "https")
            && matches!(host, "127.0.0.1" | "[::1]" | "localhost")
    }

    /// Fetches `subscribe_url` and answers SNS: 200 either way (a failure is logged with the
    /// URL, for the operator to confirm by hand).
    pub(crate) async fn confirm(self, subscribe_url: String, topic_arn: String) -> WebhookResponse {
        let result = self
            .client
            .get(&subscribe_url)
            .timeout(CONFIRM_TIMEOUT)
            .send()
            .await;
        match result {
            Ok(response) if response.status().is_success() => {
                tracing::info!(topic_arn = %topic_arn, "SNS subscription confirmed.");
                json_response(StatusCode::OK, &json!({"status": "subscription confirmed"}))
            }
            Ok(response) => {
                tracing::warn!(
                    topic_arn = %topic_arn,
                    status = response.status().as_u16(),
                    subscribe_url = %subscribe_url,
                    "SNS refused the subscription confirmation; confirm it by opening SubscribeURL."
                );
                json_response(StatusCode::OK, &json!({"status": "confirmation logged"}))
            }
            Err(error) => {
                tracing::warn!(
                    topic_arn = %topic_arn,
                    error = %error,
                    subscribe_url = %subscribe_url,
                    "SNS subscription confirmation failed; confirm it by opening SubscribeURL."
                );
                json_response(StatusCode::OK, &json!({"status": "confirmation logged"}))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sns_host_rule() {
        assert!(is_sns_host("sns.us-east-1.amazonaws.com"));
        assert!(is_sns_host("sns.cn-north-1.amazonaws.com.cn"));
        for bad in [
            "sns.amazonaws.com",
            "sns.us-east-1.amazonaws.com.evil.com",
            "evil.com",
            "sns.us.east.amazonaws.com",
            "xsns.us-east-1.amazonaws.com",
            "sns.ab.amazonaws.com",
        ] {
            assert!(!is_sns_host(bad), "{bad}");
        }
    }

    #[test]
    fn production_permits_only_https_sns_urls() {
        let confirmer = SnsConfirmer::new(reqwest::Client::new());
        assert!(confirmer
            .permits("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=x"));
        for bad in [
            "http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription",
            "https://sns.us-west-2.amazonaws.com:8443/",
            "https://user@sns.us-west-2.amazonaws.com/",
            "https://127.0.0.1/",
            "http://localhost/",
            "not a url",
        ] {
            assert!(!confirmer.permits(bad), "{bad}");
        }
        let test = SnsConfirmer::allowing_loopback(reqwest::Client::new());
        assert!(test.permits("http://127.0.0.1:4567/confirm"));
        assert!(!test.permits("http://10.0.0.1/confirm"));
    }
}
