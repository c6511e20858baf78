//! [`Unmapped`]: the `unmapped =` section setting, parsed once, when the mapping is compiled;
//! the extract stage reads the result ([`CompiledSource::unmapped`](crate::CompiledSource::unmapped)).

/// What to do with an event the source's mapping has no line for (`unmapped =`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmapped {
    /// Answer `422 {"error":"no mapping for event …"}` (the default): the provider's delivery log
    /// shows the webhook was not used.
    #[default]
    Reject,
    /// Answer `202 {"status":"ignored"}`: the provider sees success, nothing is queued.
    Ignore,
}

impl Unmapped {
    /// Parses `reject` or `ignore`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "reject" => Some(Self::Reject),
            "ignore" => Some(Self::Ignore),
            _ => None,
        }
    }
}
