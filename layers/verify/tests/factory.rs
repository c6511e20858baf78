//! The factory: settings become a stage at load, or `FILE:LINE` errors; the registry contract
//! (name, provides, settings list) holds; the official `standardwebhooks` crate's signatures
//! verify.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use genhook_core::{Capability, LayerFactory};
use genhook_verify::factory::{SCHEMES, SETTINGS};
use genhook_verify::VerifyFactory;
use support::{request, run, Section, FILE};

fn errors(section: &Section) -> Vec<String> {
    match section.build_at(0) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts that loading `section` fails and the first error contains `text`.
fn assert_first_error_contains(section: &Section, text: &str) {
    let errors = errors(section);
    assert!(
        errors.first().is_some_and(|error| error.contains(text)),
        "{text:?} not in the first of {errors:?}"
    );
}

#[test]
fn registry_contract() {
    let factory = VerifyFactory::new();
    assert_eq!(factory.name(), "verify");
    assert_eq!(factory.provides(), &[Capability::VERIFIED]);
    assert!(factory.requires().is_empty());
    for key in [
        "verify",
        "secret",
        "signature_header",
        "tolerance",
        "azure_query_param",
    ] {
        assert!(factory.settings().contains(&key), "{key}");
    }
    assert_eq!(SETTINGS, factory.settings());
}

#[test]
fn unknown_scheme_names_the_valid_ones_at_its_line() {
    let section = Section::new().set("secret", "x").set("verify", "gitlab");
    let errors = errors(&section);
    assert_eq!(errors.len(), 1);
    let line = section.line_of("verify");
    assert!(
        errors[0].starts_with(&format!("{FILE}:{line}: unknown verify scheme `gitlab`")),
        "{errors:?}"
    );
    for scheme in SCHEMES {
        assert!(errors[0].contains(scheme), "{scheme} missing in {errors:?}");
    }
}

#[test]
fn every_scheme_but_none_and_sns_needs_a_secret() {
    for scheme in SCHEMES {
        let mut section = Section::new().set("verify", scheme);
        if *scheme == "hmac-sha256" {
            section = section.set("signature_header", "X-Sig");
        }
        if *scheme == "basic" {
            section = section.set("username", "u");
        }
        let found = errors(&section);
        if matches!(*scheme, "none" | "aws-sns") {
            assert!(found.is_empty(), "{scheme}: {found:?}");
        } else {
            assert_eq!(
                found,
                vec![format!("{FILE}:1: verify = {scheme} needs secret")],
                "{scheme}"
            );
        }
        // A blank list is no secret either.
        let blank = section.clone().set("secret", " , ");
        if !matches!(*scheme, "none" | "aws-sns") {
            let line = blank.line_of("secret");
            assert_eq!(
                errors(&blank),
                vec![format!("{FILE}:{line}: verify = {scheme} needs secret")]
            );
        }
    }
}

#[test]
fn absent_verify_means_none() {
    assert!(Section::new().build_at(0).is_ok());
}

#[test]
fn bad_settings_are_reported_at_their_line() {
    let section = Section::new()
        .set("verify", "hmac-sha256")
        .set("secret", "s")
        .set("signature_header", "X-Sig")
        .set("signature_encoding", "base32");
    let line = section.line_of("signature_encoding");
    assert_eq!(
        errors(&section),
        vec![format!(
            "{FILE}:{line}: unknown signature_encoding `base32`; expected hex or base64"
        )]
    );
    let section = Section::new()
        .set("verify", "hmac-sha256")
        .set("secret", "s");
    assert_eq!(
        errors(&section),
        vec![format!(
            "{FILE}:1: verify = hmac-sha256 needs signature_header"
        )]
    );
    let section = Section::new()
        .set("verify", "token")
        .set("secret", "s")
        .set("token_header", "bad header");
    assert_first_error_contains(&section, "is not a valid header name");
    let section = Section::new()
        .set("verify", "slack")
        .set("secret", "s")
        .set("tolerance", "five minutes");
    let line = section.line_of("tolerance");
    assert_eq!(
        errors(&section),
        vec![format!(
            "{FILE}:{line}: `tolerance` must be a positive duration such as 300s or 5m"
        )]
    );
    let zero = Section::new()
        .set("verify", "stripe")
        .set("secret", "s")
        .set("tolerance", "0s");
    assert_eq!(
        errors(&zero).len(),
        1,
        "tolerance 0 would disable the replay check"
    );
    let section = Section::new().set("verify", "basic").set("secret", "s");
    assert_eq!(
        errors(&section),
        vec![format!("{FILE}:1: verify = basic needs username")]
    );
    let section = Section::new()
        .set("verify", "standard-webhooks")
        .set("secret", "whsec_not base64!");
    assert_first_error_contains(&section, "must be base64");
}

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// `verify = azure` with `azure_tenant` and `azure_audience` (lines 2, 3 and 4).
fn entra(tenant: &str, audience: &str) -> Section {
    Section::new()
        .set("verify", "azure")
        .set("azure_tenant", tenant)
        .set("azure_audience", audience)
}

#[test]
fn entra_tenant_and_audience_go_together_with_file_line_errors() {
    let section = Section::new()
        .set("verify", "azure")
        .set("secret", "s")
        .set("azure_tenant", TENANT);
    let line = section.line_of("azure_tenant");
    let errors = errors(&section);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "{FILE}:{line}: `azure_tenant` needs `azure_audience`"
        )),
        "{errors:?}"
    );

    let section = Section::new()
        .set("verify", "azure")
        .set("secret", "s")
        .set("azure_audience", "api://genhook");
    let line = section.line_of("azure_audience");
    let errors = self::errors(&section);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "{FILE}:{line}: `azure_audience` needs `azure_tenant`"
        )),
        "{errors:?}"
    );

    for key in ["azure_app_id", "azure_role"] {
        let section = Section::new()
            .set("verify", "azure")
            .set("secret", "s")
            .set(key, "x");
        let line = section.line_of(key);
        assert_eq!(
            self::errors(&section),
            vec![format!(
                "{FILE}:{line}: `{key}` needs `azure_tenant` and `azure_audience`"
            )]
        );
    }
}

#[test]
fn entra_settings_are_checked_at_load() {
    // A tenant must be the GUID the issuer carries, not a domain name.
    let section = entra("contoso.onmicrosoft.com", "api://genhook");
    let line = section.line_of("azure_tenant");
    let errors = errors(&section);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!("{FILE}:{line}: `azure_tenant` must be")),
        "{errors:?}"
    );

    assert_first_error_contains(&entra(TENANT, " , "), "`azure_audience` needs at least one");

    let section = entra(TENANT, "api://genhook")
        .set("azure_header", "Authorization")
        .set("secret", "s");
    assert_first_error_contains(&section, "`azure_header` cannot be Authorization");

    // A secret's carrier without the secret is a mistake, not silently ignored.
    let section = entra(TENANT, "api://genhook").set("azure_header", "X-GenHook-Key");
    let line = section.line_of("azure_header");
    assert_eq!(
        self::errors(&section),
        vec![format!("{FILE}:{line}: `azure_header` needs `secret`")]
    );

    // With a token check, `secret` is optional; several audiences, app id and role are fine.
    let section = entra(
        TENANT,
        "api://genhook, 0b5e4f6a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
    )
    .set("azure_app_id", "4962773b-9cdb-44cf-a8bf-237846a00ab7")
    .set("azure_role", "AzureEventGridSecureWebhookSubscriber");
    assert_eq!(self::errors(&section), Vec::<String>::new());

    // Without one, `secret` is still required.
    let section = Section::new().set("verify", "azure");
    assert_eq!(
        self::errors(&section),
        vec![format!("{FILE}:1: verify = azure needs secret")]
    );
}

#[test]
fn errors_never_show_the_secret() {
    let section = Section::new()
        .set("verify", "standard-webhooks")
        .set("secret", "whsec_Sup3r Secret!");
    for error in errors(&section) {
        assert!(!error.contains("Sup3r"), "{error}");
    }
}

#[tokio::test]
async fn official_standardwebhooks_crate_signatures_verify() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let signer = standardwebhooks::Webhook::new(secret).unwrap();
    let now = 1_700_000_000;
    let layer = Section::new()
        .set("verify", "standard-webhooks")
        .set("secret", secret)
        .build_at(now)
        .unwrap();
    for (id, body) in [
        ("msg_1", r#"{"type":"contact.created","data":{"id":1}}"#),
        ("msg_2", "{}"),
        ("msg_2Xy-_~", r#"{"text":"ünïcødé"}"#),
    ] {
        let signature = signer.sign(id, now, body.as_bytes()).unwrap();
        let ts = now.to_string();
        let headers = [
            ("webhook-id", id),
            ("webhook-timestamp", ts.as_str()),
            ("webhook-signature", signature.as_str()),
        ];
        let signed = request("/", &headers, body.to_owned());
        assert!(run(&layer, signed).await.accepted(), "{id}");
        let svix = [
            ("svix-id", id),
            ("svix-timestamp", ts.as_str()),
            ("svix-signature", signature.as_str()),
        ];
        assert!(run(&layer, request("/", &svix, body.to_owned()))
            .await
            .accepted());
        let tampered = format!("{body} ");
        assert!(run(&layer, request("/", &headers, tampered))
            .await
            .refused_401());
    }
}
