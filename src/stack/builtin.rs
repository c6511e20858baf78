//! The built-in stages, registered by name.

use super::LayerRegistry;

/// A registry holding GenHook's six built-in stages: `verify`, `rate_limit`, `identify`,
/// `extract`, `template` and `dispatch`, and identify's provider [`Detector`](genhook_core::Detector).
pub fn builtin_registry() -> LayerRegistry {
    let mut registry = LayerRegistry::new();
    // The names are distinct constants of distinct crates, so registering cannot collide.
    let _ = registry.register(genhook_verify::VerifyFactory::new());
    let _ = registry.register(genhook_rate_limit::RateLimitFactory);
    let _ = registry.register(genhook_identify::IdentifyFactory);
    let _ = registry.register(genhook_extract::ExtractFactory);
    let _ = registry.register(genhook_template::TemplateFactory);
    let _ = registry.register(genhook_dispatch::DispatchFactory);
    registry.set_detector(genhook_identify::Providers);
    registry
}
