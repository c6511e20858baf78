//! The identify stage's settings, validated once at load: `event`, `delivery_id`,
//! `sns_auto_confirm`, and the provider implied by the source's `verify` scheme.

use std::sync::Arc;

use genhook_mapping::{CompiledSource, Diagnostic, Setting};

use crate::provider::Provider;
use crate::selector::Selector;

/// The section keys the identify stage reads.
pub const SETTINGS: &[&str] = &["event", "delivery_id", "sns_auto_confirm"];

/// The identify stage's validated settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IdentifySettings {
    /// The provider the source's `verify` scheme names; `None` means "detect per request".
    pub provider: Option<Provider>,
    /// `event =`: where the event type is read; `None` means the provider default.
    pub event: Option<Selector>,
    /// `delivery_id =`: where the delivery id is read; `None` means the provider default.
    pub delivery_id: Option<Selector>,
    /// `sns_auto_confirm =` (default `true`): confirm SNS subscriptions by fetching SubscribeURL.
    pub sns_auto_confirm: bool,
    /// Whether the source verifies signatures with `aws-sns` (a condition of auto-confirming).
    pub verifies_sns: bool,
    /// The provider the source is named after (`[stripe]`, `github: ...`), if any: the last
    /// resort when neither `verify` nor the request's headers and payload name the sender, so a
    /// `stripe:` line without `event =` still reads Stripe's event type.
    pub named_provider: Option<Provider>,
    /// The source's mapping, when known (the factory sets it): metrics label an event type with
    /// the key of the line that names it, or `other` (see
    /// [`genhook_core::metrics::event_label`]), never with the payload's own value.
    pub mapping: Option<Arc<CompiledSource>>,
}

impl Default for IdentifySettings {
    fn default() -> Self {
        Self {
            provider: None,
            event: None,
            delivery_id: None,
            sns_auto_confirm: true,
            verifies_sns: false,
            named_provider: None,
            mapping: None,
        }
    }
}

impl IdentifySettings {
    /// Settings for a known provider, every other setting at its default.
    pub fn for_provider(provider: Provider) -> Self {
        Self {
            provider: Some(provider),
            ..Self::default()
        }
    }

    /// [`from_lookup`](Self::from_lookup) for the source `name`, which also names its provider
    /// when it is one (`stripe`, `github`, `aws`, ...): what the stage and `genhook render` use.
    ///
    /// # Errors
    /// As [`from_lookup`](Self::from_lookup).
    pub fn for_source<'a>(
        name: &str,
        lookup: impl Fn(&str) -> Option<&'a Setting>,
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut settings = Self::from_lookup(lookup)?;
        settings.named_provider = Provider::from_verify_scheme(name);
        Ok(settings)
    }

    /// Reads and validates the settings from a source's section (`lookup` returns a setting by
    /// key, as `CompiledSource::setting` does).
    ///
    /// # Errors
    /// Every bad value, each at its `FILE:LINE`.
    pub fn from_lookup<'a>(
        lookup: impl Fn(&str) -> Option<&'a Setting>,
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let mut settings = Self::default();
        if let Some(verify) = lookup("verify") {
            settings.provider = Provider::from_verify_scheme(&verify.value);
            settings.verifies_sns = verify.value.trim().eq_ignore_ascii_case("aws-sns");
        }
        let mut selector = |key: &str| {
            let setting = lookup(key)?;
            Selector::parse(&setting.value)
                .map_err(|message| {
                    errors.push(Diagnostic::error(
                        setting.span.clone(),
                        format!("{key}: {message}"),
                    ))
                })
                .ok()
        };
        settings.event = selector("event");
        settings.delivery_id = selector("delivery_id");
        if let Some(setting) = lookup("sns_auto_confirm") {
            match genhook_core::value::boolean(&setting.value) {
                Ok(value) => settings.sns_auto_confirm = value,
                Err(_) => errors.push(Diagnostic::error(
                    setting.span.clone(),
                    format!(
                        "sns_auto_confirm: `{}` is not true or false",
                        setting.value.trim()
                    ),
                )),
            }
        }
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genhook_mapping::Span;
    use std::collections::HashMap;
    use std::path::Path;
    use std::sync::Arc;

    fn settings(pairs: &[(&str, &str)]) -> HashMap<String, Setting> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let span = Span {
                    file: Arc::from(Path::new("mappings/x.ini")),
                    line: u32::try_from(i).unwrap() + 2,
                };
                (
                    (*k).to_owned(),
                    Setting {
                        value: (*v).to_owned(),
                        span,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn reads_every_key() {
        let map = settings(&[
            ("verify", "aws-sns"),
            ("event", "header:X-Kind"),
            ("delivery_id", "data.id"),
            ("sns_auto_confirm", "false"),
        ]);
        let parsed = IdentifySettings::from_lookup(|k| map.get(k)).unwrap();
        assert_eq!(parsed.provider, Some(Provider::Aws));
        assert!(parsed.verifies_sns);
        assert!(!parsed.sns_auto_confirm);
        assert_eq!(format!("{:?}", parsed.event.unwrap()), "header:x-kind");
        assert_eq!(format!("{:?}", parsed.delivery_id.unwrap()), "data.id");
    }

    #[test]
    fn generic_scheme_means_detection() {
        let map = settings(&[("verify", "hmac-sha256")]);
        let parsed = IdentifySettings::from_lookup(|k| map.get(k)).unwrap();
        assert_eq!(parsed.provider, None);
        assert!(parsed.sns_auto_confirm);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_line() {
        let map = settings(&[("event", "header:bad name"), ("sns_auto_confirm", "maybe")]);
        let errors = IdentifySettings::from_lookup(|k| map.get(k)).unwrap_err();
        let mut text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        text.sort();
        assert_eq!(text.len(), 2);
        assert!(text[0].starts_with("mappings/x.ini:2: event:"), "{text:?}");
        assert!(
            text[1].starts_with("mappings/x.ini:3: sns_auto_confirm:"),
            "{text:?}"
        );
    }
}
