//! [`CompiledLine`]: one mapping line compiled (its field tree, its template, the source's
//! message prefix) and what rendering it may fail with.

use std::sync::Arc;

use serde_json::Value;

use crate::{template, FieldTree, Span};

/// One compiled mapping line: the field extraction and the message template.
#[derive(Debug)]
pub struct CompiledLine {
    pub(crate) key: Arc<str>,
    pub(crate) span: Span,
    pub(crate) sectionless: bool,
    pub(crate) fields: FieldTree,
    /// The `name=$…` fields.
    pub(crate) paths: Vec<crate::jsonpath::PathField>,
    pub(crate) template: template::Compiled,
    pub(crate) template_text: String,
    pub(crate) prefix: Arc<str>,
}

impl CompiledLine {
    /// The line's key: an event type, a glob, `*`, or the source name for a line outside any
    /// section.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where the line was written.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Whether the line was written outside any section (or on a legacy `[webhooks]` line), so
    /// it maps every event of its source.
    pub fn maps_every_event(&self) -> bool {
        self.sectionless
    }

    /// The compiled field list.
    pub fn fields(&self) -> &FieldTree {
        &self.fields
    }

    /// The template as written.
    pub fn template_text(&self) -> &str {
        &self.template_text
    }

    /// [`CompiledLine::extract`] straight from the payload's JSON text, parsing only the
    /// declared fields ([`FieldTree::extract_str`]).
    ///
    /// # Errors
    /// When `json` is not JSON.
    pub fn extract_str(&self, json: &str) -> Result<Value, serde_json::Error> {
        if self.has_json_paths() {
            return serde_json::from_str(json).map(|payload| self.extract(&payload));
        }
        self.fields.extract_str(json)
    }

    /// [`CompiledLine::extract_str`] that also checks the whole text as a full parse does
    /// ([`FieldTree::extract_checked`]): one pass where a check and an extraction took two.
    ///
    /// # Errors
    /// Exactly when, and with the reason with which, `serde_json::from_str::<Value>` refuses
    /// `json`.
    pub fn extract_checked(&self, json: &str) -> Result<Value, serde_json::Error> {
        if self.has_json_paths() {
            return serde_json::from_str(json).map(|payload| self.extract(&payload));
        }
        self.fields.extract_checked(json)
    }

    /// Renders the message from extracted fields.
    ///
    /// # Errors
    /// When a helper fails (e.g. a raw `{{…}}` expression given a wrong argument).
    pub fn render(&self, fields: &Value) -> Result<String, RenderError> {
        self.render_owned(fields.clone())
    }

    /// [`CompiledLine::render`] taking the fields, so that they are not copied (the template
    /// engine's context owns what it renders).
    ///
    /// # Errors
    /// As [`CompiledLine::render`].
    pub fn render_owned(&self, fields: Value) -> Result<String, RenderError> {
        let message = self.template.render(fields).map_err(|reason| RenderError {
            span: self.span.clone(),
            reason,
        })?;
        if self.prefix.is_empty() {
            return Ok(message);
        }
        Ok(format!("{}{message}", self.prefix))
    }

    /// What every message of the line starts with (`message_prefix =`; empty by default,
    /// `service|token|` on a predecessor `[webhooks]` line).
    pub fn message_prefix(&self) -> &str {
        &self.prefix
    }
}

/// Rendering a template failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template of {span} failed: {reason}")]
pub struct RenderError {
    /// The line whose template failed.
    pub span: Span,
    /// Why.
    pub reason: String,
}
