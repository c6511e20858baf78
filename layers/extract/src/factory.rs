//! [`ExtractFactory`]: builds the `extract` stage from a source's compiled mapping.

use std::sync::Arc;

use genhook_core::{BuildContext, BuildError, Capability, LayerFactory, PipelineLayer};
use genhook_mapping::CompiledSource;
use tower::util::BoxCloneSyncServiceLayer;

use crate::ExtractLayer;

/// The registry entry of the `extract` stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractFactory;

impl LayerFactory for ExtractFactory {
    fn name(&self) -> &'static str {
        "extract"
    }

    fn requires(&self) -> &'static [Capability] {
        &[Capability::IDENTIFIED]
    }

    fn provides(&self) -> &'static [Capability] {
        &[Capability::EXTRACTED]
    }

    fn settings(&self) -> &'static [&'static str] {
        &["unmapped"]
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        // The compiled mapping, left in the resources by the code that compiled it; `unmapped =`
        // was parsed (and a bad value reported) then.
        let Some(source) = cx.resource::<Arc<CompiledSource>>() else {
            return Err(vec![cx.error(
                "extract needs the source's compiled mapping, and the service provides none",
            )]);
        };
        let layer = ExtractLayer::new(Arc::clone(source)).with_unmapped(source.unmapped());
        Ok(BoxCloneSyncServiceLayer::new(layer))
    }
}
