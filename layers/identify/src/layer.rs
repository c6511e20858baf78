//! [`IdentifyLayer`]: the identify stage's configuration, cheap to clone.

use std::sync::Arc;

use tower::Layer;

use crate::service::Identify;
use crate::settings::IdentifySettings;
use crate::sns::SnsConfirmer;

/// Builds [`Identify`] services.
#[derive(Debug, Clone)]
pub struct IdentifyLayer {
    settings: Arc<IdentifySettings>,
    confirmer: Option<SnsConfirmer>,
    lazy: Option<Arc<[String]>>,
}

impl IdentifyLayer {
    /// A layer with these settings and no SNS confirmer (SubscribeURLs are only logged).
    pub fn new(settings: IdentifySettings) -> Self {
        Self {
            settings: Arc::new(settings),
            confirmer: None,
            lazy: None,
        }
    }

    /// Leaves the body's JSON text ([`JsonBody`]) for the stages after it instead of a parsed
    /// [`Payload`], and reads a JSON object only as far as identification needs: one pass that
    /// checks the whole text as a full parse does but builds only the top-level names and
    /// scalars (see `shallow.rs`). Batches (arrays), form fields and a `Payload` an earlier
    /// stage left are handled as without it, and still leave a `Payload`.
    ///
    /// For stacks whose stages read no `Payload` (the built-in ones: `extract` reads the text).
    ///
    /// [`JsonBody`]: genhook_core::stage::JsonBody
    /// [`Payload`]: genhook_core::stage::Payload
    #[must_use]
    pub fn json_body(mut self) -> Self {
        self.lazy = Some(crate::service::looked_into(&self.settings));
        self
    }

    /// Confirms SNS subscriptions with `confirmer` (when the source verifies with `aws-sns` and
    /// `sns_auto_confirm` is not false).
    #[must_use]
    pub fn with_sns_confirmer(mut self, confirmer: SnsConfirmer) -> Self {
        self.confirmer = Some(confirmer);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &IdentifySettings {
        &self.settings
    }
}

impl<S> Layer<S> for IdentifyLayer {
    type Service = Identify<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Identify::from_parts(
            inner,
            Arc::clone(&self.settings),
            self.confirmer.clone(),
            self.lazy.clone(),
        )
    }
}
