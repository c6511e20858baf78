//! [`IdentifyFactory`]: builds the identify stage from a source's settings, once, at load.

use std::sync::Arc;

use genhook_core::{
    BuildContext, BuildError, Capability, LayerFactory, PipelineLayer, BUILT_IN_STAGES,
};
use genhook_mapping::CompiledSource;
use tower::util::BoxCloneSyncServiceLayer;

use crate::layer::IdentifyLayer;
use crate::settings::{IdentifySettings, SETTINGS};
use crate::sns::SnsConfirmer;

/// The registry entry of the identify stage: name `identify`, provides
/// [`Capability::IDENTIFIED`], requires nothing.
///
/// The SNS confirmer comes from the resource `SnsConfirmer` when the service provides one;
/// otherwise, for a source that verifies with `aws-sns` and auto-confirms, one is built with a
/// default client (production host rule).
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentifyFactory;

impl LayerFactory for IdentifyFactory {
    fn name(&self) -> &'static str {
        "identify"
    }

    fn provides(&self) -> &'static [Capability] {
        &[Capability::IDENTIFIED]
    }

    fn settings(&self) -> &'static [&'static str] {
        SETTINGS
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        let mut settings = IdentifySettings::for_source(cx.source_name(), |key| cx.setting(key))?;
        // The compiled mapping, left in the resources by the code that compiled it.
        settings.mapping = cx.resource::<Arc<CompiledSource>>().cloned();
        let confirmer = match cx.resource::<SnsConfirmer>() {
            Some(confirmer) => Some(confirmer.clone()),
            None if settings.verifies_sns && settings.sns_auto_confirm => {
                let client = reqwest::Client::builder().build().map_err(|e| {
                    vec![cx.error(format!("cannot build the SNS HTTP client: {e}"))]
                })?;
                Some(SnsConfirmer::new(client))
            }
            None => None,
        };
        let mut layer = IdentifyLayer::new(settings);
        if reads_no_payload(cx) {
            layer = layer.json_body();
        }
        if let Some(confirmer) = confirmer {
            layer = layer.with_sns_confirmer(confirmer);
        }
        Ok(BoxCloneSyncServiceLayer::new(layer))
    }
}

/// Whether the source's stack is made of built-in stages only (the default stack, or a
/// `layers =` line naming only those): a stage of one's own may read the parsed `Payload`, which
/// identify then still leaves.
fn reads_no_payload(cx: &BuildContext<'_>) -> bool {
    cx.section().layers().is_none_or(|(names, _)| {
        names
            .iter()
            .all(|name| BUILT_IN_STAGES.contains(&name.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_entry_names_what_it_provides_and_reads() {
        let factory = IdentifyFactory;
        assert_eq!(factory.name(), "identify");
        assert!(factory.requires().is_empty());
        assert_eq!(factory.provides(), &[Capability::IDENTIFIED]);
        assert_eq!(
            factory.settings(),
            &["event", "delivery_id", "sns_auto_confirm"]
        );
        assert!(!factory.is_terminal());
    }
}
