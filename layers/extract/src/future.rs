//! The response future of [`Extract`](crate::Extract): the inner service's future, or the stage's own
//! answer. It is the shared [`genhook_core::future::StageFuture`].

/// Response future of [`Extract`](crate::Extract).
pub type ResponseFuture<F> = genhook_core::future::StageFuture<F>;
