//! The library's front door: [`GenHook::builder`] takes a [`Config`], lets a consumer register
//! its own stages by name and add resources, and [`Builder::start`] opens the queue, builds every
//! source's stack, binds the listener and starts the dispatch workers and the reload watcher.
//! [`Running::shutdown`] stops it gracefully (the listener stays open, answering 503, while the
//! queue drains). [`Validation`] is what `genhook check` runs: the
//! same loading path as `serve`, without a socket.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use genhook_core::queue::{DeadLetters, Event, Queue};
use genhook_core::{BuildContext, LayerFactory, Secret};
use genhook_mapping::Diagnostic;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::loader::{EnvLookup, Loader};
use crate::queue::{self, Backend, QueueSettings};
use crate::reload::{LogLevelSetter, Reloaded, Reloader};
use crate::server::{routes, AppState, Server, ServerSettings};
use crate::stack::{builtin_registry, DuplicateLayer, LayerRegistry, SourceRoute, Stacks};
use crate::worker::{self, WorkerPool};

/// GenHook as a library.
#[derive(Debug, Clone, Copy)]
pub struct GenHook;

impl GenHook {
    /// A builder over a configuration, with the built-in stages registered.
    pub fn builder(config: Config) -> Builder {
        Builder {
            config,
            registry: builtin_registry(),
            resources: http::Extensions::new(),
            env: Arc::new(crate::config::env::lookup),
            log_level: None,
            backend: None,
        }
    }
}

/// Builds a running GenHook.
pub struct Builder {
    config: Config,
    registry: LayerRegistry,
    resources: http::Extensions,
    env: EnvLookup,
    log_level: Option<LogLevelSetter>,
    backend: Option<Backend>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// Starting failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The queue could not be opened.
    #[error("cannot open the {backend} queue: {source}")]
    Queue {
        /// Which backend.
        backend: &'static str,
        /// Why.
        source: genhook_core::queue::QueueError,
    },
    /// The mappings do not validate.
    #[error("the mappings do not validate:\n{}", join_lines(.0))]
    Mappings(Vec<Diagnostic>),
    /// The listener could not start.
    #[error(transparent)]
    Serve(#[from] crate::server::ServeError),
    /// `server_host:server_port` is not an address.
    #[error("cannot listen on `{0}`: not an address")]
    Address(String),
    /// The workers could not start.
    #[error("cannot start the dispatch workers: {0}")]
    Workers(String),
}

fn join_lines(problems: &[Diagnostic]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl Builder {
    /// Registers a consumer's own stage; mappings can then name it on their `layers =` line.
    ///
    /// # Errors
    /// When a stage of that name is registered already.
    pub fn register_layer(mut self, factory: impl LayerFactory) -> Result<Self, DuplicateLayer> {
        self.registry.register(factory)?;
        Ok(self)
    }

    /// Adds a shared resource that stages can read at build time ([`BuildContext::resource`]).
    pub fn resource<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.resources.insert(value);
        self
    }

    /// Replaces the `${NAME}` lookup of mapping files, also used for the `GENHOOK_<KEY>`
    /// overrides when the configuration file is reloaded (the process environment by default).
    pub fn env(mut self, env: EnvLookup) -> Self {
        self.env = env;
        self
    }

    /// How a reload changes the log level (the binary owns logging and sets this); without it a
    /// changed `log_level` needs a restart.
    pub fn log_level_setter(mut self, setter: LogLevelSetter) -> Self {
        self.log_level = Some(setter);
        self
    }

    /// Test hook: runs on this opened backend instead of opening the one the configuration names
    /// (e.g. a disk queue whose storage faults are injected).
    #[doc(hidden)]
    pub fn queue_backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Opens the queue, builds every stack, binds the listener, and starts the workers and the
    /// reload watcher.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn start(self) -> Result<Running, StartError> {
        let Self {
            config,
            registry,
            mut resources,
            env,
            log_level,
            backend,
        } = self;
        // A missing mappings directory is the commonest first-run mistake: say so before the
        // queue creates its data directory.
        genhook_mapping::MappingSet::read_dir(&config.mappings_dir)
            .map_err(|unreadable| StartError::Mappings(vec![unreadable]))?;
        let queue_settings = queue_settings(&config);
        let backend = match backend {
            Some(backend) => backend,
            None => queue::open(&queue_settings)
                .await
                .map_err(|source| StartError::Queue {
                    backend: queue_settings.backend.as_str(),
                    source,
                })?,
        };
        add_backend(&mut resources, &backend);
        let loader = Loader::new(
            config.mappings_dir.clone(),
            registry,
            resources,
            Arc::clone(&env),
        );
        let fingerprint =
            crate::reload::Fingerprint::of(loader.mappings_dir(), config.file.as_deref());
        let loaded = loader.load().map_err(StartError::Mappings)?;
        for warning in &loaded.warnings {
            tracing::warn!(%warning, "Mapping warning.");
        }

        let state = AppState::new(
            loaded.stacks,
            backend.queue.clone(),
            Some(crate::telemetry::prometheus()),
            body_limit(&config),
            config.inflight_body_limit(),
        );
        let admin = admin_router(&config, &backend, &state);
        let settings = server_settings(&config)?;
        let server = Server::bind(&settings, routes::router(state.clone(), admin)).await?;
        let addr = server
            .local_addr()
            .map_err(|source| crate::server::ServeError::Bind {
                addr: settings.addr,
                source,
            })?;

        let workers = worker::spawn(
            worker_settings(&config, &state.stacks()),
            backend.queue.clone(),
            backend.dead_letters.clone(),
            tokio::runtime::Handle::current(),
        )
        .map_err(|error| StartError::Workers(error.to_string()))?;

        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let grace = config.shutdown_grace_period;
        let server_task = tokio::spawn(server.run(
            async move {
                let _ = stop_rx.await;
            },
            grace,
        ));
        let reloader = Reloader::new(
            loader,
            state.clone(),
            workers.control(),
            env,
            log_level,
            config.clone(),
        );
        let reload_task = config
            .reload
            .then(|| tokio::spawn(crate::reload::watch(reloader.clone(), fingerprint)));
        tracing::info!(
            %addr,
            backend = backend.queue.backend(),
            sources = state.stacks().routes().count(),
            sl1 = config.sl1_api_url.as_ref().map_or("(none: alerts go to the outbox)", |u| u.host_str().unwrap_or("?")),
            "GenHook is listening."
        );
        Ok(Running {
            addr,
            state,
            reloader,
            backend,
            workers,
            stop_tx,
            server_task,
            reload_task,
            grace,
            data_dir: config.data_dir.clone(),
        })
    }
}

/// A running GenHook.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    state: AppState,
    reloader: Reloader,
    backend: Backend,
    workers: WorkerPool,
    stop_tx: oneshot::Sender<()>,
    server_task: JoinHandle<()>,
    reload_task: Option<JoinHandle<()>>,
    grace: Duration,
    data_dir: std::path::PathBuf,
}

/// What shutdown left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Events still queued when the grace period ended.
    pub left_in_queue: usize,
}

impl Running {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The routes' shared state (current stacks, queue).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The queue (which also keeps the de-duplication claims) and the dead letters.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Reloads the configuration file and the mappings now, as SIGHUP does (blocking file I/O);
    /// whether everything read was taken (see [`reload_report`](Self::reload_report)).
    pub fn reload(&self) -> bool {
        self.reload_report().all_taken()
    }

    /// Reloads as [`reload`](Self::reload) does and says what was taken and what needs a restart.
    pub fn reload_report(&self) -> Reloaded {
        self.reloader.reload_now()
    }

    /// The configuration in use (the live keys of the last reload that validated).
    pub fn config(&self) -> Config {
        self.reloader.config()
    }

    /// Runs until `signal` resolves, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> ShutdownReport {
        signal.await;
        self.shutdown().await
    }

    /// Graceful shutdown, with the listener open until the queue is drained:
    ///
    /// 1. the shutting-down flag is set: webhooks are answered `503` with `Retry-After`,
    ///    `/readyz` turns 503 (so a load balancer takes this instance out), `/healthz` stays 200,
    ///    and HTTP/1 answers carry `Connection: close`;
    /// 2. webhooks already inside the pipeline finish normally (their events are queued);
    /// 3. the workers drain the queue, for what is left of `shutdown_grace_period`;
    /// 4. the HTTP server stops: no new connections, the requests in flight finish;
    /// 5. what is left in the queue is logged, with where it is kept.
    pub async fn shutdown(self) -> ShutdownReport {
        tracing::info!(
            grace = ?self.grace,
            "Shutting down: webhooks are answered 503 and /readyz is 503 while the queue drains."
        );
        self.state.begin_shutdown();
        if let Some(task) = &self.reload_task {
            task.abort();
        }
        let deadline = tokio::time::Instant::now() + self.grace;
        let remaining = || deadline.saturating_duration_since(tokio::time::Instant::now());
        if !self.state.wait_webhooks_done(self.grace).await {
            tracing::warn!(
                in_flight = self.state.webhooks_in_flight(),
                "Webhooks still in the pipeline when the grace period ended."
            );
        }
        // Nothing new enters the queue from now on (webhooks are refused), so the drain ends.
        self.workers.shutdown(remaining()).await;
        let _ = self.stop_tx.send(());
        let mut server_task = self.server_task;
        let server_limit = remaining().max(SERVER_STOP_MIN);
        match tokio::time::timeout(server_limit, &mut server_task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "The server task failed."),
            Err(_) => {
                tracing::warn!("Requests still in flight after the grace period; closing them.");
                server_task.abort();
            }
        }
        // Counted once the server is stopped, before the queue is closed: what the queue holds
        // now is what really was not delivered.
        let left_in_queue = self.backend.queue.depth();
        self.backend.queue.close();
        let backend = self.backend.queue.backend();
        match (left_in_queue, backend) {
            (0, _) => tracing::info!("Queue drained; GenHook stopped."),
            (left, "memory") => tracing::warn!(
                left,
                "Stopped with events in the memory queue: they are lost."
            ),
            (left, "disk") => {
                tracing::warn!(left, data_dir = %self.data_dir.display(), "Stopped with events queued; they are kept on disk and delivered at the next start.")
            }
            (left, _) => tracing::warn!(
                left,
                backend,
                "Stopped with events queued; they are kept in Redis for any instance to deliver."
            ),
        }
        ShutdownReport { left_in_queue }
    }
}

/// How long the HTTP server gets to finish the requests in flight once the queue is drained, when
/// the grace period is used up already.
const SERVER_STOP_MIN: Duration = Duration::from_secs(1);

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Renders a dead letter again with the mappings in use now (admin replay).
fn rerender_hook(state: AppState) -> Arc<dyn Fn(Event) -> Result<Event, String> + Send + Sync> {
    Arc::new(move |mut event: Event| {
        let stacks = state.stacks();
        let route = stacks
            .route(&event.source)
            .ok_or_else(|| format!("source `{}` has no mapping any more", event.source))?;
        let mut headers = http::HeaderMap::new();
        for (name, value) in &event.headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::try_from(name.as_str()),
                http::HeaderValue::try_from(value.as_str()),
            ) {
                headers.append(name, value);
            }
        }
        let rendered =
            crate::render::render_payload(&route.source, &headers, &event.body, Some(&event.event))
                .map_err(|problem| problem.to_string())?;
        event.alert.message = rendered.message;
        event.render_error = None;
        Ok(event)
    })
}

fn add_backend(resources: &mut http::Extensions, backend: &Backend) {
    resources.insert::<Arc<dyn Queue>>(backend.queue.clone());
    resources.insert::<Arc<dyn DeadLetters>>(backend.dead_letters.clone());
}

fn queue_settings(config: &Config) -> QueueSettings {
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

fn server_settings(config: &Config) -> Result<ServerSettings, StartError> {
    let text = config.listen_addr();
    let addr = text
        .parse::<SocketAddr>()
        .or_else(|_| {
            std::net::ToSocketAddrs::to_socket_addrs(&text)
                .ok()
                .and_then(|mut addrs| addrs.next())
                .ok_or(())
        })
        .map_err(|()| StartError::Address(text.clone()))?;
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

pub(crate) fn body_limit(config: &Config) -> usize {
    usize::try_from(config.max_body_size).unwrap_or(usize::MAX)
}

/// The workers' settings: the configuration's, with each mapping section's `max_concurrent`
/// winning over the configuration's `<source>_max_concurrent`.
pub(crate) fn worker_settings(config: &Config, stacks: &Stacks) -> worker::WorkerSettings {
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

/// The admin API, when an `admin_token` is set.
fn admin_router(config: &Config, backend: &Backend, state: &AppState) -> Option<axum::Router> {
    let token = config.admin_token.clone()?;
    Some(crate::admin::router(crate::admin::AdminState {
        dead_letters: backend.dead_letters.clone(),
        queue: backend.queue.clone(),
        token,
        rerender: rerender_hook(state.clone()),
    }))
}

/// What `genhook check` found.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Every problem, errors and warnings, as `FILE:LINE: message`, sorted by file and line.
    pub problems: Vec<Diagnostic>,
    /// What kept part of the check from running at all: the configuration file or the
    /// mappings directory cannot be read.
    pub failures: Vec<Diagnostic>,
    /// How many sources were found (all valid when there is no error).
    pub sources: usize,
}

impl Validation {
    /// Validates the configuration, every mapping, and every stage's settings, and reports
    /// every problem: a configuration with errors still has its mappings checked (from its
    /// `mappings_dir` when that key is valid, else the default), and a mapping file with
    /// errors still has its other lines and its stages' settings checked.
    pub fn run(config: Option<&Path>) -> Self {
        let (config, mut problems) = match Config::check(config, &crate::config::env::lookup) {
            Ok(checked) => checked,
            Err(unreadable) => {
                return Self {
                    failures: vec![unreadable],
                    ..Self::default()
                }
            }
        };
        // A refused value keeps its default, which the warnings would be about.
        if !problems.iter().any(Diagnostic::is_error) {
            problems.extend(config.warnings());
        }
        let mut validation = Self::default();
        match Self::loader_for(config).check() {
            Ok(checked) => {
                validation.sources = checked.mappings.sources().count();
                problems.extend(checked.diagnostics);
            }
            Err(unreadable) => validation.failures.push(unreadable),
        }
        problems.sort();
        problems.dedup();
        validation.problems = problems;
        validation
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        !self.failures.is_empty() || self.problems.iter().any(Diagnostic::is_error)
    }

    /// A loader for the configuration's mappings, with the built-in stages and an in-memory
    /// queue standing in for the real one (nothing is opened or written).
    ///
    /// # Errors
    /// The configuration's problems.
    pub fn loader(config: Option<&Path>) -> Result<Loader, Vec<Diagnostic>> {
        Config::load(config, &crate::config::env::lookup).map(Self::loader_for)
    }

    fn loader_for(config: Config) -> Loader {
        let mut resources = http::Extensions::new();
        let queue = Arc::new(queue::memory::MemoryQueue::with_limits(
            queue_settings(&config).limits(),
        ));
        let backend = Backend {
            dead_letters: queue.dead_letters(),
            queue,
        };
        add_backend(&mut resources, &backend);
        Loader::new(
            config.mappings_dir,
            builtin_registry(),
            resources,
            Arc::new(crate::config::env::lookup),
        )
    }
}

/// Checks a payload's signature offline with the source's `verify` settings.
///
/// # Errors
/// The verifier's public reason.
pub fn verify_offline(
    route: &SourceRoute,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    use tower::{Layer as _, ServiceExt as _};
    let resources = http::Extensions::new();
    let cx = BuildContext::new(route.source.section(), &resources);
    let layer = genhook_verify::VerifyFactory::new()
        .build(&cx)
        .map_err(|problems| join_lines(&problems))?;
    let leaf = genhook_core::PipelineService::new(tower::service_fn(|_request| async {
        Ok::<_, genhook_core::PipelineError>(genhook_core::json_response(
            http::StatusCode::OK,
            &serde_json::Value::Null,
        ))
    }));
    let service = layer.layer(leaf);
    let mut request = http::Request::new(bytes::Bytes::copy_from_slice(body));
    *request.method_mut() = http::Method::POST;
    *request.headers_mut() = headers.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime
        .block_on(service.oneshot(request))
        .map(|_| ())
        .map_err(|error| error.public_reason().to_owned())
}
