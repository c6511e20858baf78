//! The golden manifest (`tests/fixtures/golden.json`) and the shipped `mappings/`, for the tests
//! that replay real provider deliveries over HTTP.

use serde_json::Value;

use super::TestBuilder;

/// A path inside the repository.
pub fn repo_file(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Every entry of the golden manifest.
pub fn manifest() -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(repo_file("tests/fixtures/golden.json")).unwrap())
        .unwrap()
}

/// An entry's fixture body.
pub fn body(entry: &Value) -> Vec<u8> {
    let fixture = entry["fixture"].as_str().unwrap();
    std::fs::read(repo_file(&format!("tests/fixtures/{fixture}"))).unwrap()
}

/// An entry's request headers, as the provider sends them.
pub fn headers(entry: &Value) -> Vec<(String, String)> {
    entry["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Adds every shipped mapping file to a test service.
pub fn with_shipped_mappings(mut builder: TestBuilder) -> TestBuilder {
    let mut files: Vec<_> = std::fs::read_dir(repo_file("mappings"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "ini"))
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        builder = builder.mapping(&name, &std::fs::read_to_string(&path).unwrap());
    }
    builder
}
