//! [`Validation`]: what `genhook check` runs. The same loading path as `serve` (configuration,
//! mapping files, every source's stack built from the registry), without a socket or a queue on
//! disk: an in-memory queue stands in for the real one.

use std::path::Path;
use std::sync::Arc;

use genhook_mapping::Diagnostic;

use super::settings::{add_backend, queue_settings};
use crate::bundled::MappingsOrigin;
use crate::config::{unknown_variables, Config};
use crate::loader::Loader;
use crate::queue::{self, Backend};
use crate::stack::builtin_registry;

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
    /// Where the mappings were read from (none when the configuration could not be read).
    pub mappings: Option<MappingsOrigin>,
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
        let loader = Self::loader_for(config);
        validation.mappings = Some(loader.origin());
        match loader.check() {
            Ok(checked) => {
                validation.sources = checked.mappings.sources().count();
                problems.extend(checked.diagnostics);
            }
            Err(unreadable) => validation.failures.push(unreadable),
        }
        // After the mappings: a `${GENHOOK_…}` they name is not unknown.
        let named = loader.looked_up();
        let names = crate::config::env::genhook_names();
        problems.extend(unknown_variables(
            names.iter().map(String::as_str),
            &|name| named.contains(name),
        ));
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
