#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The SNS SubscriptionConfirmation over a real loopback HTTP server: the SubscribeURL is fetched
//! exactly once when every condition holds, and never otherwise.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use genhook_core::stage::Verified;
use genhook_core::{WebhookRequest, WebhookResponse};
use genhook_identify::{IdentifyLayer, IdentifySettings, Provider, SnsConfirmer};
use http::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};
use tower_test::mock;

/// A loopback HTTP server that records each request line and answers 200.
async fn recording_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0_u8; 1024];
                while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&buffer);
                log.lock()
                    .unwrap()
                    .push(text.lines().next().unwrap_or("").to_owned());
                let body = "<ConfirmSubscriptionResponse/>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (address, seen)
}

fn confirmation(subscribe_url: &str, verified: bool) -> WebhookRequest {
    let body = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37f",
        "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
        "Message": "You have chosen to subscribe.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2012-04-26T20:45:04.751Z",
        "SignatureVersion": "1",
    });
    let mut request = http::Request::post("/webhook/aws")
        .header("x-amz-sns-message-type", "SubscriptionConfirmation")
        .header("content-type", "text/plain; charset=UTF-8")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    if verified {
        request
            .extensions_mut()
            .insert(Verified { scheme: "aws-sns" });
    }
    request
}

fn sns_settings(auto_confirm: bool) -> IdentifySettings {
    let mut settings = IdentifySettings::for_provider(Provider::Aws);
    settings.verifies_sns = true;
    settings.sns_auto_confirm = auto_confirm;
    settings
}

/// Runs one request through the layer over a mock that must never be called.
async fn run(layer: IdentifyLayer, request: WebhookRequest) -> WebhookResponse {
    let (service, mut handle) = mock::pair::<WebhookRequest, WebhookResponse>();
    let mut service = tower::Layer::layer(&layer, service);
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    assert!(
        handle.poll_request().is_pending(),
        "the inner service was called"
    );
    response
}

fn status_of(response: &WebhookResponse) -> Value {
    serde_json::from_slice::<Value>(response.body()).unwrap()["status"].clone()
}

#[tokio::test]
async fn subscribe_url_is_fetched_exactly_once() {
    let (address, seen) = recording_server().await;
    let url = format!("http://{address}/?Action=ConfirmSubscription&Token=2336412f37f");
    let layer = IdentifyLayer::new(sns_settings(true))
        .with_sns_confirmer(SnsConfirmer::allowing_loopback(reqwest::Client::new()));

    let response = run(layer, confirmation(&url, true)).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(status_of(&response), "subscription confirmed");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        ["GET /?Action=ConfirmSubscription&Token=2336412f37f HTTP/1.1"]
    );
}

#[tokio::test]
async fn subscribe_url_is_never_fetched_unless_every_condition_holds() {
    let (address, seen) = recording_server().await;
    let url = format!("http://{address}/?Action=ConfirmSubscription&Token=t");
    let loopback = || SnsConfirmer::allowing_loopback(reqwest::Client::new());
    let cases = [
        // The production host rule refuses a non-SNS host.
        (
            "non-SNS host",
            IdentifyLayer::new(sns_settings(true))
                .with_sns_confirmer(SnsConfirmer::new(reqwest::Client::new())),
            true,
        ),
        (
            "sns_auto_confirm = false",
            IdentifyLayer::new(sns_settings(false)).with_sns_confirmer(loopback()),
            true,
        ),
        (
            "signature not verified",
            IdentifyLayer::new(sns_settings(true)).with_sns_confirmer(loopback()),
            false,
        ),
        (
            "source does not verify with aws-sns",
            IdentifyLayer::new(IdentifySettings::for_provider(Provider::Aws))
                .with_sns_confirmer(loopback()),
            true,
        ),
    ];
    for (why, layer, verified) in cases {
        let response = run(layer, confirmation(&url, verified)).await;
        assert_eq!(response.status(), StatusCode::OK, "{why}");
        assert_eq!(status_of(&response), "confirmation logged", "{why}");
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "fetched: {:?}",
        seen.lock().unwrap()
    );
}
