//! [`Check`]: checks a JSON value exactly as parsing it into a `serde_json::Value` would — the
//! same parser code on every byte (nesting limit, escapes and lone surrogates, numbers), so the
//! same documents are refused with the same reason — and keeps nothing.
//!
//! The identify stage checks a webhook's text with it where it builds no value
//! (`layers/identify`'s shallow view), and [`FieldTree::extract_checked`](crate::FieldTree::extract_checked)
//! checks with it what the field tree does not name. `serde::de::IgnoredAny` is faster but not
//! as strict (it neither counts the nesting nor decodes escapes).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Checks one JSON value as `Value::deserialize` would (through `deserialize_any`, which counts
/// the nesting and decodes strings and numbers), keeping nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Check;

impl<'de> DeserializeSeed<'de> for Check {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Check {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Check)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Name)?.is_some() {
            map.next_value_seed(Check)?;
        }
        Ok(())
    }
}

/// A member name, checked as a `Value`'s keys are (`deserialize_str`) and dropped.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(Check)
    }
}
