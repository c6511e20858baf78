//! The [`Verifier`] strategy trait every scheme implements, and [`Check`], the answer of a
//! scheme that may need to wait (AWS SNS fetching a signing certificate).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use genhook_core::WebhookRequest;

use crate::VerifyError;

/// A signature or credential scheme.
///
/// Implementations compare in constant time and never put secrets, expected signatures or
/// received signatures into their errors.
pub trait Verifier: Send + Sync + 'static {
    /// The scheme's name as written after `verify =` (inserted as
    /// [`Verified::scheme`](genhook_core::stage::Verified)).
    fn scheme(&self) -> &'static str;

    /// Checks the request synchronously.
    ///
    /// # Errors
    /// Why the request is refused.
    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError>;

    /// What the [`Verify`](crate::Verify) service calls. The default runs [`Verifier::verify`];
    /// schemes that parse the body override it to leave a
    /// [`Payload`](genhook_core::stage::Payload) on the request, and a scheme that must fetch
    /// something (AWS SNS) answers [`Check::Pending`].
    ///
    /// # Errors
    /// Why the request is refused.
    fn start(&self, request: &mut WebhookRequest) -> Result<Check, VerifyError> {
        self.verify(request).map(|()| Check::Ready)
    }
}

impl<V: Verifier + ?Sized> Verifier for Arc<V> {
    fn scheme(&self) -> &'static str {
        (**self).scheme()
    }
    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        (**self).verify(request)
    }
    fn start(&self, request: &mut WebhookRequest) -> Result<Check, VerifyError> {
        (**self).start(request)
    }
}

/// The result of [`Verifier::start`] when it did not refuse the request.
pub enum Check {
    /// Verified.
    Ready,
    /// Verification finishes when this future does (off the lock and off the hot path: only
    /// when something had to be fetched).
    Pending(PendingCheck),
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready => f.write_str("Ready"),
            Self::Pending(_) => f.write_str("Pending"),
        }
    }
}

/// A verification that has to wait (boxed: it only happens on a cold cache).
pub type PendingCheck = Pin<Box<dyn Future<Output = Result<(), VerifyError>> + Send + 'static>>;
