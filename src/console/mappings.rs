//! The files of `mappings_dir` (one `NAME.ini` each, `NAME` matching `[a-z0-9_-]+`: nothing
//! else is ever read or written, so a name cannot leave the directory), and fresh URL tokens.
//!
//! | request | answer |
//! |---|---|
//! | `GET /admin/mappings` | `200 {"mappings": [{"name", "sources", "url_paths", "built_in"}]}` |
//! | `GET /admin/mappings/{name}` | `200 {"name", "text", "sources", "built_in"}`, `404` |
//! | `PUT /admin/mappings/{name}` `{"text"}` | `200 {"name", "sources", "urls", "warnings", "exported", "reloaded"}`; `422` with `diagnostics`, nothing written |
//! | `DELETE /admin/mappings/{name}` | `200 {"deleted"}`, `404`; `422` when the rest of the directory does not validate without it; `409` on the built-in mappings |
//! | `POST /admin/token` | `200 {"token"}`: 32 URL-safe random characters |
//!
//! `app-config*` and `web-config*` are refused too: the directory skips them as the Python
//! predecessor's settings.
//!
//! A `PUT` checks the whole directory with the new text in place of the file, exactly as
//! `genhook check` would ([`Loader::check_replacing`](crate::loader::Loader::check_replacing)),
//! then writes it atomically (a temporary file renamed over it) and runs the hot reload at
//! once, so the next webhook uses it. A bad name is `400`.
//!
//! When no directory is at `mappings_dir` (the built-in mappings are served), the list and
//! `GET` show the built-in files (`"built_in": true`), a `DELETE` is `409` (export them first),
//! and a `PUT` creates
//! it holding the built-in mapping files (as `genhook mappings export` writes them) beside the
//! new one, since a directory, once there, wins over the built-in mappings: the sources in use
//! stay served. The answer's `exported` names the built-in files so written (`[]` otherwise).
//!
//! Every handler returns `Result<_, AdminError>`: its `{"error"}` answer is the one place errors
//! become responses (a check with errors is the `422` with `diagnostics` instead). A blocking
//! task that fails (panics) is `500`, as is a file that cannot be written.

use std::path::{Path, PathBuf};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use genhook_mapping::{Checked, MappingSet};
use http::HeaderMap;
use rand::Rng as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{diagnostic_json, invalid_mapping, problems_text, ConsoleState};
use crate::admin::AdminError;
use crate::bundled::{self, MappingsOrigin};

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

/// `GET /mappings`: the directory's mapping files, or the built-in ones (`"built_in": true`)
/// while `mappings_dir` does not exist.
pub(super) async fn list(State(state): State<ConsoleState>) -> Result<Response, AdminError> {
    let origin = origin(&state).await?;
    let files = blocking(move || mapping_files(&origin))
        .await?
        .map_err(|error| {
            AdminError::NotFound(format!("the mappings directory cannot be read: {error}"))
        })?;
    let stacks = state.app.stacks();
    let mappings: Vec<Value> = files
        .iter()
        .map(|file| {
            let (sources, url_paths) = sources_in(stacks.mappings(), &file.path);
            json!({
                "name": file.name,
                "sources": sources,
                "url_paths": url_paths,
                "built_in": file.built_in,
            })
        })
        .collect();
    Ok(Json(json!({ "mappings": mappings })).into_response())
}

/// A mapping file in use: its name, the path its sources' spans name, and whether it is one of
/// the built-in mappings.
struct MappingFile {
    name: String,
    path: PathBuf,
    built_in: bool,
}

/// The mapping files in use, sorted: the directory's, or the built-in ones.
fn mapping_files(origin: &MappingsOrigin) -> std::io::Result<Vec<MappingFile>> {
    match origin {
        MappingsOrigin::Directory(dir) => Ok(file_names(dir)?
            .into_iter()
            .map(|name| MappingFile {
                path: dir.join(format!("{name}.ini")),
                name,
                built_in: false,
            })
            .collect()),
        MappingsOrigin::BuiltIn(_) => Ok(bundled::FILES
            .iter()
            .filter_map(|(file, _)| {
                Some(MappingFile {
                    name: file.strip_suffix(".ini")?.to_owned(),
                    path: bundled::path(file),
                    built_in: true,
                })
            })
            .collect()),
    }
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

/// `GET /mappings/{name}`: a file of the directory, or a built-in mapping while
/// `mappings_dir` does not exist.
pub(super) async fn show(
    State(state): State<ConsoleState>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, AdminError> {
    let file = checked_name(&name)?;
    let built_in = origin(&state).await?.is_built_in();
    let (path, text) = if built_in {
        let text = bundled::text(&file).ok_or_else(|| no_mapping(&name))?;
        (bundled::path(&file), text.to_owned())
    } else {
        let path = state.loader.mappings_dir().join(&file);
        let text = tokio::fs::read_to_string(&path)
            .await
            .map_err(|_| no_mapping(&name))?;
        (path, text)
    };
    let (sources, _) = sources_in(state.app.stacks().mappings(), &path);
    Ok(
        Json(json!({ "name": name, "text": text, "sources": sources, "built_in": built_in }))
            .into_response(),
    )
}

/// `PUT /mappings/{name}`.
pub(super) async fn save(
    State(state): State<ConsoleState>,
    UrlPath(name): UrlPath<String>,
    uri: http::Uri,
    headers: HeaderMap,
    body: Result<Json<SaveBody>, JsonRejection>,
) -> Result<Response, AdminError> {
    let file = checked_name(&name)?;
    let text = body
        .map_err(|rejection| AdminError::BadRequest(rejection.body_text()))?
        .0
        .text;
    let _one_at_a_time = state.writing.lock().await;
    let path = state.loader.mappings_dir().join(&file);
    let checked = check_replacing(&state, &file, Some(text.clone())).await?;
    if checked.has_errors() {
        return Ok(refusal(&path, &checked));
    }
    let loader = state.loader.clone();
    let write_path = path.clone();
    let exported = blocking(move || match loader.origin() {
        MappingsOrigin::Directory(_) => write_atomically(&write_path, &text).map(|()| Vec::new()),
        MappingsOrigin::BuiltIn(dir) => create_with_built_in(&dir, &file, &text),
    })
    .await?
    .map_err(|error| {
        AdminError::Internal(format!("the mapping file could not be written: {error}"))
    })?;
    if exported.is_empty() {
        tracing::info!(file = %path.display(), "Mapping file written through the admin API.");
    } else {
        tracing::info!(
            file = %path.display(),
            exported = exported.len(),
            "Mappings directory created through the admin API, with the built-in mappings in use \
             and the mapping file."
        );
    }
    let reloaded = reload(&state).await;
    let (sources, url_paths) = sources_in(&checked.mappings, &path);
    let base = base_url(&state, &uri, &headers);
    let warnings: Vec<Value> = checked
        .diagnostics
        .iter()
        .filter(|d| *d.span.file == *path)
        .map(|d| diagnostic_json(&path, d))
        .collect();
    Ok(Json(json!({
        "name": name,
        "sources": sources,
        "urls": url_paths.iter().map(|p| format!("{base}{p}")).collect::<Vec<_>>(),
        "warnings": warnings,
        "exported": exported,
        "reloaded": reloaded,
    }))
    .into_response())
}

/// `DELETE /mappings/{name}`.
pub(super) async fn delete(
    State(state): State<ConsoleState>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, AdminError> {
    let file = checked_name(&name)?;
    let _one_at_a_time = state.writing.lock().await;
    if origin(&state).await?.is_built_in() {
        return Err(AdminError::Conflict(format!(
            "`{name}` is a built-in mapping ({} does not exist): export them with `genhook \
             mappings export {}`, then delete the file",
            state.loader.mappings_dir().display(),
            state.loader.mappings_dir().display()
        )));
    }
    let path = state.loader.mappings_dir().join(&file);
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Err(no_mapping(&name));
    }
    let checked = check_replacing(&state, &file, None).await?;
    if checked.has_errors() {
        return Ok(refusal(&path, &checked));
    }
    tokio::fs::remove_file(&path)
        .await
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => no_mapping(&name),
            _ => AdminError::Internal(format!("the mapping file could not be deleted: {error}")),
        })?;
    tracing::info!(file = %path.display(), "Mapping file deleted through the admin API.");
    let reloaded = reload(&state).await;
    Ok(Json(json!({ "deleted": name, "reloaded": reloaded })).into_response())
}

/// `404` for a mapping that is not there.
fn no_mapping(name: &str) -> AdminError {
    AdminError::NotFound(format!("no mapping `{name}`"))
}

/// Runs `work` off the async threads; a task that panicked or was cancelled is a `500` with
/// the reason.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AdminError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| AdminError::Internal(format!("the mapping task failed: {error}")))
}

/// Where the mappings are read from now (a look at `mappings_dir`, off the async threads).
async fn origin(state: &ConsoleState) -> Result<MappingsOrigin, AdminError> {
    let loader = state.loader.clone();
    blocking(move || loader.origin()).await
}

/// The whole directory checked as if `file` held `text` (`None`: as if it were deleted); an
/// unreadable directory is `404`.
async fn check_replacing(
    state: &ConsoleState,
    file: &str,
    text: Option<String>,
) -> Result<Checked, AdminError> {
    let loader = state.loader.clone();
    let file = file.to_owned();
    blocking(move || loader.check_replacing(&file, text.as_deref()))
        .await?
        .map_err(|unreadable| AdminError::NotFound(unreadable.to_string()))
}

/// The `422` of a change that would leave the mappings with errors.
fn refusal(path: &Path, checked: &Checked) -> Response {
    invalid_mapping(
        path,
        &problems_text(&checked.diagnostics),
        &checked.diagnostics,
    )
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
    blocking(move || hook()).await.unwrap_or(false)
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

/// Creates the mappings directory `dir` (which does not exist: the built-in mappings are
/// served) holding the built-in mappings and `text` as `file` (in place of the built-in file of
/// that name), all at once: the files are written into a hidden directory beside it
/// (`.NAME.genhook-new`), renamed to `dir` when complete, so a reload never sees part of them.
/// Returns the names of the built-in files written.
fn create_with_built_in(dir: &Path, file: &str, text: &str) -> std::io::Result<Vec<String>> {
    let Some(dir_name) = dir.file_name() else {
        return Err(std::io::Error::other(format!(
            "{}: not a directory name to create",
            dir.display()
        )));
    };
    let staging = dir.with_file_name(format!(".{}.genhook-new", dir_name.to_string_lossy()));
    if staging.exists() {
        // Left by a save that failed half-way: nothing reads it.
        std::fs::remove_dir_all(&staging)?;
    }
    let written = (|| {
        bundled::export(&staging, false).map_err(std::io::Error::other)?;
        std::fs::write(staging.join(file), text)?;
        std::fs::rename(&staging, dir)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(error);
    }
    Ok(bundled::FILES
        .iter()
        .filter(|(name, _)| *name != file)
        .map(|(name, _)| name.trim_end_matches(".ini").to_owned())
        .collect())
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

    /// A blocking task that fails (here: panics) is a `500` with a JSON reason, not a `400`.
    #[tokio::test]
    async fn a_failed_blocking_task_is_500_with_a_json_reason() {
        let failed = blocking(|| -> () { panic!("the task broke") })
            .await
            .err()
            .map(IntoResponse::into_response);
        let Some(response) = failed else {
            panic!("a panicking task was taken as done");
        };
        assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        let answer: Value = serde_json::from_slice(&body).unwrap_or_default();
        let reason = answer["error"].as_str().unwrap_or_default();
        assert!(reason.starts_with("the mapping task failed"), "{answer}");
    }

    #[test]
    fn tokens_are_32_url_safe_characters_and_differ() {
        let (a, b) = (token(), token());
        assert_eq!(a.len(), TOKEN_LEN);
        assert!(a.bytes().all(|c| TOKEN_ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
    }
}
