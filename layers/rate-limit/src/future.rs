//! The response future of [`RateLimit`](crate::RateLimit): the inner service's future, or the stage's own
//! answer. It is the shared [`genhook_core::future::StageFuture`].

/// Response future of [`RateLimit`](crate::RateLimit).
pub type ResponseFuture<F> = genhook_core::future::StageFuture<F>;
