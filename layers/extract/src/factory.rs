//! [`ExtractFactory`]: builds the `extract` stage from a source's compiled mapping.

use genhook_core::{BuildContext, BuildError, Capability, LayerFactory, PipelineLayer};
use tower::util::BoxCloneSyncServiceLayer;

use crate::{ExtractLayer, Unmapped};

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
        let unmapped = match cx.setting("unmapped") {
            None => Unmapped::Reject,
            Some(setting) => Unmapped::parse(&setting.value).ok_or_else(|| {
                vec![cx.error_at(
                    setting,
                    format!(
                        "bad unmapped `{}`: expected reject or ignore",
                        setting.value
                    ),
                )]
            })?,
        };
        let layer = ExtractLayer::new(cx.source().clone()).with_unmapped(unmapped);
        Ok(BoxCloneSyncServiceLayer::new(layer))
    }
}
