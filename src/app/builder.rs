//! [`GenHook::builder`] takes a [`Config`], lets a consumer register its own stages by name and
//! add resources, and [`Builder::start`] opens the queue, builds every source's stack, binds the
//! listener and starts the dispatch workers and the reload watcher, handing back a [`Running`].

use std::sync::{Arc, OnceLock};

use genhook_core::LayerFactory;
use genhook_mapping::Diagnostic;
use tokio::sync::oneshot;

use super::settings::{
    add_backend, admin_router, body_limit, queue_settings, server_settings, worker_settings,
    BadAddress,
};
use super::Running;
use crate::config::Config;
use crate::loader::{EnvLookup, Loader};
use crate::queue::{self, Backend};
use crate::reload::{LogLevelSetter, Reloader};
use crate::server::{routes, AppState, Server};
use crate::stack::{builtin_registry, DuplicateLayer, LayerRegistry};
use crate::worker;

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
            process_env: true,
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
    /// `env` is the process environment (no [`Builder::env`] given): its unknown `GENHOOK_*`
    /// variables are then warned about at start.
    process_env: bool,
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

    /// Adds a shared resource that stages can read at build time ([`BuildContext::resource`](genhook_core::BuildContext::resource)).
    pub fn resource<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.resources.insert(value);
        self
    }

    /// Replaces the `${NAME}` lookup of mapping files, also used for the `GENHOOK_<KEY>`
    /// overrides when the configuration file is reloaded (the process environment by default).
    /// The process environment's `GENHOOK_*` variables are then not GenHook's: no "unknown
    /// variable" warning is given for them at start.
    pub fn env(mut self, env: EnvLookup) -> Self {
        self.env = env;
        self.process_env = false;
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
            process_env,
            log_level,
            backend,
        } = self;
        // A mappings path that exists but cannot be read is refused before the queue creates
        // its data directory; a missing one means the built-in mappings (crate::bundled).
        let origin = crate::bundled::MappingsOrigin::of(&config.mappings_dir);
        if !origin.is_built_in() {
            genhook_mapping::MappingSet::read_dir(&config.mappings_dir)
                .map_err(|unreadable| StartError::Mappings(vec![unreadable]))?;
        }
        tracing::info!(mappings = %origin, "Serving the mappings of {origin}.");
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
        // What the watcher compares with: taken before loading, so a change made meanwhile counts.
        let watched: Vec<std::path::PathBuf> = config
            .file
            .iter()
            .cloned()
            .chain(
                config
                    .tls_files()
                    .into_iter()
                    .flat_map(|(cert, key)| [cert, key]),
            )
            .collect();
        let fingerprint = crate::reload::Fingerprint::of(loader.mappings_dir(), &watched);
        let loaded = loader.load().map_err(StartError::Mappings)?;
        for warning in &loaded.warnings {
            tracing::warn!(%warning, "Mapping warning.");
        }
        // The process environment's `GENHOOK_*` variables that neither the configuration nor
        // a mapping file reads (a typo in an override), when the overrides come from it.
        let named = loader.looked_up();
        let names = if process_env {
            crate::config::env::genhook_names()
        } else {
            Vec::new()
        };
        let unknown = crate::config::unknown_variables(names.iter().map(String::as_str), &|name| {
            named.contains(name)
        });
        for warning in &unknown {
            tracing::warn!(%warning, "Environment warning.");
        }
        for notice in config.predecessor_notices() {
            tracing::info!(%notice, "Predecessor setting.");
        }

        // The records of refused requests and of deliveries: one writer thread for their
        // files, one live feed for /admin/stream.
        let journal = crate::journal::Writer::start();
        let health = crate::health::Health::new();
        let feed = crate::journal::Feed::new(health.clone());
        let state = AppState::new(
            loaded.stacks,
            backend.queue.clone(),
            Some(crate::telemetry::prometheus()),
            body_limit(&config),
            config.inflight_body_limit(),
            crate::refused::RefusedLog::open(&config.data_dir, &journal, feed.clone()),
            health.clone(),
        );
        let deliveries =
            crate::deliveries::DeliveryLog::open(&config.data_dir, &journal, feed.clone());
        // The console's mapping writes reload at once; the reloader exists only once the
        // workers run, so until then (never in practice) they reload the mappings alone.
        let reloader_slot: Arc<OnceLock<Reloader>> = Arc::default();
        let reload_hook: crate::console::ReloadHook = {
            let (slot, loader, state) = (reloader_slot.clone(), loader.clone(), state.clone());
            Arc::new(move || match slot.get() {
                Some(reloader) => reloader.reload_now().mappings,
                None => crate::reload::reload_mappings(&loader, &state),
            })
        };
        let workers_slot: Arc<OnceLock<worker::WorkerControl>> = Arc::default();
        let console = crate::console::ConsoleState {
            deliveries: deliveries.clone(),
            feed,
            health: Some(crate::health::api::HealthState {
                health: health.clone(),
                queue: backend.queue.clone(),
                dead_letters: backend.dead_letters.clone(),
                workers: workers_slot.clone(),
            }),
            ..crate::console::ConsoleState::new(
                loader.clone(),
                state.clone(),
                reload_hook,
                config.ssl_enabled,
            )
        };
        let admin = admin_router(&config, &backend, &state, console);
        let settings =
            server_settings(&config).map_err(|BadAddress(text)| StartError::Address(text))?;
        let server = Server::bind(&settings, routes::router(state.clone(), admin)).await?;
        let addr = server
            .local_addr()
            .map_err(|source| crate::server::ServeError::Bind {
                addr: settings.addr,
                source,
            })?;

        let workers = worker::spawn_recording(
            worker_settings(&config, &state.stacks()),
            backend.queue.clone(),
            backend.dead_letters.clone(),
            tokio::runtime::Handle::current(),
            Some(deliveries),
        )
        .map_err(|error| StartError::Workers(error.to_string()))?;
        let _ = workers_slot.set(workers.control());
        let sampling = tokio::spawn(crate::health::api::sample_every_minute(
            health,
            backend.queue.clone(),
        ));

        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let grace = config.shutdown_grace_period;
        let tls_certs = server.tls_certs();
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
            tls_certs,
            config.clone(),
        );
        let _ = reloader_slot.set(reloader.clone());
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
            journal,
            sampling,
        })
    }
}
