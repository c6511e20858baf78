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
}

impl IdentifyLayer {
    /// A layer with these settings and no SNS confirmer (SubscribeURLs are only logged).
    pub fn new(settings: IdentifySettings) -> Self {
        Self {
            settings: Arc::new(settings),
            confirmer: None,
        }
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
        Identify::from_parts(inner, Arc::clone(&self.settings), self.confirmer.clone())
    }
}
