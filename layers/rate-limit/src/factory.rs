//! [`RateLimitFactory`]: builds the `rate_limit` stage from a source's `rate_limit =` setting.

use genhook_core::{BuildContext, BuildError, LayerFactory, PipelineLayer};
use tower::util::BoxCloneSyncServiceLayer;

use crate::{parse_rate, RateLimitLayer};

/// The registry entry of the `rate_limit` stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateLimitFactory;

impl LayerFactory for RateLimitFactory {
    fn name(&self) -> &'static str {
        "rate_limit"
    }

    fn settings(&self) -> &'static [&'static str] {
        &["rate_limit"]
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        let layer = match cx.setting("rate_limit") {
            None => RateLimitLayer::unlimited(),
            Some(setting) => {
                let quota =
                    parse_rate(&setting.value).map_err(|m| vec![cx.error_at(setting, m)])?;
                RateLimitLayer::new(quota)
            }
        };
        Ok(BoxCloneSyncServiceLayer::new(layer))
    }
}
