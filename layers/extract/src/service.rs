//! [`Extract`]: the extract middleware. It decides in `call`; an unmapped event never reaches the
//! inner service. When `identify` already left the chosen line's [`Fields`] (it extracts them in
//! the pass that checks the body when the event type comes from a header), they are kept.

use std::sync::Arc;
use std::task::{Context, Poll};

use genhook_core::stage::{EventType, Ignored, JsonBody, Payload, SourceName};
use genhook_core::{
    json_response, metrics, require, PipelineError, WebhookRequest, WebhookResponse,
};
use genhook_mapping::{CompiledLine, CompiledSource, Fields};
use http::StatusCode;
use tower::Service;

use crate::error::ExtractError;
use crate::future::ResponseFuture;
use crate::ExtractLayer;
use genhook_mapping::Unmapped;

/// The `reason` label of `genhook_webhooks_rejected_total` for a payload holding none of its
/// line's fields.
pub const NO_MAPPED_FIELD: &str = "no_mapped_field";

/// Middleware that inserts [`Fields`] (the chosen mapping line and what it extracted) for the
/// stages after it, or answers an unmapped event itself.
#[derive(Debug, Clone)]
pub struct Extract<S> {
    inner: S,
    source: Arc<CompiledSource>,
    unmapped: Unmapped,
}

// === impl Extract ===

impl<S> Extract<S> {
    pub(crate) fn from_parts(inner: S, source: Arc<CompiledSource>, unmapped: Unmapped) -> Self {
        Self {
            inner,
            source,
            unmapped,
        }
    }

    /// Wraps `inner` with the configuration of `layer`.
    pub fn new(inner: S, layer: &ExtractLayer) -> Self {
        tower::Layer::layer(layer, inner)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the middleware, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The answer for an event whose line finds none of its fields in the payload: `200`
    /// (the provider must not retry it), counted and logged as a rejection.
    fn ignored(
        &self,
        request: &WebhookRequest,
        event: &EventType,
        line: &CompiledLine,
    ) -> WebhookResponse {
        let source = match request.extensions().get::<SourceName>() {
            Some(name) => name.as_str(),
            None => self.source.name(),
        };
        tracing::info!(
            source,
            event = event.as_str(),
            line = %line.span(),
            "Webhook ignored: none of its mapping line's fields is present."
        );
        ::metrics::counter!(
            metrics::WEBHOOKS_REJECTED,
            "source" => source.to_owned(),
            "reason" => NO_MAPPED_FIELD
        )
        .increment(1);
        let mut answer = json_response(
            StatusCode::OK,
            &serde_json::json!({ "status": "ignored", "reason": "no mapped field present" }),
        );
        answer.extensions_mut().insert(Ignored(NO_MAPPED_FIELD));
        answer
    }

    /// The answer for an event without a mapping line.
    fn unmapped(&self, source: &str, event: &str) -> Result<WebhookResponse, PipelineError> {
        match self.unmapped {
            Unmapped::Ignore => {
                tracing::debug!(source, event, "Webhook ignored: no mapping for its event.");
                ::metrics::counter!(
                    metrics::WEBHOOKS_ACCEPTED,
                    "source" => source.to_owned(),
                    // No line names the event: the bounded label, never the payload's value.
                    "event" => metrics::OTHER,
                    "status" => "ignored"
                )
                .increment(1);
                let mut answer = json_response(
                    StatusCode::ACCEPTED,
                    &serde_json::json!({ "source": source, "event": event, "status": "ignored" }),
                );
                answer.extensions_mut().insert(Ignored("ignored"));
                Ok(answer)
            }
            Unmapped::Reject => Err(ExtractError::NoMapping {
                event: event.to_owned(),
                source_name: source.to_owned(),
            }
            .into()),
        }
    }
}

impl<S> Service<WebhookRequest> for Extract<S>
where
    S: Service<WebhookRequest, Response = WebhookResponse>,
    S::Error: Into<PipelineError>,
{
    type Response = WebhookResponse;
    type Error = PipelineError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: WebhookRequest) -> Self::Future {
        let event = match require::<EventType>(&request) {
            Ok(event) => event.clone(),
            Err(error) => return ResponseFuture::answered(Err(error)),
        };
        let payload = match parsed_or_text(&request) {
            Ok(payload) => payload,
            Err(error) => return ResponseFuture::answered(Err(error)),
        };
        let Some(line) = self.source.select(event.as_str()) else {
            let source = match request.extensions().get::<SourceName>() {
                Some(name) => name.as_str(),
                None => self.source.name(),
            };
            return ResponseFuture::answered(self.unmapped(source, event.as_str()));
        };
        if let Some(done) = request.extensions().get::<Fields>() {
            // `identify` extracted this line's fields in the pass that checked the body (the
            // event type came from a header): nothing left to read.
            if Arc::ptr_eq(&done.line, line) {
                if nothing_mapped(line, &done.value) {
                    return ResponseFuture::answered(Ok(self.ignored(&request, &event, line)));
                }
                return ResponseFuture::called(self.inner.call(request));
            }
        }
        let value = match payload {
            Body::Parsed(payload) => line.extract(&payload),
            Body::Text(json) => match std::str::from_utf8(&json.0)
                .map_err(PipelineError::internal)
                .and_then(|text| line.extract_str(text).map_err(PipelineError::internal))
            {
                Ok(value) => value,
                // `identify` checked the text: only a stage of one's own inserting a bad one.
                Err(error) => return ResponseFuture::answered(Err(error)),
            },
        };
        if nothing_mapped(line, &value) {
            return ResponseFuture::answered(Ok(self.ignored(&request, &event, line)));
        }
        let fields = Fields {
            line: Arc::clone(line),
            value: Arc::new(value),
        };
        request.extensions_mut().insert(fields);
        ResponseFuture::called(self.inner.call(request))
    }
}

/// Whether the line declares fields and the payload holds none of them (missing or `null`):
/// such a delivery (`{}` to a GitHub `pull_request` line) would only render the template's
/// bare text.
fn nothing_mapped(line: &CompiledLine, extracted: &serde_json::Value) -> bool {
    line.declares_fields() && !any_present(extracted)
}

/// Whether `value` holds anything but `null`s and empty objects.
fn any_present(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => false,
        serde_json::Value::Object(members) => members.values().any(any_present),
        serde_json::Value::Array(items) => items.iter().any(any_present),
        _ => true,
    }
}

/// The payload as an earlier stage left it: parsed, or as JSON text to read fields from.
enum Body {
    Parsed(Arc<serde_json::Value>),
    Text(JsonBody),
}

/// A [`Payload`] when one was left (tests, `verify` for Meraki and SNS), else the [`JsonBody`]
/// `identify` leaves; a missing `Payload` is the error when there is neither.
fn parsed_or_text(request: &WebhookRequest) -> Result<Body, PipelineError> {
    if let Some(json) = request.extensions().get::<JsonBody>() {
        if request.extensions().get::<Payload>().is_none() {
            return Ok(Body::Text(json.clone()));
        }
    }
    require::<Payload>(request).map(|payload| Body::Parsed(Arc::clone(&payload.0)))
}
