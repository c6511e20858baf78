//! The files of `mappings_dir` (one `NAME.ini` each, `NAME` matching `[a-z0-9_-]+`: nothing
//! else is ever read or written, so a name cannot leave the directory), and fresh URL tokens.
//!
//! | request | answer |
//! |---|---|
//! | `GET /admin/mappings` | `200 {"mappings": [{"name", "sources", "url_paths"}]}` |
//! | `GET /admin/mappings/{name}` | `200 {"name", "text", "sources"}`, `404` |
//! | `PUT /admin/mappings/{name}` `{"text"}` | `200 {"name", "sources", "urls", "warnings"}`; `422` with `diagnostics`, nothing written |
//! | `DELETE /admin/mappings/{name}` | `200 {"deleted"}`, `404`; `422` when the rest of the directory does not validate without it |
//! | `POST /admin/token` | `200 {"token"}`: 32 URL-safe random characters |
//!
//! `app-config*` and `web-config*` are refused too: the directory skips them as the Python
//! predecessor's settings.
//!
//! A `PUT` checks the whole directory with the new text in place of the file, exactly as
//! `genhook check` would ([`Loader::check_replacing`](crate::loader::Loader::check_replacing)),
//! then writes it atomically (a temporary file renamed over it) and runs the hot reload at
//! once, so the next webhook uses it. A bad name is `400`.

use std::path::{Path, PathBuf};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use genhook_mapping::MappingSet;
use http::HeaderMap;
use rand::Rng as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{diagnostic_json, invalid_mapping, problems_text, ConsoleState};
use crate::admin::AdminError;

/// The characters of a URL token (RFC 4648's URL-safe alphabet).
const TOKEN_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// The length of a URL token.
const TOKEN_LEN: usize = 32;

/// `PUT` body.
#[derive(Debug, Deserialize)]
pub(super) struct SaveBody {
    text: String,
}

/// Whether `name` is a mapping's name: `[a-z0-9_-]+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn checked_name(name: &str) -> Result<String, AdminError> {
    let file = format!("{name}.ini");
    if is_valid_name(name) && genhook_mapping::is_predecessor_settings(Path::new(&file)) {
        Err(AdminError::BadRequest(format!(
            "`{name}` names the Python predecessor's settings, which the mappings directory skips"
        )))
    } else if is_valid_name(name) {
        Ok(file)
    } else {
        Err(AdminError::BadRequest(format!(
            "`{name}` is not a mapping name: use lower-case letters, digits, `_` and `-`"
        )))
    }
}

/// The sources (keys as served) whose section is written in `path`, with their URL paths.
fn sources_in(mappings: &MappingSet, path: &Path) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut paths = Vec::new();
    for (_, source) in mappings.keyed() {
        if *source.span().file != *path {
            continue;
        }
        let name = source.name().to_owned();
        if !names.contains(&name) {
            names.push(name.clone());
        }
        paths.push(match source.token() {
            Some(token) => format!("/webhook/{name}/{token}"),
            None => format!("/webhook/{name}"),
        });
    }
    (names, paths)
}

/// `GET /mappings`.
pub(super) async fn list(State(state): State<ConsoleState>) -> Response {
    let dir = state.loader.mappings_dir().to_owned();
    let names = match tokio::task::spawn_blocking(move || file_names(&dir)).await {
        Ok(Ok(names)) => names,
        Ok(Err(error)) => {
            return AdminError::NotFound(format!("the mappings directory cannot be read: {error}"))
                .into_response()
        }
        Err(error) => return AdminError::BadRequest(error.to_string()).into_response(),
    };
    let stacks = state.app.stacks();
    let mappings: Vec<Value> = names
        .iter()
        .map(|name| {
            let path = state.loader.mappings_dir().join(format!("{name}.ini"));
            let (sources, url_paths) = sources_in(stacks.mappings(), &path);
            json!({ "name": name, "sources": sources, "url_paths": url_paths })
        })
        .collect();
    Json(json!({ "mappings": mappings })).into_response()
}

/// The names of the directory's mapping files, sorted.
fn file_names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "ini"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .filter(|name| checked_name(name).is_ok())
        .collect();
    names.sort();
    Ok(names)
}

/// `GET /mappings/{name}`.
pub(super) async fn show(
    State(state): State<ConsoleState>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    let file = match checked_name(&name) {
        Ok(file) => file,
        Err(error) => return error.into_response(),
    };
    let path = state.loader.mappings_dir().join(file);
    match tokio::fs::read_to_string(&path).await {
        Ok(text) => {
            let (sources, _) = sources_in(state.app.stacks().mappings(), &path);
            Json(json!({ "name": name, "text": text, "sources": sources })).into_response()
        }
        Err(_) => AdminError::NotFound(format!("no mapping `{name}`")).into_response(),
    }
}

/// `PUT /mappings/{name}`.
pub(super) async fn save(
    State(state): State<ConsoleState>,
    UrlPath(name): UrlPath<String>,
    uri: http::Uri,
    headers: HeaderMap,
    body: Result<Json<SaveBody>, JsonRejection>,
) -> Response {
    let file = match checked_name(&name) {
        Ok(file) => file,
        Err(error) => return error.into_response(),
    };
    let text = match body {
        Ok(Json(body)) => body.text,
        Err(rejection) => return AdminError::BadRequest(rejection.body_text()).into_response(),
    };
    let _one_at_a_time = state.writing.lock().await;
    let path = state.loader.mappings_dir().join(&file);
    let loader = state.loader.clone();
    let (check_file, check_text) = (file.clone(), text.clone());
    let checked = match tokio::task::spawn_blocking(move || {
        loader.check_replacing(&check_file, Some(&check_text))
    })
    .await
    {
        Ok(Ok(checked)) => checked,
        Ok(Err(unreadable)) => {
            return AdminError::NotFound(unreadable.to_string()).into_response();
        }
        Err(error) => return AdminError::BadRequest(error.to_string()).into_response(),
    };
    if checked.has_errors() {
        return invalid_mapping(
            &path,
            &problems_text(&checked.diagnostics),
            &checked.diagnostics,
        );
    }
    let write_path = path.clone();
    let written = tokio::task::spawn_blocking(move || write_atomically(&write_path, &text)).await;
    if let Err(error) = written.map_err(std::io::Error::other).and_then(|r| r) {
        tracing::error!(file = %path.display(), %error, "Mapping file not written.");
        return AdminError::BadRequest(format!("the mapping file could not be written: {error}"))
            .into_response();
    }
    tracing::info!(file = %path.display(), "Mapping file written through the admin API.");
    let reloaded = reload(&state).await;
    let (sources, url_paths) = sources_in(&checked.mappings, &path);
    let base = base_url(&state, &uri, &headers);
    let warnings: Vec<Value> = checked
        .diagnostics
        .iter()
        .filter(|d| *d.span.file == *path)
        .map(|d| diagnostic_json(&path, d))
        .collect();
    Json(json!({
        "name": name,
        "sources": sources,
        "urls": url_paths.iter().map(|p| format!("{base}{p}")).collect::<Vec<_>>(),
        "warnings": warnings,
        "reloaded": reloaded,
    }))
    .into_response()
}

/// `DELETE /mappings/{name}`.
pub(super) async fn delete(
    State(state): State<ConsoleState>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    let file = match checked_name(&name) {
        Ok(file) => file,
        Err(error) => return error.into_response(),
    };
    let _one_at_a_time = state.writing.lock().await;
    let path = state.loader.mappings_dir().join(&file);
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return AdminError::NotFound(format!("no mapping `{name}`")).into_response();
    }
    let loader = state.loader.clone();
    let check_file = file.clone();
    let checked =
        tokio::task::spawn_blocking(move || loader.check_replacing(&check_file, None)).await;
    match checked {
        Ok(Ok(checked)) if checked.has_errors() => {
            return invalid_mapping(
                &path,
                &problems_text(&checked.diagnostics),
                &checked.diagnostics,
            )
        }
        Ok(Ok(_)) => {}
        Ok(Err(unreadable)) => return AdminError::NotFound(unreadable.to_string()).into_response(),
        Err(error) => return AdminError::BadRequest(error.to_string()).into_response(),
    }
    if let Err(error) = tokio::fs::remove_file(&path).await {
        return AdminError::NotFound(format!("no mapping `{name}`: {error}")).into_response();
    }
    tracing::info!(file = %path.display(), "Mapping file deleted through the admin API.");
    let reloaded = reload(&state).await;
    Json(json!({ "deleted": name, "reloaded": reloaded })).into_response()
}

/// `POST /token`.
pub(super) async fn new_token() -> Response {
    Json(json!({ "token": token() })).into_response()
}

/// A fresh URL token: 32 characters of the URL-safe alphabet.
pub fn token() -> String {
    let mut rng = rand::rng();
    (0..TOKEN_LEN)
        .map(|_| char::from(TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())]))
        .collect()
}

/// Runs the hot reload off the async threads; whether the mappings were taken.
async fn reload(state: &ConsoleState) -> bool {
    let hook = state.reload.clone();
    tokio::task::spawn_blocking(move || hook())
        .await
        .unwrap_or(false)
}

/// Writes `text` to a temporary file beside `path` (not `*.ini`: never loaded), then renames
/// it over `path`: a reader sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temp = PathBuf::from(path);
    temp.set_extension("ini.tmp");
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// `SCHEME://HOST[:PORT]` of the request (its `Host` header, or HTTP/2's authority).
fn base_url(state: &ConsoleState, uri: &http::Uri, headers: &HeaderMap) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|host| !host.is_empty())
        .or_else(|| uri.authority().map(http::uri::Authority::as_str))
        .unwrap_or("localhost");
    format!("{}://{host}", state.scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_letters_digits_underscore_and_dash() {
        assert!(is_valid_name("github_2-a"));
        for bad in ["", "..", "../x", "a/b", "A", "a.ini", "a b", "a\\b"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn tokens_are_32_url_safe_characters_and_differ() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(a.bytes().all(|c| TOKEN_ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
    }
}
