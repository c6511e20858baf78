//! The console's files, compiled into the binary: path under `/console/`, content type, bytes.

/// One file of the console.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asset {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $kind:expr),* $(,)?) => {
        /// Every file, by its path under `/console/`.
        const ASSETS: &[(&str, Asset)] = &[
            $(($path, Asset { content_type: $kind, body: include_bytes!(concat!("assets/", $path)) }),)*
        ];
    };
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

assets! {
    "index.html" => HTML,
    "console.css" => CSS,
    "icon.svg" => SVG,
    "js/main.js" => JS,
    "js/api.js" => JS,
    "js/dom.js" => JS,
    "js/tree.js" => JS,
    "js/fields.js" => JS,
    "js/mappings.js" => JS,
    "js/builder.js" => JS,
    "js/recipes.js" => JS,
    "js/deliveries.js" => JS,
    "js/refused.js" => JS,
    "js/dlq.js" => JS,
    "js/health.js" => JS,
    "js/policy.js" => JS,
}

/// The file at `path` (under `/console/`), if the console has one.
pub(super) fn find(path: &str) -> Option<Asset> {
    ASSETS
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, asset)| *asset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_the_type_of_its_extension() {
        for (path, asset) in ASSETS {
            let expected = match path.rsplit('.').next() {
                Some("html") => HTML,
                Some("css") => CSS,
                Some("js") => JS,
                Some("svg") => SVG,
                other => panic!("{path}: no content type for {other:?}"),
            };
            assert_eq!(asset.content_type, expected, "{path}");
            assert!(!asset.body.is_empty(), "{path}");
        }
    }

    #[test]
    fn no_inline_script_nor_foreign_origin_in_the_page() {
        let page = std::str::from_utf8(find("index.html").map(|a| a.body).unwrap_or_default())
            .unwrap_or_default();
        assert!(page.contains("<script type=\"module\" src=\"/console/js/main.js\">"));
        assert!(!page.contains("<script>"), "an inline script");
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(find("../mod.rs").is_none() && find("nope.js").is_none());
    }
}
