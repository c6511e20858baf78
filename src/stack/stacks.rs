//! [`Stacks`]: every source's built stack, the immutable snapshot the router reads. A reload
//! builds a new one and swaps it whole; one that fails to build never replaces a working one.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use genhook_core::{BuildContext, BuildError, PipelineError, PipelineService};
use genhook_mapping::{CompiledSource, MappingSet};
use subtle::ConstantTimeEq;

use super::offline::{OfflineStack, Verify};
use super::registry::BuiltStage;
use super::LayerRegistry;

/// One source's route: its compiled mapping and its stack.
#[derive(Clone)]
pub struct SourceRoute {
    /// The source's compiled mapping.
    pub source: Arc<CompiledSource>,
    /// The stack its webhooks go through.
    pub stack: PipelineService,
    /// The stages `stack` was folded from, for its offline stacks.
    stages: Arc<[BuiltStage]>,
    /// The source's redaction policy, built once with the stack: what a refused request's
    /// record masks.
    pub redaction: Arc<genhook_core::redact::RedactionPolicy>,
}

impl SourceRoute {
    /// The source's offline stack ([`OfflineStack`]): the same built stages as [`stack`](Self::stack),
    /// up to the one that renders, ending in a leaf that captures the message.
    pub fn offline(&self, verify: Verify) -> OfflineStack {
        OfflineStack::new(Arc::clone(&self.source), &self.stages, verify)
    }
}

impl fmt::Debug for SourceRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceRoute")
            .field("source", &self.source.name())
            .finish_non_exhaustive()
    }
}

/// Every source's stack, built from one consistent set of mappings.
#[derive(Debug, Clone)]
pub struct Stacks {
    mappings: MappingSet,
    routes: BTreeMap<String, SourceRoute>,
    detector: Arc<dyn genhook_core::Detector>,
}

/// The end of a stack whose last stage is not terminal (refused at load, so never reached).
#[derive(Debug, thiserror::Error)]
#[error("the stack has no terminal stage")]
struct NoTerminalStage;

impl Default for Stacks {
    /// No source, and a detector that knows no provider.
    fn default() -> Self {
        Self {
            mappings: MappingSet::default(),
            routes: BTreeMap::new(),
            detector: Arc::new(genhook_core::NoDetector),
        }
    }
}

impl Stacks {
    /// The [`Detector`](genhook_core::Detector) of the registry the stacks were built from.
    pub fn detector(&self) -> &dyn genhook_core::Detector {
        self.detector.as_ref()
    }

    /// Builds every source's stack.
    ///
    /// # Errors
    /// Every build error of every source, sorted by file and line.
    pub fn build(
        mappings: MappingSet,
        registry: &LayerRegistry,
        resources: &http::Extensions,
    ) -> Result<Self, Vec<BuildError>> {
        let mut routes = BTreeMap::new();
        let mut errors = Vec::new();
        for (key, source) in mappings.keyed() {
            match build_one(source, registry, resources) {
                Ok((stack, stages)) => {
                    routes.insert(
                        key.to_owned(),
                        SourceRoute {
                            redaction: Arc::new(genhook_core::redact::RedactionPolicy::for_source(
                                |key| source.setting(key),
                            )),
                            source: source.clone(),
                            stack,
                            stages,
                        },
                    );
                }
                Err(mut more) => errors.append(&mut more),
            }
        }
        if errors.is_empty() {
            Ok(Self {
                mappings,
                routes,
                detector: registry.detector(),
            })
        } else {
            errors.sort();
            errors.dedup();
            Err(errors)
        }
    }

    /// Builds every source's stack of a set that may have errors, only for its problems
    /// (`genhook check`), sorted by file and line. A source with a setting left out for an
    /// error already reported (an unset `${NAME}`, see
    /// [`CompiledSource::has_unresolved_settings`]) keeps only the problems written at a
    /// setting's line: those at its section header are about missing settings, which that
    /// error may cause.
    pub fn check(
        mappings: &MappingSet,
        registry: &LayerRegistry,
        resources: &http::Extensions,
    ) -> Vec<BuildError> {
        let mut errors = Vec::new();
        for source in mappings.sources() {
            if let Err(more) = build_one(source, registry, resources) {
                let unresolved = source.has_unresolved_settings();
                errors.extend(
                    more.into_iter()
                        .filter(|error| !unresolved || error.span != *source.span()),
                );
            }
        }
        errors.sort();
        errors.dedup();
        errors
    }

    /// A source's route.
    pub fn route(&self, source: &str) -> Option<&SourceRoute> {
        self.routes.get(source)
    }

    /// The route a webhook posted to `/webhook/{source}` (`token` `None`) or
    /// `/webhook/{source}/{token}` takes: a source with a URL token is served with that token
    /// only, one without only without one. A predecessor service with several tokens has a
    /// route per token (kept as `service`, `service#2`, …); every candidate's token is compared
    /// in constant time, so tokens cannot be probed.
    pub fn route_for(&self, source: &str, token: Option<&str>) -> Option<&SourceRoute> {
        let variant = |key: &str| {
            key == source
                || key
                    .strip_prefix(source)
                    .is_some_and(|rest| rest.starts_with('#'))
        };
        let mut found = None;
        for (_, route) in self
            .routes
            .range::<str, _>((
                std::ops::Bound::Included(source),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(key, _)| variant(key))
        {
            let matches = match (route.source.token(), token) {
                (None, None) => true,
                (Some(expected), Some(given)) => {
                    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
                }
                _ => false,
            };
            if matches && found.is_none() {
                found = Some(route);
            }
        }
        found
    }

    /// Every route, by source name.
    pub fn routes(&self) -> impl Iterator<Item = &SourceRoute> {
        self.routes.values()
    }

    /// The mappings the stacks were built from.
    pub fn mappings(&self) -> &MappingSet {
        &self.mappings
    }
}

/// Builds one source's stages, and its stack from them.
fn build_one(
    source: &Arc<CompiledSource>,
    registry: &LayerRegistry,
    resources: &http::Extensions,
) -> Result<(PipelineService, Arc<[BuiltStage]>), Vec<BuildError>> {
    // The compiled mapping goes into the context's typed resources, for the stages that read it
    // (`identify`, `extract`, `dispatch`): genhook-core knows no mapping language.
    let mut resources = resources.clone();
    resources.insert(Arc::clone(source));
    let cx = BuildContext::new(source.section(), &resources);
    let stages = registry.stages(&cx)?;
    let leaf = PipelineService::new(tower::service_fn(|_request| async {
        Err::<genhook_core::WebhookResponse, _>(PipelineError::internal(NoTerminalStage))
    }));
    let stack = LayerRegistry::fold(&cx, &stages, leaf);
    Ok((stack, stages.into()))
}
