//! [`Identify`]: the identify stage's service. It decides in `call`: parse the body (or reuse an
//! earlier stage's [`Payload`]), answer a handshake itself, or insert [`Payload`] (or
//! [`JsonBody`], and then possibly [`Fields`]), [`EventType`] and [`DeliveryId`] and call the inner
//! service.

use std::sync::Arc;
use std::task::{Context, Poll};

use genhook_core::stage::{
    DeliveryId, EventType, JsonBody, Offline, Payload, SourceName, Verified,
};
use genhook_core::{json_response, PipelineError, WebhookRequest, WebhookResponse};
use genhook_mapping::{CompiledLine, Fields};
use http::StatusCode;
use serde_json::json;
use tower::Service;

use crate::batch;
use crate::body::{read_body, Depth, Read};
use crate::error::IdentifyError;
use crate::future::ResponseFuture;
use crate::handshake::{self, Handshake};
use crate::ident::{identifies_by_headers, identify_with, provider_for};
use crate::metrics::record_received;
use crate::provider::{header, Provider};
use crate::selector::Selector;
use crate::settings::IdentifySettings;
use crate::sns::SnsConfirmer;

/// The identify stage wrapped around an inner service `S`.
#[derive(Debug, Clone)]
pub struct Identify<S> {
    inner: S,
    settings: Arc<IdentifySettings>,
    confirmer: Option<SnsConfirmer>,
    /// `None`: the whole body is parsed and left as a [`Payload`]. `Some`: a JSON object is read
    /// only as far as identification needs (these top-level members whole, see
    /// [`crate::shallow`]) and left as a [`JsonBody`]; when the event type comes from a header
    /// ([`identifies_by_headers`]), checked in the pass that extracts its mapping line's fields,
    /// left as [`Fields`] too.
    lazy: Option<Arc<[String]>>,
}

// === impl Identify ===

impl<S> Identify<S> {
    /// Wraps `inner` with these settings (no SNS confirmer: SubscribeURLs are only logged).
    pub fn new(inner: S, settings: IdentifySettings) -> Self {
        Self::from_parts(inner, Arc::new(settings), None, None)
    }

    pub(crate) fn from_parts(
        inner: S,
        settings: Arc<IdentifySettings>,
        confirmer: Option<SnsConfirmer>,
        lazy: Option<Arc<[String]>>,
    ) -> Self {
        Self {
            inner,
            settings,
            confirmer,
            lazy,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consumed.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The mapping line of a webhook whose event type its headers name, when the body is read
    /// lazily: its fields are then extracted in the pass that checks the body, and `extract`
    /// finds them done. `None` otherwise (the event type is in the body, or no line maps it).
    fn line_from_headers(&self, headers: &http::HeaderMap) -> Option<Arc<CompiledLine>> {
        let mapping = self.settings.mapping.as_ref()?;
        if self.lazy.is_none() || !identifies_by_headers(&self.settings) {
            return None;
        }
        // The payload is not read for these settings (`identifies_by_headers`).
        let (event, _) = identify_with(
            &self.settings,
            self.settings.provider,
            headers,
            &serde_json::Value::Null,
        );
        mapping
            .select(event.as_deref().unwrap_or_default())
            .cloned()
    }

    fn answer<F>(&self, handshake: Handshake, request: &WebhookRequest) -> ResponseFuture<F> {
        let source = request
            .extensions()
            .get::<SourceName>()
            .map_or("", SourceName::as_str);
        let ok = |body: serde_json::Value| {
            ResponseFuture::answered(json_response(StatusCode::OK, &body))
        };
        match handshake {
            Handshake::GithubPing => {
                tracing::info!(source, "GitHub ping answered.");
                ok(json!({"status": "pong"}))
            }
            Handshake::SlackChallenge(challenge) => {
                tracing::info!(source, "Slack url_verification answered.");
                ok(json!({"challenge": challenge}))
            }
            Handshake::SlackSslCheck => {
                tracing::debug!(source, "Slack ssl_check answered.");
                ok(json!({"status": "ok"}))
            }
            Handshake::EventGridValidation(code) => {
                tracing::info!(source, "Event Grid subscription validation answered.");
                ok(json!({"validationResponse": code}))
            }
            Handshake::SnsUnsubscribe { topic_arn } => {
                tracing::info!(source, topic_arn = %topic_arn, "SNS unsubscribe confirmation received.");
                ok(json!({"status": "ok"}))
            }
            Handshake::SnsSubscribe {
                subscribe_url,
                topic_arn,
            } => self.sns_subscribe(source, subscribe_url, topic_arn, request),
        }
    }

    fn sns_subscribe<F>(
        &self,
        source: &str,
        subscribe_url: Option<String>,
        topic_arn: String,
        request: &WebhookRequest,
    ) -> ResponseFuture<F> {
        let Some(url) = subscribe_url else {
            tracing::warn!(source, topic_arn = %topic_arn, "SNS subscription confirmation has no SubscribeURL.");
            return ResponseFuture::answered(json_response(
                StatusCode::OK,
                &json!({"status": "confirmation logged"}),
            ));
        };
        let why_not = if !self.settings.verifies_sns {
            Some("the source does not verify with aws-sns")
        } else if request.extensions().get::<Verified>().is_none() {
            Some("the signature was not verified before identify")
        } else if !self.settings.sns_auto_confirm {
            Some("sns_auto_confirm is false")
        } else {
            match &self.confirmer {
                None => Some("no HTTP client for confirmations"),
                Some(confirmer) if !confirmer.permits(&url) => {
                    Some("SubscribeURL is not on an SNS host")
                }
                Some(_) => None,
            }
        };
        match (why_not, &self.confirmer) {
            (None, Some(confirmer)) => {
                ResponseFuture::confirming(Box::pin(confirmer.clone().confirm(url, topic_arn)))
            }
            (reason, _) => {
                let reason = reason.unwrap_or("not confirmed");
                tracing::warn!(
                    source,
                    topic_arn = %topic_arn,
                    reason,
                    subscribe_url = %url,
                    "SNS subscription not confirmed automatically; confirm it by opening SubscribeURL."
                );
                ResponseFuture::answered(json_response(
                    StatusCode::OK,
                    &json!({"status": "confirmation logged"}),
                ))
            }
        }
    }
}

impl<S> Service<WebhookRequest> for Identify<S>
where
    S: Service<WebhookRequest, Response = WebhookResponse> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<PipelineError>,
{
    type Response = WebhookResponse;
    type Error = PipelineError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: WebhookRequest) -> Self::Future {
        // `json`: the text of a body read lazily, left for the later stages instead of a Payload;
        // `fields`: its mapping line's fields when they were extracted in the same pass.
        let (payload, json, fields) = match request.extensions().get::<Payload>() {
            Some(payload) => (Arc::clone(&payload.0), None, None),
            None => {
                let line = self.line_from_headers(request.headers());
                let depth = match (&line, self.lazy.as_deref()) {
                    // A JSONPath field reads the whole payload.
                    (Some(line), Some(_)) if !line.has_json_paths() => Depth::Fields(line.fields()),
                    (Some(_), Some(_)) => Depth::Full,
                    (None, Some(wanted)) => Depth::Shallow(wanted),
                    (_, None) => Depth::Full,
                };
                match read_body(request.headers(), request.body(), depth) {
                    Ok(Read::Parsed(value)) => (Arc::new(value), None, None),
                    Ok(Read::Object { view, json }) => (Arc::new(view), Some(json), None),
                    // Nothing reads the payload for these settings: an empty view stands for it.
                    Ok(Read::Extracted { fields, json }) => {
                        let view = serde_json::Value::Object(serde_json::Map::new());
                        let fields = line.map(|line| Fields {
                            line,
                            value: Arc::new(fields),
                        });
                        (Arc::new(view), Some(json), fields)
                    }
                    Err(error) => {
                        tracing::debug!(error = %error, "Body refused.");
                        return ResponseFuture::rejected(error);
                    }
                }
            }
        };
        let headers = request.headers();
        let provider = provider_for(&self.settings, headers, &payload);
        // Offline (`genhook render`), a handshake renders like any event and is not answered.
        let offline = request.extensions().get::<Offline>().is_some();
        if let Some(handshake) = handshake::find(provider, headers, &payload).filter(|_| !offline) {
            return self.answer(handshake, &request);
        }
        if let Some(retry_num) = header(headers, "x-slack-retry-num") {
            tracing::info!(
                retry_num,
                reason = header(headers, "x-slack-retry-reason").unwrap_or(""),
                "Slack retry received; de-duplication by event_id handles it."
            );
        }
        if let Some(events) = batch::events(provider, &payload) {
            let inner = self.inner.clone();
            let requests = batch::split(
                &request,
                events,
                self.settings.mapping.as_deref(),
                |element| identify_with(&self.settings, provider, headers, element),
            );
            return ResponseFuture::batch(Box::pin(batch::run(inner, requests)));
        }
        if payload.is_array() {
            // Not a batch ([1, 2], [], a list of strings): nothing a mapping could address.
            return ResponseFuture::rejected(IdentifyError::NotABatch);
        }
        let (event, delivery_id) = identify_with(&self.settings, provider, headers, &payload);
        let event = event.unwrap_or_default();
        record_received(&mut request, &event, self.settings.mapping.as_deref());
        let extensions = request.extensions_mut();
        match json {
            // `payload` is identify's own partial view then: never handed on.
            Some(json) => {
                extensions.insert(JsonBody(json));
                if let Some(fields) = fields {
                    extensions.insert(fields);
                }
            }
            None => {
                extensions.insert(Payload(payload));
            }
        }
        extensions.insert(EventType::new(event));
        if let Some(id) = delivery_id {
            extensions.insert(DeliveryId::new(id));
        }
        ResponseFuture::called(self.inner.call(request))
    }
}

/// The top-level members identification looks into, beyond names and scalars (see
/// [`crate::shallow`]): the first name of each field-path selector, and `event` when the source
/// may be Slack (`event.type` of an `event_callback`).
pub(crate) fn looked_into(settings: &IdentifySettings) -> Arc<[String]> {
    let mut names: Vec<String> = [&settings.event, &settings.delivery_id]
        .into_iter()
        .flatten()
        .filter_map(|selector| match selector {
            Selector::Field(path) => Some(path.first().to_owned()),
            Selector::Header(_) => None,
        })
        .collect();
    if settings.provider.is_none_or(|p| p == Provider::Slack) {
        names.push("event".to_owned());
    }
    names.into()
}
