//! `/console` over a real socket: served only with an `admin_token`, every file with its content
//! type and the security headers (CSP without inline scripts, nosniff, no framing), the page
//! holding no secret; off, the usual JSON 404. The console's behaviour in a browser is tested by
//! tests/browser (scripts/browser-test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::TestGenHook;

const MAPPING: &str = "[shop]\n*: type::Shop $type$\n";

#[tokio::test]
async fn the_console_is_served_with_strict_headers_when_the_admin_api_is_on() {
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", MAPPING)
        .set("admin_token", "console-token-123")
        .start()
        .await;
    for (path, kind) in [
        ("/console", "text/html; charset=utf-8"),
        ("/console/", "text/html; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
        ("/console/js/main.js", "text/javascript; charset=utf-8"),
        ("/console/js/builder.js", "text/javascript; charset=utf-8"),
        ("/console/icon.svg", "image/svg+xml"),
    ] {
        let answer = genhook.get(path).await;
        assert_eq!(answer.status(), 200, "{path}");
        let headers = answer.headers().clone();
        assert_eq!(headers["content-type"], kind, "{path}");
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        let body = answer.text().await.unwrap();
        assert!(
            !body.contains("console-token-123"),
            "{path} holds the token"
        );
    }
    let page = genhook.get("/console").await.text().await.unwrap();
    assert!(page.contains(r#"<script type="module" src="/console/js/main.js"></script>"#));

    let missing = genhook.get("/console/js/nope.js").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["content-type"], "application/json");
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "no such console file");
    // No way out of the compiled-in files.
    assert_eq!(genhook.get("/console/../Cargo.toml").await.status(), 404);
    assert_eq!(
        genhook.get("/console/%2e%2e/Cargo.toml").await.status(),
        404
    );
    genhook.shutdown().await;
}

#[tokio::test]
async fn without_an_admin_token_the_console_is_a_json_404() {
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", MAPPING)
        .start()
        .await;
    for path in ["/console", "/console/", "/console/js/main.js"] {
        let answer = genhook.get(path).await;
        assert_eq!(answer.status(), 404, "{path}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(
            body["error"], "the console is off: set admin_token to turn it on",
            "{path}"
        );
    }
    genhook.shutdown().await;
}
