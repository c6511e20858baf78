//! The response future of [`Template`](crate::Template): the inner service's future, or the stage's own
//! answer. It is the shared [`genhook_core::future::StageFuture`].

/// Response future of [`Template`](crate::Template).
pub type ResponseFuture<F> = genhook_core::future::StageFuture<F>;
