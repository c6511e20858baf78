//! [`TemplateFactory`]: builds the `template` stage. It has no settings of its own: the templates
//! were compiled with the mapping.

use genhook_core::{BuildContext, BuildError, Capability, LayerFactory, PipelineLayer};
use tower::util::BoxCloneSyncServiceLayer;

use crate::TemplateLayer;

/// The registry entry of the `template` stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateFactory;

impl LayerFactory for TemplateFactory {
    fn name(&self) -> &'static str {
        "template"
    }

    fn requires(&self) -> &'static [Capability] {
        &[Capability::EXTRACTED]
    }

    fn provides(&self) -> &'static [Capability] {
        &[Capability::RENDERED]
    }

    fn build(&self, _cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        Ok(BoxCloneSyncServiceLayer::new(TemplateLayer::new()))
    }
}
