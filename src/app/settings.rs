//! The one place that turns a [`Config`] into the settings of the parts it configures: the
//! queue ([`queue_settings`]), the HTTP server ([`server_settings`], [`body_limit`]), the
//! dispatch workers ([`worker_settings`]), the admin API ([`admin_router`]) and the resources
//! every stage can read at build time ([`add_backend`]).
//!
//! Start-up ([`super::Builder::start`]), hot reload ([`crate::reload`]) and `genhook check`
//! ([`super::Validation`]) all read the configuration through these functions, so a key means the
//! same thing at start and after a reload. Nothing here opens, binds or spawns anything.

use std::net::SocketAddr;
use std::sync::Arc;

use genhook_core::queue::{DeadLetters, Queue};
use genhook_core::Secret;

use crate::config::Config;
use crate::queue::{Backend, QueueSettings};
use crate::server::{AppState, ServerSettings};
use crate::stack::Stacks;
use crate::worker;

/// `server_host:server_port` is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot listen on `{0}`: not an address")]
pub struct BadAddress(pub String);

/// The queue's settings.
pub fn queue_settings(config: &Config) -> QueueSettings {
    QueueSettings {
        backend: config.queue_backend,
        data_dir: config.data_dir.clone(),
        max_size: config.queue_max_size.unwrap_or(usize::MAX),
        max_bytes: config.queue_max_bytes,
        redis_url: config.redis_url.to_string(),
        redis_claim_idle: config.redis_claim_idle,
        redis_prefix: crate::config::defaults::REDIS_PREFIX.to_owned(),
    }
}

/// The HTTP server's settings.
///
/// # Errors
/// `server_host:server_port` does not resolve to an address.
pub fn server_settings(config: &Config) -> Result<ServerSettings, BadAddress> {
    let text = config.listen_addr();
    let addr = text
        .parse::<SocketAddr>()
        .or_else(|_| {
            std::net::ToSocketAddrs::to_socket_addrs(&text)
                .ok()
                .and_then(|mut addrs| addrs.next())
                .ok_or(())
        })
        .map_err(|()| BadAddress(text.clone()))?;
    let tls = match (
        config.ssl_enabled,
        &config.ssl_cert_path,
        &config.ssl_key_path,
    ) {
        (true, Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        _ => None,
    };
    Ok(ServerSettings {
        addr,
        tls,
        max_body_size: body_limit(config),
        header_read_timeout: config.header_read_timeout,
        request_timeout: config.request_timeout,
        idle_timeout: config.idle_timeout,
        http2_keep_alive_interval: config.http2_keep_alive_interval,
        max_connections: config.connection_limit(),
    })
}

/// The largest webhook body accepted, in bytes (`max_body_size`).
pub fn body_limit(config: &Config) -> usize {
    usize::try_from(config.max_body_size).unwrap_or(usize::MAX)
}

/// The workers' settings: the configuration's, with each mapping section's `max_concurrent`
/// winning over the configuration's `<source>_max_concurrent`.
pub fn worker_settings(config: &Config, stacks: &Stacks) -> worker::WorkerSettings {
    let mut per_source: std::collections::HashMap<String, usize> =
        config.max_concurrent.clone().into_iter().collect();
    for route in stacks.routes() {
        if let Some(limit) = route.source.max_concurrent() {
            per_source.insert(route.source.name().to_owned(), limit);
        }
    }
    worker::WorkerSettings {
        sl1_api_url: config.sl1_api_url.as_ref().map(ToString::to_string),
        sl1_username: config.sl1_username.clone().unwrap_or_default(),
        sl1_password: config
            .sl1_password
            .clone()
            .unwrap_or_else(|| Secret::new("")),
        sl1_timeout: config.sl1_timeout,
        processing_timeout: config.processing_timeout,
        sl1_retry_attempts: config.sl1_retry_attempts,
        sl1_ca_file: config.sl1_ca_file.clone(),
        breaker_threshold: config.sl1_breaker_threshold,
        breaker_cooldown: config.sl1_breaker_cooldown,
        workers: config.max_worker_threads,
        sl1_max_inflight: config.sl1_max_inflight,
        per_source_max_concurrent: per_source,
        outbox_path: config.outbox_path(),
        dlq_alert_threshold: usize::try_from(config.dlq_alert_threshold).unwrap_or(usize::MAX),
        threading: config.threading_model,
        ..worker::WorkerSettings::default()
    }
}

/// The admin API, when an `admin_token` is set (the dead-letter routes, `/sl1/policy`, the
/// refused requests and the console's routes). Its replay renders a dead letter again through
/// the offline pipeline of the stacks in use ([`crate::render::rerender_hook`]).
pub fn admin_router(
    config: &Config,
    backend: &Backend,
    state: &AppState,
    console: crate::console::ConsoleState,
) -> Option<axum::Router> {
    let token = config.admin_token.clone()?;
    let stacks = state.clone();
    let policy = crate::admin::policy::PolicyState {
        config: Arc::new(config.clone()),
        sources: Arc::new(move |name| {
            stacks
                .stacks()
                .routes()
                .filter(|route| route.source.name() == name)
                .map(|route| route.source.clone())
                .collect()
        }),
    };
    let requests = crate::refused::api::router(state.refused().clone(), token.clone());
    let admin = crate::admin::router(crate::admin::AdminState {
        dead_letters: backend.dead_letters.clone(),
        queue: backend.queue.clone(),
        token: token.clone(),
        rerender: crate::render::rerender_hook(state.clone()),
    });
    Some(
        requests
            .merge(crate::console::router(console, token.clone()))
            .merge(admin)
            .merge(crate::admin::policy::router(policy, token)),
    )
}

/// Makes the queue and the dead letters resources every stage can read at build time
/// (`BuildContext::resource::<Arc<dyn Queue>>()`).
pub fn add_backend(resources: &mut http::Extensions, backend: &Backend) {
    resources.insert::<Arc<dyn Queue>>(backend.queue.clone());
    resources.insert::<Arc<dyn DeadLetters>>(backend.dead_letters.clone());
}
