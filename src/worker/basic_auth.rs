//! SL1's Basic credentials, for the alert client and the event-policy client alike: the
//! configured `sl1_username`/`sl1_password`, else those written into the URL
//! (`https://user:pass@sl1/...`), which are taken out of the URL either way (it shows in logs and
//! in transport errors; a password must not).

use base64::Engine as _;
use http::HeaderValue;
use percent_encoding::percent_decode_str;

/// Takes any credentials out of `url` and answers the `Authorization` header to send (marked
/// sensitive): the configured ones when either is set, else the URL's; `None` when there are
/// none (no empty `Basic Og==`).
///
/// # Errors
/// A user name that cannot be sent in a header.
pub(crate) fn take_basic_auth(
    url: &mut reqwest::Url,
    username: &str,
    password: &str,
) -> Result<Option<HeaderValue>, String> {
    let decoded = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
    let url_user = decoded(url.username());
    let url_password = url.password().map(decoded).unwrap_or_default();
    // Cannot fail for http(s) URLs, which have a host.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    let (username, password) = if username.is_empty() && password.is_empty() {
        (url_user.as_str(), url_password.as_str())
    } else {
        (username, password)
    };
    if username.is_empty() && password.is_empty() {
        return Ok(None);
    }
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {credentials}"))
        .map_err(|_| "sl1_username cannot be sent in a header".to_owned())?;
    value.set_sensitive(true);
    Ok(Some(value))
}
