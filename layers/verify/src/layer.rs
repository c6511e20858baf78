//! [`VerifyLayer`]: the configuration of the verify stage (one scheme), cheap to clone.

use tower::Layer;

use crate::Verify;

/// Applies [`Verify`] with the given scheme to a service.
#[derive(Debug, Clone)]
pub struct VerifyLayer<V> {
    verifier: V,
}

impl<V> VerifyLayer<V> {
    /// A layer checking requests with `verifier`.
    pub const fn new(verifier: V) -> Self {
        Self { verifier }
    }
}

impl<S, V: Clone> Layer<S> for VerifyLayer<V> {
    type Service = Verify<S, V>;

    fn layer(&self, inner: S) -> Self::Service {
        Verify::new(inner, self.verifier.clone())
    }
}
