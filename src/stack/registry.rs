//! [`LayerRegistry`]: stages by name, and the build of one source's stack.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use genhook_core::{
    BuildContext, BuildError, Capability, Detector, LayerFactory, NoDetector, PipelineLayer,
    PipelineService,
};
use tower::Layer;

use super::timed::TimedLayer;

/// The order used when a source has no `layers =` line.
pub const DEFAULT_LAYERS: [&str; 6] = genhook_core::BUILT_IN_STAGES;

/// A stage of that name is registered already.
#[derive(Debug, thiserror::Error)]
#[error("a layer named `{0}` is registered already")]
pub struct DuplicateLayer(pub &'static str);

/// One stage of a source's stack, built from its settings, not yet wrapped around anything.
#[derive(Clone)]
pub struct BuiltStage {
    /// Its name on the `layers =` line.
    pub name: &'static str,
    /// What it provides to the stages after it.
    pub provides: &'static [Capability],
    /// Whether it ends the stack (`dispatch`).
    pub terminal: bool,
    /// The stage itself.
    pub layer: PipelineLayer,
}

impl fmt::Debug for BuiltStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltStage")
            .field("name", &self.name)
            .field("provides", &self.provides)
            .field("terminal", &self.terminal)
            .finish_non_exhaustive()
    }
}

/// Stages by the name used on a mapping's `layers =` line, and the [`Detector`] the edge asks
/// which provider sent a webhook posted without a source.
#[derive(Clone)]
pub struct LayerRegistry {
    factories: BTreeMap<&'static str, Arc<dyn LayerFactory>>,
    detector: Arc<dyn Detector>,
}

impl Default for LayerRegistry {
    fn default() -> Self {
        Self {
            factories: BTreeMap::new(),
            detector: Arc::new(NoDetector),
        }
    }
}

impl fmt::Debug for LayerRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerRegistry")
            .field("layers", &self.factories.keys().collect::<Vec<_>>())
            .field("detector", &self.detector)
            .finish()
    }
}

impl LayerRegistry {
    /// An empty registry (see [`super::builtin_registry`] for one with the built-in stages).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the [`Detector`] the edge asks (the built-in registry's is identify's
    /// [`Providers`](genhook_identify::Providers); a new registry's detects nothing).
    pub fn set_detector(&mut self, detector: impl Detector) -> &mut Self {
        self.detector = Arc::new(detector);
        self
    }

    /// The [`Detector`] the edge asks.
    pub fn detector(&self) -> Arc<dyn Detector> {
        Arc::clone(&self.detector)
    }

    /// Registers a stage under its name.
    ///
    /// # Errors
    /// When a stage of that name is registered already.
    pub fn register(&mut self, factory: impl LayerFactory) -> Result<&mut Self, DuplicateLayer> {
        let name = factory.name();
        if self.factories.contains_key(name) {
            return Err(DuplicateLayer(name));
        }
        self.factories.insert(name, Arc::new(factory));
        Ok(self)
    }

    /// A stage by name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn LayerFactory>> {
        self.factories.get(name)
    }

    /// The names of every registered stage.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.factories.keys().copied()
    }

    /// Every section key some registered stage reads (for the mapping loader's unknown-key check).
    pub fn settings_keys(&self) -> Vec<&'static str> {
        let mut keys: Vec<&'static str> = self
            .factories
            .values()
            .flat_map(|f| f.settings().iter().copied())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Checks a source's stage order and builds its stack around `leaf`: [`stages`](Self::stages)
    /// folded around the leaf, each stage timed.
    ///
    /// The leaf is only reached when the last stage is not terminal, which the check refuses, so
    /// in a valid stack it is never called.
    ///
    /// # Errors
    /// See [`stages`](Self::stages).
    pub fn build(
        &self,
        cx: &BuildContext<'_>,
        leaf: PipelineService,
    ) -> Result<PipelineService, Vec<BuildError>> {
        let stages = self.stages(cx)?;
        Ok(Self::fold(cx, &stages, leaf))
    }

    /// Wraps built stages around `leaf`, each timed: the served stack.
    pub fn fold(
        cx: &BuildContext<'_>,
        stages: &[BuiltStage],
        leaf: PipelineService,
    ) -> PipelineService {
        // The first name sees the request first, so it is the outermost wrapper.
        let source_name: Arc<str> = Arc::from(cx.source_name());
        stages.iter().rev().fold(leaf, |inner, stage| {
            let timed = TimedLayer::new(source_name.clone(), stage.name);
            PipelineService::new(timed.layer(stage.layer.layer(inner)))
        })
    }

    /// Checks a source's stage order and builds each of its stages, in the order of its
    /// `layers =` line (the default order without one): what [`build`](Self::build) folds into
    /// the served stack, and the offline pipeline ([`super::OfflineStack`]) into its own.
    ///
    /// # Errors
    /// Every problem: unknown names, repeated names, unmet requirements, a terminal stage that
    /// is not last or a last stage that is not terminal, and every stage's own settings errors.
    pub fn stages(&self, cx: &BuildContext<'_>) -> Result<Vec<BuiltStage>, Vec<BuildError>> {
        let source = cx.section();
        let (names, span) = match source.layers() {
            Some((names, span)) => (names, span.clone()),
            None => (
                DEFAULT_LAYERS.iter().map(|n| (*n).to_owned()).collect(),
                source.span().clone(),
            ),
        };
        let at = |message: String| BuildError::error(span.clone(), message);
        let mut errors = Vec::new();
        if names.is_empty() {
            errors.push(at("`layers =` names no layer".to_owned()));
        }

        let mut provided: Vec<Capability> = Vec::new();
        let mut factories = Vec::with_capacity(names.len());
        for (position, name) in names.iter().enumerate() {
            if names[..position].contains(name) {
                errors.push(at(format!("layer `{name}` is named twice")));
                continue;
            }
            let Some(factory) = self.get(name) else {
                let known: Vec<_> = self.names().collect();
                errors.push(at(format!(
                    "unknown layer `{name}` (known: {})",
                    known.join(", ")
                )));
                continue;
            };
            for need in factory.requires() {
                if !provided.contains(need) {
                    errors.push(at(format!(
                        "`{name}` needs `{}` from an earlier layer",
                        need.name()
                    )));
                }
            }
            let last = position + 1 == names.len();
            if factory.is_terminal() && !last {
                errors.push(at(format!(
                    "`{name}` ends the stack: it must be the last layer"
                )));
            }
            if last && !factory.is_terminal() {
                errors.push(at(format!(
                    "the last layer must end the stack (`dispatch`), not `{name}`"
                )));
            }
            provided.extend_from_slice(factory.provides());
            factories.push(factory);
        }

        let mut stages = Vec::with_capacity(factories.len());
        for factory in &factories {
            match factory.build(cx) {
                Ok(layer) => stages.push(BuiltStage {
                    name: factory.name(),
                    provides: factory.provides(),
                    terminal: factory.is_terminal(),
                    layer,
                }),
                Err(mut more) => errors.append(&mut more),
            }
        }
        if errors.is_empty() {
            Ok(stages)
        } else {
            errors.sort();
            errors.dedup();
            Err(errors)
        }
    }
}
