//! [`DispatchFactory`]: builds the `dispatch` stage from a source's section and the service's
//! queue.

use std::sync::Arc;

use genhook_core::queue::{Priority, Queue};
use genhook_core::redact::RedactionPolicy;
use genhook_core::{
    AlertDefaults, BuildContext, BuildError, Capability, LayerFactory, PipelineLayer,
};
use genhook_mapping::CompiledSource;
use tower::util::BoxCloneSyncServiceLayer;

use crate::{parse_duration, DedupBy, DispatchLayer, DispatchSettings};

/// The registry entry of the `dispatch` stage. Needs the resource `Arc<dyn Queue>` in the
/// [`BuildContext`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DispatchFactory;

impl LayerFactory for DispatchFactory {
    fn name(&self) -> &'static str {
        "dispatch"
    }

    fn requires(&self) -> &'static [Capability] {
        &[Capability::RENDERED]
    }

    fn settings(&self) -> &'static [&'static str] {
        &["priority", "dedup_window", "dedup_by"]
    }

    fn is_terminal(&self) -> bool {
        true
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        let mut errors = Vec::new();
        let settings = settings(cx, &mut errors);
        let queue = cx.resource::<Arc<dyn Queue>>();
        if queue.is_none() {
            errors.push(cx.error("dispatch needs a queue, and the service provides none"));
        }
        match queue {
            Some(queue) if errors.is_empty() => Ok(BoxCloneSyncServiceLayer::new(
                DispatchLayer::new(Arc::clone(queue), settings),
            )),
            _ => Err(errors),
        }
    }
}

/// Reads and validates the section's settings, pushing every problem to `errors`.
fn settings(cx: &BuildContext<'_>, errors: &mut Vec<BuildError>) -> DispatchSettings {
    let mut settings = DispatchSettings::new(cx.source_name());
    if let Some(setting) = cx.setting("priority") {
        match Priority::parse(&setting.value) {
            Some(priority) => settings.priority = priority,
            None => errors.push(cx.error_at(
                setting,
                format!(
                    "bad priority `{}`: expected high, normal or low",
                    setting.value
                ),
            )),
        }
    }
    if let Some(setting) = cx.setting("dedup_window") {
        match parse_duration(&setting.value) {
            Ok(window) => settings.dedup_window = window,
            Err(message) => errors.push(cx.error_at(setting, format!("dedup_window: {message}"))),
        }
    }
    if let Some(setting) = cx.setting("dedup_by") {
        match DedupBy::parse(&setting.value) {
            Some(dedup_by) => settings.dedup_by = dedup_by,
            None => errors.push(cx.error_at(
                setting,
                format!(
                    "dedup_by: unknown value `{}`; expected {}",
                    setting.value.trim(),
                    DedupBy::VALUES
                ),
            )),
        }
    }
    // The source's own secret headers (`token_header`, …) are the verify stage's settings: read
    // here too, so that what is stored never keeps them.
    settings.redaction = RedactionPolicy::for_source(|key| cx.setting(key));
    let mut alert = alert_defaults(|key| cx.setting(key));
    // `align =` was parsed (and a bad value reported) when the mapping was compiled; the
    // compiled mapping is in the resources, left there by the code that compiled it.
    if let Some(setting) = cx.setting("align") {
        match cx.resource::<Arc<CompiledSource>>() {
            Some(source) => {
                if let Some(resource) = source.aligned_resource() {
                    alert.aligned_resource = resource;
                }
            }
            None => errors.push(cx.error_at(
                setting,
                "align needs the source's compiled mapping, and the service provides none",
            )),
        }
    }
    settings.alert = alert;
    settings
}

/// A section's SL1 alert fields other than the message and the alignment (`force_ytype`,
/// `force_yid`, `force_yname`, `value`, `threshold`, `message_time`), SL1's defaults where the
/// section sets none: what the `dispatch` stage puts in every alert (with `align =`'s
/// resource), and what the admin API's render shows.
pub fn alert_defaults<'a>(
    setting: impl Fn(&str) -> Option<&'a genhook_core::Setting>,
) -> AlertDefaults {
    let mut alert = AlertDefaults::default();
    let fields: [(&str, &mut String); 6] = [
        ("force_ytype", &mut alert.force_ytype),
        ("force_yid", &mut alert.force_yid),
        ("force_yname", &mut alert.force_yname),
        ("value", &mut alert.value),
        ("threshold", &mut alert.threshold),
        ("message_time", &mut alert.message_time),
    ];
    for (key, field) in fields {
        if let Some(setting) = setting(key) {
            field.clone_from(&setting.value);
        }
    }
    alert
}
