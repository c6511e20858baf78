//! [`Loader`]: mapping files to built stacks, the one path shared by start-up, hot reload and
//! `genhook check`, so that what `check` accepts is exactly what `serve` runs ([`Loader::check`]
//! only goes on past the first errors, to report them all).
//!
//! The files come from `mappings_dir`, or from the binary's built-in defaults when nothing is at
//! that path ([`crate::bundled`]); the choice is made again at every load, so a directory created
//! later wins at the next reload. The other way is refused: once a directory was loaded, its
//! disappearing never turns the built-in mappings on (some of them verify no signature), the
//! mappings in use are kept until a restart.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use genhook_mapping::{Checked, Diagnostic, LoadOptions, MappingSet};

use crate::bundled::{self, MappingsOrigin};
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
    /// Every `${NAME}` the mapping files looked up so far.
    looked_up: Arc<Mutex<BTreeSet<String>>>,
    /// Where the last successful [`Loader::load`] read the mappings from.
    loaded_from: Arc<Mutex<Option<MappingsOrigin>>>,
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
            looked_up: Arc::default(),
            loaded_from: Arc::default(),
        }
    }

    /// The environment variables the mapping files named as `${NAME}` in the loads so far (so
    /// that a `GENHOOK_*` one is not reported as unknown).
    pub fn looked_up(&self) -> BTreeSet<String> {
        self.looked_up
            .lock()
            .map(|names| names.clone())
            .unwrap_or_default()
    }

    /// The mappings directory.
    pub fn mappings_dir(&self) -> &Path {
        &self.mappings_dir
    }

    /// Where the mappings are read from now: the directory, or the built-in defaults when
    /// `mappings_dir` does not exist.
    pub fn origin(&self) -> MappingsOrigin {
        MappingsOrigin::of(&self.mappings_dir)
    }

    /// Loads the mapping files only (no stack is built).
    ///
    /// # Errors
    /// Every problem found, each as `FILE:LINE: message`.
    pub fn load_mappings(&self) -> Result<genhook_mapping::Loaded, Vec<Diagnostic>> {
        self.check_mappings()
            .map_err(|unreadable| vec![unreadable])?
            .into_loaded()
    }

    fn check_mappings(&self) -> Result<Checked, Diagnostic> {
        self.with_options(|options| match self.origin() {
            MappingsOrigin::Directory(dir) => MappingSet::check_dir(&dir, options),
            MappingsOrigin::BuiltIn(_) => Ok(MappingSet::check_texts(&bundled::texts(), options)),
        })
    }

    /// Runs `check` with the load options of this loader (the registry's keys, the `${NAME}`
    /// lookup that remembers what it was asked).
    fn with_options<T>(&self, check: impl FnOnce(&LoadOptions<'_>) -> T) -> T {
        let keys = self.registry.settings_keys();
        let env = &*self.env;
        let lookup = |name: &str| {
            if let Ok(mut names) = self.looked_up.lock() {
                names.insert(name.to_owned());
            }
            env(name)
        };
        let options = LoadOptions {
            env: &lookup,
            extra_keys: &keys,
        };
        check(&options)
    }

    /// Adds the stage settings' problems to a mapping check, as [`check`](Self::check) does.
    fn with_stage_checks(&self, mut checked: Checked) -> Checked {
        checked.diagnostics.extend(Stacks::check(
            &checked.mappings,
            &self.registry,
            &self.resources,
        ));
        checked.diagnostics.sort();
        checked.diagnostics.dedup();
        checked
    }

    /// Checks the mappings directory as [`check`](Self::check) does, as if the file `NAME`
    /// of it held `text` (`None`: as if it were deleted). The admin API runs it before it
    /// writes or deletes a mapping file. When the built-in mappings are served (no directory),
    /// it checks the directory the admin API would create: the built-in files in
    /// `mappings_dir`, with `NAME` in place of the one of that name.
    ///
    /// # Errors
    /// The mappings directory cannot be read.
    pub fn check_replacing(&self, file: &str, text: Option<&str>) -> Result<Checked, Diagnostic> {
        let path = self.mappings_dir.join(file);
        let checked = self.with_options(|options| match self.origin() {
            MappingsOrigin::Directory(dir) => {
                MappingSet::check_dir_with(&dir, &path, text, options)
            }
            MappingsOrigin::BuiltIn(dir) => {
                let mut files: Vec<(PathBuf, &str)> = bundled::FILES
                    .iter()
                    .map(|(name, built_in)| (dir.join(name), *built_in))
                    .filter(|(built_in, _)| *built_in != path)
                    .collect();
                files.extend(text.map(|text| (path.clone(), text)));
                files.sort();
                Ok(MappingSet::check_texts(&files, options))
            }
        })?;
        Ok(self.with_stage_checks(checked))
    }

    /// Checks one mapping file's text on its own, as [`check`](Self::check) checks a file of
    /// the directory (`file` names it in the diagnostics): what `POST /admin/render` compiles
    /// a posted mapping with.
    pub fn check_text(&self, file: &Path, text: &str) -> Checked {
        let checked = self.with_options(|options| MappingSet::check_str(file, text, options));
        self.with_stage_checks(checked)
    }

    /// Builds the stacks of mappings that checked without errors.
    ///
    /// # Errors
    /// Every problem found in the stages' settings.
    pub fn build(&self, mappings: MappingSet) -> Result<Stacks, Vec<Diagnostic>> {
        Stacks::build(mappings, &self.registry, &self.resources)
    }

    /// Checks the mapping files and every source's stage settings to the end (`genhook
    /// check`): a file's errors do not stop the other files, nor the stage settings of its own
    /// sources, from being checked. The diagnostics hold every problem, sorted by file and line;
    /// nothing is served from the result.
    ///
    /// # Errors
    /// The mappings directory cannot be read.
    pub fn check(&self) -> Result<Checked, Diagnostic> {
        Ok(self.with_stage_checks(self.check_mappings()?))
    }

    /// Loads the mapping files and builds every stack.
    ///
    /// # Errors
    /// Every problem found in the files and in every stage's settings, sorted by file and line;
    /// the directory a previous load read from is gone.
    pub fn load(&self) -> Result<LoadedStacks, Vec<Diagnostic>> {
        let origin = self.origin();
        let mut loaded_from = self
            .loaded_from
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if origin.is_built_in() && matches!(*loaded_from, Some(MappingsOrigin::Directory(_))) {
            return Err(vec![Diagnostic::error(
                genhook_mapping::Span {
                    file: Arc::from(self.mappings_dir.as_path()),
                    line: 0,
                },
                "the mappings directory disappeared: keeping the mappings in use (a restart serves \
                 the built-in ones)",
            )]);
        }
        let loaded = self.load_mappings()?;
        let stacks = Stacks::build(loaded.mappings, &self.registry, &self.resources)?;
        *loaded_from = Some(origin);
        Ok(LoadedStacks {
            stacks,
            warnings: loaded.warnings,
        })
    }
}
