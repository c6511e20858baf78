//! Extraction straight from JSON text: one pass over the bytes that builds only the declared
//! fields ([`FieldTree::extract_str`]), where [`FieldTree::extract`] needs the whole payload
//! parsed into a `serde_json::Value` first.
//!
//! The walk follows the tree: an object member the tree does not name is skipped unparsed
//! ([`IgnoredAny`]), a declared leaf is parsed whole, a declared object member is walked again.
//! Arrays whose elements are selected by index (`list{0}{id}`) are rare; they are parsed whole and
//! projected as [`FieldTree::extract`] does, so both give the same value on every document
//! (`tests/properties.rs` checks it).
//!
//! [`FieldTree::extract_checked`] is the same walk with the skipped parts checked ([`Check`])
//! instead of ignored: the whole text is then checked as a full parse checks it, in the pass that
//! extracts (the identify stage uses it when the event type comes from a header, so that a
//! webhook's text is read once).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::check::Check;
use crate::fields::{index_of, project, FieldTree, MAX_VALUE_DEPTH};

impl FieldTree {
    /// [`FieldTree::extract`] of the document `json`, without parsing the parts the tree does not
    /// name.
    ///
    /// Skipped parts are not checked as strictly as a full parse checks them (nesting depth,
    /// lone surrogates): give it text a full parse accepted (the identify stage checks it once).
    ///
    /// # Errors
    /// When `json` is not JSON.
    pub fn extract_str(&self, json: &str) -> Result<Value, serde_json::Error> {
        self.walk(json, false)
    }

    /// [`FieldTree::extract_str`] that checks the parts the tree does not name as strictly as a
    /// full parse into a `serde_json::Value` checks them ([`Check`]): the text is refused exactly
    /// when, and with the reason with which, `serde_json::from_str::<Value>` refuses it.
    ///
    /// # Errors
    /// When a full parse of `json` fails; the same error.
    pub fn extract_checked(&self, json: &str) -> Result<Value, serde_json::Error> {
        self.walk(json, true)
    }

    fn walk(&self, json: &str, strict: bool) -> Result<Value, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let projected = Project {
            node: self,
            depth: 0,
            strict,
        }
        .deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(match projected {
            Some(value @ Value::Object(_)) => value,
            _ => Value::Object(Map::new()),
        })
    }
}

/// The projection of one value on one tree node, as `project` in `fields.rs` computes it.
struct Project<'t> {
    node: &'t FieldTree,
    depth: usize,
    /// Whether what the tree does not name is checked ([`Check`]) rather than skipped.
    strict: bool,
}

impl Project<'_> {
    /// A value the tree does not name: checked or skipped.
    fn pass<'de, D: Deserializer<'de>>(&self, deserializer: D) -> Result<(), D::Error> {
        if self.strict {
            Check.deserialize(deserializer)
        } else {
            IgnoredAny::deserialize(deserializer).map(|_| ())
        }
    }
}

impl<'de> DeserializeSeed<'de> for Project<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        if self.node.is_leaf() {
            return Value::deserialize(deserializer).map(Some);
        }
        if self.depth > MAX_VALUE_DEPTH {
            return self.pass(deserializer).map(|()| None);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Project<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let Some(child) = self.node.child(&key) else {
                if self.strict {
                    map.next_value_seed(Check)?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
                continue;
            };
            let projected = map.next_value_seed(Project {
                node: child,
                depth: self.depth + 1,
                strict: self.strict,
            })?;
            // A repeated name: the last one counts, as in a parsed `Value`.
            match projected {
                Some(value) => out.insert(key.into_owned(), value),
                None => out.remove(key.as_ref()),
            };
        }
        Ok((!out.is_empty()).then_some(Value::Object(out)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let by_index = self
            .node
            .children()
            .any(|(name, _)| index_of(name).is_some());
        if by_index {
            // `list{0}{id}`: an element may be projected twice; parse the array and project it.
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<Value>()? {
                items.push(item);
            }
            return Ok(project(self.node, &Value::Array(items), self.depth));
        }
        let mut found = false;
        let mut out = Vec::new();
        while let Some(projected) = seq.next_element_seed(Project {
            node: self.node,
            depth: self.depth + 1,
            strict: self.strict,
        })? {
            found |= projected.is_some();
            out.push(projected.unwrap_or(Value::Null));
        }
        Ok(found.then_some(Value::Array(out)))
    }
}

/// An object member's name, borrowed from the text when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(name))
    }

    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(name.to_owned()))
    }
}
