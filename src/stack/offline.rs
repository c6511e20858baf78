//! The offline pipeline: one payload through a source's own stack, without a server, for
//! `genhook render` (with `--verify` or without) and the admin API's dead-letter replay.
//!
//! An [`OfflineStack`] is folded from the very stages [`LayerRegistry::stages`] built for the
//! served stack (a consumer's registered stages included), in the order of the source's
//! `layers =` line, up to the last stage that renders the message (`template`). Instead of the
//! stages after it (`dispatch`), a leaf captures what reached it: the rendered message or the
//! reason the template failed. Between the stages, a checkpoint notes how far the request got,
//! so an answer or an error is put down to the stage that gave it.
//!
//! Two stages are left out: `rate_limit` (one payload offline, or a replay, is not a provider's
//! traffic to throttle) and `verify` unless asked for ([`Verify::Check`]): a stored dead letter
//! no longer carries its signature, and `render` checks one only with `--verify`. The request
//! carries the [`Offline`] marker: a provider's handshake (a GitHub `ping`) renders with its
//! mapping line instead of being answered (or, for SNS, confirmed). The stages run under a no-op
//! metrics recorder: rendering offline is not receiving a webhook.
//!
//! [`LayerRegistry::stages`]: super::LayerRegistry::stages

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use genhook_core::stage::{EventType, Offline, ReceivedAt, RenderFailed, Rendered, SourceName};
use genhook_core::{json_response, Capability, PipelineError, PipelineService, WebhookRequest};
use genhook_mapping::CompiledSource;
use http::{HeaderMap, StatusCode};
use pin_project_lite::pin_project;
use tower::{Layer as _, ServiceExt as _};

use super::registry::BuiltStage;

/// The stage left out of every offline stack: a quota is for a provider's traffic.
const RATE_LIMIT: &str = "rate_limit";
/// The stage that checks signatures, run offline only with [`Verify::Check`].
pub const VERIFY: &str = "verify";

/// Whether an offline stack checks the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// The `verify` stage runs, as it does when serving (`genhook render --verify`).
    Check,
    /// The `verify` stage is left out (`genhook render`, dead-letter replay).
    Skip,
}

/// One payload rendered offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPayload {
    /// The event type the mapping line was picked for.
    pub event: String,
    /// The message.
    pub message: String,
}

/// Why a payload could not be rendered offline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderProblem {
    /// A stage refused the payload, as it would have refused the webhook (its public reason).
    #[error("{reason}")]
    Rejected {
        /// The stage's name on the `layers =` line.
        stage: &'static str,
        /// Why.
        reason: String,
    },
    /// No mapping line of the source matches the event type.
    #[error("no mapping for event `{event}` of source `{source_name}`")]
    NoMapping {
        /// The source.
        source_name: String,
        /// The event type.
        event: String,
    },
    /// A stage answered the payload itself without passing it on (a consumer's filtering
    /// stage, say): nothing is rendered for it when serving either.
    #[error("the `{stage}` stage answered {status} itself: nothing is rendered for this payload")]
    Answered {
        /// The stage's name.
        stage: &'static str,
        /// Its answer's status.
        status: StatusCode,
    },
    /// The template failed on the payload's fields.
    #[error("{0}")]
    Render(String),
    /// The stack reached its end without any stage rendering a message.
    #[error("no stage rendered a message")]
    NotRendered,
}

/// A source's stack up to the stage that renders, ending in a leaf that captures the message.
#[derive(Clone)]
pub struct OfflineStack {
    source: Arc<CompiledSource>,
    /// The names of the stages it runs, outermost first.
    names: Arc<[&'static str]>,
    service: PipelineService,
}

impl std::fmt::Debug for OfflineStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineStack")
            .field("source", &self.source.name())
            .field("stages", &self.names)
            .finish_non_exhaustive()
    }
}

impl OfflineStack {
    /// Folds the stages built for `source`'s served stack into its offline stack.
    pub fn new(source: Arc<CompiledSource>, stages: &[BuiltStage], verify: Verify) -> Self {
        let end = stages
            .iter()
            .rposition(|stage| stage.provides.contains(&Capability::RENDERED))
            .map_or_else(
                || stages.iter().take_while(|stage| !stage.terminal).count(),
                |last| last + 1,
            );
        let kept: Vec<&BuiltStage> = stages[..end]
            .iter()
            .filter(|stage| {
                stage.name != RATE_LIMIT && (verify == Verify::Check || stage.name != VERIFY)
            })
            .collect();
        let names: Arc<[&'static str]> = kept.iter().map(|stage| stage.name).collect();
        let leaf = PipelineService::new(tower::service_fn(capture));
        let service = kept
            .iter()
            .enumerate()
            .rev()
            .fold(leaf, |inner, (position, stage)| {
                let identifies = stage.provides.contains(&Capability::IDENTIFIED);
                let checkpoint =
                    PipelineService::new(inner.map_request(move |request: WebhookRequest| {
                        checkpoint(request, position, identifies)
                    }));
                stage.layer.layer(checkpoint)
            });
        Self {
            source,
            names,
            service,
        }
    }

    /// The names of the stages it runs, outermost first.
    pub fn stages(&self) -> &[&'static str] {
        &self.names
    }

    /// Runs one payload through the stack. `event` overrides the event type the identifying
    /// stage found (the `--event` of `render`, a dead letter's own event type on replay).
    /// A batch (Event Grid, CloudEvents) renders one message per event.
    ///
    /// # Errors
    /// The stage that refused or answered the payload, no mapping line for its event type, or a
    /// failing template.
    pub async fn render(
        &self,
        headers: HeaderMap,
        body: Bytes,
        event: Option<&str>,
    ) -> Result<Vec<RenderedPayload>, RenderProblem> {
        let capture = Capture::default();
        let mut request = http::Request::new(body);
        *request.method_mut() = http::Method::POST;
        *request.headers_mut() = headers;
        let extensions = request.extensions_mut();
        extensions.insert(SourceName::new(self.source.name()));
        extensions.insert(ReceivedAt(SystemTime::now()));
        extensions.insert(Offline);
        extensions.insert(capture.clone());
        if let Some(event) = event {
            extensions.insert(EventOverride(EventType::new(event)));
        }
        let answer = Unmetered {
            inner: self.service.clone().oneshot(request),
        }
        .await;
        let captured = std::mem::take(&mut *capture.lock());
        // The stage after the last checkpoint passed is the one that answered or refused.
        let stage = captured
            .reached
            .map_or(0, |passed| passed + 1)
            .min(self.names.len().saturating_sub(1));
        let stage = self.names.get(stage).copied().unwrap_or("(none)");
        let response = answer.map_err(|error| RenderProblem::Rejected {
            stage,
            reason: error.public_reason().to_owned(),
        })?;
        if captured.results.is_empty() {
            return Err(match captured.event {
                Some(event) if self.source.select(&event).is_none() => RenderProblem::NoMapping {
                    source_name: self.source.name().to_owned(),
                    event,
                },
                _ => RenderProblem::Answered {
                    stage,
                    status: response.status(),
                },
            });
        }
        captured.results.into_iter().collect()
    }
}

/// What the checkpoints and the leaf saw of one payload, shared through the request's
/// extensions (a batch's events carry the same one).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Captured>>);

#[derive(Default)]
struct Captured {
    /// The position of the last stage a request got past.
    reached: Option<usize>,
    /// The event type the identifying stage left (after any override).
    event: Option<String>,
    /// One result per request that reached the leaf.
    results: Vec<Result<RenderedPayload, RenderProblem>>,
}

impl Capture {
    fn lock(&self) -> std::sync::MutexGuard<'_, Captured> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The event type to render for, whatever the identifying stage found.
#[derive(Clone)]
struct EventOverride(EventType);

/// Between two stages: notes that the request got past stage `position`, and after the stage
/// that identifies it, puts in the overriding event type.
fn checkpoint(mut request: WebhookRequest, position: usize, identifies: bool) -> WebhookRequest {
    if identifies {
        if let Some(EventOverride(event)) = request.extensions().get::<EventOverride>().cloned() {
            request.extensions_mut().insert(event);
        }
    }
    if let Some(capture) = request.extensions().get::<Capture>() {
        let mut captured = capture.lock();
        captured.reached = Some(captured.reached.map_or(position, |seen| seen.max(position)));
        if let Some(event) = request.extensions().get::<EventType>() {
            captured.event = Some(event.as_str().to_owned());
        }
    }
    request
}

/// The leaf in place of `dispatch`: keeps the rendered message (or the template's failure).
async fn capture(request: WebhookRequest) -> Result<genhook_core::WebhookResponse, PipelineError> {
    let extensions = request.extensions();
    let event = extensions
        .get::<EventType>()
        .map(|event| event.as_str().to_owned())
        .unwrap_or_default();
    let result = match (
        extensions.get::<Rendered>(),
        extensions.get::<RenderFailed>(),
    ) {
        (Some(message), _) => Ok(RenderedPayload {
            event,
            message: message.as_str().to_owned(),
        }),
        (None, Some(failed)) => Err(RenderProblem::Render(failed.as_str().to_owned())),
        (None, None) => Err(RenderProblem::NotRendered),
    };
    if let Some(capture) = extensions.get::<Capture>() {
        capture.lock().results.push(result);
    }
    Ok(json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "status": "rendered" }),
    ))
}

pin_project! {
    /// A future polled under a no-op metrics recorder: the stages' counters and histograms are
    /// not recorded for a payload rendered offline.
    struct Unmetered<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Unmetered<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        metrics::with_local_recorder(&metrics::NoopRecorder, || inner.poll(cx))
    }
}
