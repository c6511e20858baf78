//! `POST /admin/render`: one payload through a source's offline stack, the code of `genhook
//! render` ([`crate::stack::OfflineStack`]), with the saved mapping or with a mapping text the
//! console posts, compiled by the same [`Loader`](crate::loader::Loader) code `genhook check`
//! runs (so its problems read the same, at their line in the posted text).
//!
//! Body: `{"source", "mapping"?: "<whole mapping file text>", "event"?, "headers"?: {name:
//! value}, "payload"?: <any JSON value, or a string holding the raw body>}`.
//!
//! | answer | when |
//! |---|---|
//! | `200 {"event", "message", "alert"}` | rendered (`"messages"` too when a batch renders several) |
//! | `422 {"error", "diagnostics": [...]}` | the posted mapping has errors; or the payload does not render (no line matches its event: `diagnostics` empty) |
//! | `404` | no `mapping` posted and no saved source of that name |
//! | `400` | the body is not that JSON, or a header is not a valid header |

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{json, Value};

use super::state::{invalid_mapping, problems_text, ConsoleState};
use crate::admin::AdminError;
use crate::stack::{SourceRoute, Verify};

/// The request body.
#[derive(Debug, Deserialize)]
pub(super) struct RenderBody {
    source: String,
    mapping: Option<String>,
    event: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    payload: Option<Value>,
}

/// `POST /render`.
pub(super) async fn render(
    State(state): State<ConsoleState>,
    body: Result<Json<RenderBody>, JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(body)) => body,
        Err(rejection) => return AdminError::BadRequest(rejection.body_text()).into_response(),
    };
    let headers = match header_map(&body.headers) {
        Ok(headers) => headers,
        Err(reason) => return AdminError::BadRequest(reason).into_response(),
    };
    let payload = match &body.payload {
        Some(Value::String(raw)) => Bytes::from(raw.clone()),
        Some(value) => Bytes::from(value.to_string()),
        None => Bytes::from_static(b"{}"),
    };
    let route = match &body.mapping {
        Some(text) => match compile(&state, &body.source, text).await {
            Ok(route) => route,
            Err(response) => return response,
        },
        None => match state.app.stacks().route(&body.source) {
            Some(route) => route.clone(),
            None => {
                return AdminError::NotFound(format!("unknown source `{}`", body.source))
                    .into_response()
            }
        },
    };
    let rendered = route
        .offline(Verify::Skip)
        .render(headers, payload, body.event.as_deref())
        .await;
    match rendered {
        Ok(messages) => {
            let defaults = genhook_dispatch::alert_defaults(|key| route.source.setting(key));
            let mut defaults = defaults;
            if let Some(resource) = route.source.aligned_resource() {
                defaults.aligned_resource = resource;
            }
            let Some(first) = messages.first() else {
                return invalid_mapping(&PathBuf::new(), "no message was rendered", &[]);
            };
            let mut answer = json!({
                "event": first.event,
                "message": first.message,
                "alert": defaults.alert(first.message.clone()),
            });
            if messages.len() > 1 {
                answer["messages"] = messages.iter().map(|m| json!(m.message)).collect();
            }
            Json(answer).into_response()
        }
        Err(problem) => invalid_mapping(&PathBuf::new(), &problem.to_string(), &[]),
    }
}

/// Compiles the posted mapping text as the file `SOURCE.ini` on its own and builds the source's
/// stack; `422` with every problem when it does not compile.
async fn compile(state: &ConsoleState, source: &str, text: &str) -> Result<SourceRoute, Response> {
    let file = PathBuf::from(format!("{source}.ini"));
    let loader = state.loader.clone();
    let (owned_file, owned_text) = (file.clone(), text.to_owned());
    let checked = tokio::task::spawn_blocking(move || loader.check_text(&owned_file, &owned_text))
        .await
        .map_err(|error| {
            AdminError::BadRequest(format!("the mapping could not be checked: {error}"))
                .into_response()
        })?;
    if checked.has_errors() {
        return Err(invalid_mapping(
            &file,
            &problems_text(&checked.diagnostics),
            &checked.diagnostics,
        ));
    }
    let stacks = state
        .loader
        .build(checked.mappings)
        .map_err(|problems| invalid_mapping(&file, &problems_text(&problems), &problems))?;
    stacks.route(source).cloned().ok_or_else(|| {
        invalid_mapping(
            &file,
            &format!("the mapping does not define source `{source}`"),
            &[],
        )
    })
}

fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::try_from(name.trim())
            .map_err(|_| format!("header `{name}`: bad header name"))?;
        let value = HeaderValue::try_from(value.trim())
            .map_err(|_| format!("header `{name}`: bad header value"))?;
        map.append(name, value);
    }
    Ok(map)
}
