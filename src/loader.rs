//! [`Loader`]: mapping files to built stacks, the one path shared by start-up, hot reload and
//! `genhook check`, so that what `check` accepts is exactly what `serve` runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use genhook_mapping::{Diagnostic, LoadOptions, MappingSet};

use crate::stack::{LayerRegistry, Stacks};

/// Looks up `${NAME}` in mapping files.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Loads the mappings directory and builds every source's stack.
#[derive(Clone)]
pub struct Loader {
    mappings_dir: PathBuf,
    registry: LayerRegistry,
    resources: http::Extensions,
    env: EnvLookup,
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("mappings_dir", &self.mappings_dir)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// Stacks built without errors, and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct LoadedStacks {
    /// The stacks.
    pub stacks: Stacks,
    /// Warnings (e.g. a declared field that no template uses).
    pub warnings: Vec<Diagnostic>,
}

impl Loader {
    /// A loader for `mappings_dir`, with the stages of `registry` and the shared `resources`.
    pub fn new(
        mappings_dir: impl Into<PathBuf>,
        registry: LayerRegistry,
        resources: http::Extensions,
        env: EnvLookup,
    ) -> Self {
        Self {
            mappings_dir: mappings_dir.into(),
            registry,
            resources,
            env,
        }
    }

    /// The mappings directory.
    pub fn mappings_dir(&self) -> &Path {
        &self.mappings_dir
    }

    /// Loads the mapping files only (no stack is built).
    ///
    /// # Errors
    /// Every problem found, each as `FILE:LINE: message`.
    pub fn load_mappings(&self) -> Result<genhook_mapping::Loaded, Vec<Diagnostic>> {
        let keys = self.registry.settings_keys();
        let env = &*self.env;
        let lookup = |name: &str| env(name);
        let options = LoadOptions {
            env: &lookup,
            extra_keys: &keys,
        };
        MappingSet::load_dir(&self.mappings_dir, &options)
    }

    /// Loads the mapping files and builds every stack.
    ///
    /// # Errors
    /// Every problem found in the files and in every stage's settings, sorted by file and line.
    pub fn load(&self) -> Result<LoadedStacks, Vec<Diagnostic>> {
        let loaded = self.load_mappings()?;
        let stacks = Stacks::build(loaded.mappings, &self.registry, &self.resources)?;
        Ok(LoadedStacks {
            stacks,
            warnings: loaded.warnings,
        })
    }
}
