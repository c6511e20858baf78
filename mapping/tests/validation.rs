//! Every validation message, with its exact `FILE:LINE`, and the grammar rules of sections,
//! settings and selection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use genhook_mapping::{LoadOptions, Loaded, MappingSet};
use serde_json::json;

fn env(name: &str) -> Option<String> {
    match name {
        "GITHUB_URL_TOKEN" => Some("t0k".to_owned()),
        "PART" => Some("b".to_owned()),
        _ => None,
    }
}

const EXTRA: &[&str] = &["verify", "secret", "event", "rate_limit", "priority"];

fn options() -> LoadOptions<'static> {
    LoadOptions {
        env: &env,
        extra_keys: EXTRA,
    }
}

fn load(text: &str) -> Result<Loaded, Vec<String>> {
    MappingSet::parse_str(Path::new("m.ini"), text, &options())
        .map_err(|d| d.iter().map(ToString::to_string).collect())
}

/// The diagnostics of a text that must fail.
fn errors(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => panic!("expected errors for {text:?}"),
        Err(d) => d,
    }
}

fn warnings(text: &str) -> Vec<String> {
    load(text)
        .unwrap()
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn section_headers() {
    assert_eq!(errors("[bad\n"), ["m.ini:1: bad section header `[bad`"]);
    assert_eq!(errors("\n[]\n"), ["m.ini:2: empty section name"]);
    assert_eq!(
        errors("[a b]\nverify = x\n"),
        ["m.ini:1: bad source name `a b` (use letters, digits, `-`, `_` and `.`)"]
    );
    assert_eq!(
        errors("a/b: x::$x$\n"),
        ["m.ini:1: bad source name `a/b` (use letters, digits, `-`, `_` and `.`)"]
    );
}

#[test]
fn mapping_line_shape() {
    assert_eq!(
        errors("[s]\n: a::$a$\n"),
        ["m.ini:2: mapping line has no key"]
    );
    assert_eq!(
        errors("[s]\nk: ::t\n"),
        ["m.ini:2: mapping line has no field list"]
    );
    assert_eq!(
        errors("[s]\nk = ::t\n"),
        ["m.ini:2: mapping line has no field list"]
    );
    assert_eq!(
        errors("[s]\nk::t\n"),
        ["m.ini:2: mapping line needs `KEY: fields::template`"]
    );
    assert_eq!(
        errors("s: a::\n"),
        ["m.ini:1: mapping line has an empty template"]
    );
    assert_eq!(
        errors("[s]\njust words\n"),
        ["m.ini:2: expected `key = value` or `KEY: fields::template`"]
    );
    assert_eq!(
        errors("verify = github\n"),
        ["m.ini:1: setting `verify` outside any section"]
    );
}

#[test]
fn field_list_errors() {
    assert_eq!(
        errors("s: a{b::$a$\n"),
        ["m.ini:1: unbalanced braces in field list"]
    );
    assert_eq!(
        errors("s: a}::$a$\n"),
        ["m.ini:1: unbalanced braces in field list"]
    );
    assert_eq!(
        errors("s: a{}::$a$\n"),
        ["m.ini:1: empty field name in field list"]
    );
    assert_eq!(
        errors("s: a,,b::$a$ $b$\n"),
        ["m.ini:1: empty field name in field list"]
    );
    assert_eq!(errors("s: a.b::$a$\n"), ["m.ini:1: bad field name `a.b`"]);
    let deep = format!("s: {}x{}::$a$\n", "a{".repeat(10_000), "}".repeat(10_000));
    assert_eq!(
        errors(&deep),
        ["m.ini:1: field list nests deeper than 64 levels"]
    );
}

#[test]
fn template_errors() {
    assert_eq!(
        errors("s: a::$a$ $b$ $c.d$\n"),
        [
            "m.ini:1: template variable $b$ is not in the field list",
            "m.ini:1: template variable $c.d$ is not in the field list"
        ]
    );
    assert_eq!(
        errors("s: a::cost $a\n"),
        ["m.ini:1: unterminated template variable (write $$ for a literal $)"]
    );
    assert_eq!(
        errors("s: a::$a$ costs $5 and $6\n"),
        ["m.ini:1: bad template variable `$5 and $` (write $$ for a literal $)"]
    );
    let e = errors("s: a::{{#if a}}$a$\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("m.ini:1: bad template: "), "{e:?}");
    assert_eq!(
        errors("s: a::{{> other}} $a$\n"),
        ["m.ini:1: partials and decorators ({{> …}}, {{#> …}}, {{#*inline …}}) are not supported in templates"]
    );
    let deep = format!(
        "s: a::{}$a${}\n",
        "{{#if a}}".repeat(40),
        "{{/if}}".repeat(40)
    );
    assert_eq!(
        errors(&deep),
        ["m.ini:1: template nests deeper than 32 levels"]
    );
}

#[test]
fn declared_fields() {
    // A variable under a declared object or array counts as declared; indexes are free.
    assert!(load("s: obj,arr{p}::$obj.x.y$ $arr[0].p$ $arr.p[1]$ $arr.0.p$\n").is_ok());
    assert!(load("s: arr{0}{p}::$arr[0].p$\n").is_ok());
    assert_eq!(
        warnings("s: a,b{c,d}::$a$ $b.c$\n"),
        ["m.ini:1: warning: field `b.d` is declared but no template uses it"]
    );
    // The whole object uses every field under it.
    assert!(warnings("s: b{c,d}::$b$\n").is_empty());
    // Raw handlebars: a field named in the text counts as used.
    assert!(warnings("s: a,b::{{upper a}} {{#if b}}x{{/if}}\n").is_empty());
}

#[test]
fn warnings_are_returned_with_errors() {
    assert_eq!(
        errors("s: a,b::$a$\n[s]\nbogus = 1\n"),
        [
            "m.ini:1: warning: field `b` is declared but no template uses it",
            "m.ini:3: unknown key `bogus`"
        ]
    );
}

#[test]
fn settings_errors() {
    assert_eq!(
        errors("[s]\ncolour = red\n"),
        ["m.ini:2: unknown key `colour`"]
    );
    assert_eq!(
        errors("[s]\nverify = a\n\nverify = b\n"),
        ["m.ini:4: duplicate key `verify` (first at m.ini:2)"]
    );
    assert_eq!(
        errors("[s]\nalign = group:4\n"),
        ["m.ini:2: bad align `group:4` (expected org:ID or device:ID)"]
    );
    assert_eq!(
        errors("[s]\nalign = org:\n"),
        ["m.ini:2: bad align `org:` (expected org:ID or device:ID)"]
    );
    assert_eq!(
        errors("[s]\nunmapped = drop\n"),
        ["m.ini:2: bad unmapped `drop` (expected reject or ignore)"]
    );
    assert_eq!(
        errors("[github]\nsecret = ${GITHUB_WEBHOOK_SECRET}\n"),
        ["m.ini:2: environment variable GITHUB_WEBHOOK_SECRET is not set"]
    );
    assert_eq!(
        errors("[s]\nsecret = ${OPEN\n"),
        ["m.ini:2: unterminated `${` in value"]
    );
    assert_eq!(
        errors("[s]\nsecret = ${A-B}\n"),
        ["m.ini:2: bad environment variable name `A-B`"]
    );
}

#[test]
fn duplicate_event_keys_name_both_lines() {
    assert_eq!(
        errors("[s]\npush: a::$a$\npush: b::$b$\n"),
        ["m.ini:3: duplicate event key `push` (first at m.ini:2)"]
    );
    assert_eq!(
        errors("s: a::$a$\ns: b::$b$\n"),
        ["m.ini:2: duplicate event key `s` (first at m.ini:1)"]
    );
    // A section line keyed like its source is not the sectionless line.
    assert!(load("s: a::$a$\n[s]\ns: b::$b$\n").is_ok());
}

#[test]
fn every_problem_sorted() {
    let text = "[s]\nbogus = 1\npush: a{::$a$\n[bad\nx: a::$b$\n";
    assert_eq!(
        errors(text),
        [
            "m.ini:2: unknown key `bogus`",
            "m.ini:3: unbalanced braces in field list",
            "m.ini:4: bad section header `[bad`",
            "m.ini:5: warning: field `a` is declared but no template uses it",
            "m.ini:5: template variable $b$ is not in the field list",
        ]
    );
}

#[test]
fn legacy_errors() {
    assert_eq!(
        errors("[webhooks]\ngithub_t|org:1|action\n"),
        ["m.ini:2: legacy line needs `service_token|alignment|fields|template`"]
    );
    assert_eq!(
        errors("[webhooks]\n_t||a|$a$\n"),
        ["m.ini:2: legacy line has no service name"]
    );
    assert_eq!(
        errors("[webhooks]\ngh_t|org:x|a|$a$\n"),
        ["m.ini:2: bad align `org:x` (expected org:ID or device:ID)"]
    );
    // The predecessor's `name = fields::template` lines, in and out of [webhooks].
    let set = load("[webhooks]\ngithub = action::GH $action$\nstripe = type::S $type$\n")
        .unwrap()
        .mappings;
    assert_eq!(set.sources().count(), 2);
    assert!(set.source("github").unwrap().select("x").is_some());
}

#[test]
fn sections_settings_and_selection() {
    let text = "\
; comment
# comment
github: action::GitHub $action$ (any)

[github]
verify = github ; the scheme
secret = a${PART}c
token = ${GITHUB_URL_TOKEN}
event = header:X-GitHub-Event
layers = verify, rate_limit ,identify,extract,template,dispatch
align = device:12
missing = -
unmapped = ignore
force_ytype = 3
pull_request: action,pull_request{title,body}::PR $action$: $pull_request.title$ $pull_request.body$
*: action::GitHub $action$ (star)

[stripe]
payment_intent.*: type::intent $type$
customer.subscription.*: type::sub $type$
customer.*: type::customer $type$
jira:issue_created: type::colon key $type$
EC2 Instance State-change Notification: type::spaced key $type$
";
    let loaded = load(text).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let github = loaded.mappings.source("github").unwrap();
    assert_eq!(github.span().to_string(), "m.ini:3");
    assert_eq!(github.setting("verify").unwrap().value, "github");
    assert_eq!(github.setting("secret").unwrap().value, "abc");
    assert_eq!(
        github.setting("secret").unwrap().span.to_string(),
        "m.ini:7"
    );
    assert_eq!(github.token(), Some("t0k"));
    assert_eq!(
        github.setting("event").unwrap().value,
        "header:X-GitHub-Event"
    );
    let (layers, span) = github.layers().unwrap();
    assert_eq!(
        layers,
        [
            "verify",
            "rate_limit",
            "identify",
            "extract",
            "template",
            "dispatch"
        ]
    );
    assert_eq!(span.to_string(), "m.ini:10");
    assert_eq!(github.aligned_resource().as_deref(), Some("/api/device/12"));
    assert!(github.ignores_unmapped());
    assert_eq!(github.missing(), "-");
    assert_eq!(github.setting("force_ytype").unwrap().value, "3");
    // Setting values (secrets, tokens) never show in Debug.
    assert!(!format!("{:?}", github.setting("secret").unwrap()).contains("abc"));
    let debug = format!("{github:?} {:?}", loaded.mappings);
    assert!(!debug.contains("abc") && !debug.contains("t0k"), "{debug}");

    let pr = github.select("pull_request").unwrap();
    assert_eq!(pr.key(), "pull_request");
    let fields = pr.extract(&json!({"action": "opened", "pull_request": {"title": "T"}}));
    assert_eq!(pr.render(&fields).unwrap(), "PR opened: T -");
    assert_eq!(github.select("push").unwrap().key(), "*");

    let stripe = loaded.mappings.source("stripe").unwrap();
    assert!(!stripe.ignores_unmapped());
    assert_eq!(
        stripe.select("payment_intent.created").unwrap().key(),
        "payment_intent.*"
    );
    assert_eq!(
        stripe
            .select("customer.subscription.updated")
            .unwrap()
            .key(),
        "customer.subscription.*"
    );
    assert_eq!(
        stripe.select("customer.created").unwrap().key(),
        "customer.*"
    );
    assert_eq!(
        stripe.select("jira:issue_created").unwrap().key(),
        "jira:issue_created"
    );
    assert!(stripe
        .select("EC2 Instance State-change Notification")
        .is_some());
    assert!(stripe.select("charge.failed").is_none());

    // Metric labels: the key that names the event, never the payload's own value.
    assert_eq!(github.naming_key("pull_request"), Some("pull_request"));
    assert_eq!(
        github.naming_key("random-x7"),
        None,
        "the `*` line names nothing"
    );
    assert_eq!(
        stripe.naming_key("payment_intent.created"),
        Some("payment_intent.*")
    );
    assert_eq!(stripe.naming_key("charge.failed"), None);

    // Without a `*` line, the sectionless line is the last resort.
    let set = load("github: action::any $action$\n[github]\npush: action::push $action$\n")
        .unwrap()
        .mappings;
    let github = set.source("github").unwrap();
    assert_eq!(
        github.select("push").unwrap().template_text(),
        "push $action$"
    );
    assert_eq!(
        github.select("issues").unwrap().template_text(),
        "any $action$"
    );
    assert!(github.select("issues").unwrap().maps_every_event());
    assert_eq!(github.naming_key("push"), Some("push"));
    assert_eq!(github.naming_key("issues"), None);
}

#[test]
fn byte_order_mark_and_crlf() {
    let set = load("\u{feff}[s]\r\nverify = x\r\np: a::$a$\r\n")
        .unwrap()
        .mappings;
    let s = set.source("s").unwrap();
    assert_eq!(s.setting("verify").unwrap().value, "x");
    assert_eq!(s.select("p").unwrap().template_text(), "$a$");
}

#[test]
fn setting_keys_with_double_colons_stay_settings() {
    let set = load("[s]\nsecret = a::b\nx: a::$a$\n").unwrap().mappings;
    let s = set.source("s").unwrap();
    assert_eq!(s.setting("secret").unwrap().value, "a::b");
    assert_eq!(s.lines().len(), 1);
}

#[test]
fn quoted_setting_values_lose_their_quotes_as_in_the_config_file() {
    let set =
        load("[s]\nsecret = \"It's a Secret ; to Everybody\" ; the doc's vector\nx: a::$a$\n")
            .unwrap()
            .mappings;
    let s = set.source("s").unwrap();
    assert_eq!(
        s.setting("secret").unwrap().value,
        "It's a Secret ; to Everybody"
    );
    let errors = load("[s]\nsecret = \"open\nx: a::$a$\n").unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| *e == "m.ini:2: secret: missing closing quote"),
        "{errors:?}"
    );
}

#[test]
fn render_error_exists_for_bad_helper_arguments() {
    // A length taken from the payload is only known at render time.
    let set = load("s: title,n::{{truncate title n}}\n").unwrap().mappings;
    let line = set.source("s").unwrap().select("e").unwrap();
    let err = line
        .render(&line.extract(&json!({"title": "abc", "n": "ten"})))
        .unwrap_err();
    assert_eq!(err.span.to_string(), "m.ini:1");
    assert!(
        err.to_string().starts_with("template of m.ini:1 failed: "),
        "{err}"
    );
    assert!(err.reason.contains("truncate"), "{err}");
}

#[test]
fn unknown_helpers_and_wrong_arguments_are_refused_at_load() {
    assert_eq!(
        errors("s: x::{{bogus x}}\nt: x::ok {{#if x}}{{upper}}{{/if}}\nu: x::{{truncate x}}\nv: x::{{truncate x \"y\"}}\nw: x::{{join x 3}}\ny: x::{{lower (bogus x)}}\nz: x::{{json x x}}\n"),
        vec![
            "m.ini:1: bad template: unknown helper `bogus` (the helpers are upper, lower, truncate, default, join, json, and handlebars' if, unless, each, with, lookup, eq, ne, gt, gte, lt, lte, and, or, not, len)",
            "m.ini:2: bad template: `upper` takes 1 argument(s), given 0: write e.g. {{upper action}}",
            "m.ini:3: bad template: `truncate` takes 2 argument(s), given 1: write e.g. {{truncate title 40}}",
            "m.ini:4: bad template: `truncate` needs a length (a whole number) as its second argument: write e.g. {{truncate title 40}}",
            "m.ini:5: bad template: `join` needs a text separator as its second argument: write e.g. {{join labels \" / \"}}",
            "m.ini:6: bad template: unknown helper `bogus` (the helpers are upper, lower, truncate, default, join, json, and handlebars' if, unless, each, with, lookup, eq, ne, gt, gte, lt, lte, and, or, not, len)",
            "m.ini:7: bad template: `json` takes 1 argument(s), given 2: write e.g. {{json labels}}",
        ]
    );
    // Values, built-in helpers and the right arguments load.
    assert!(load("s: x,l::{{x}} {{#each l}}{{this}}{{/each}} {{#if (eq x \"a\")}}{{join l}}{{/if}} {{default x \"-\"}}\n").is_ok());
}

#[test]
fn json_path_fields_are_compiled_at_load_and_refused_at_file_line() {
    assert_eq!(
        errors("s: a,x=$.l[?(::X $x$\nt: a,b=$.a::$a$ $b$ $c$\nu: a,a=$.a::$a$\n"),
        vec![
            "m.ini:1: bad JSONPath for field `x` ($.l[?(): expected atom_expr at character 7",
            "m.ini:2: template variable $c$ is not in the field list",
            "m.ini:3: field `a` is declared twice (JSONPath and field list)",
        ]
    );
    // The real GitHub example: the labels a filter picks, beside compact fields.
    let text = "github: action,issue{title},bug=$.issue.labels[?@.name=='bug'].name,colors=$.issue.labels[*].color,none=$.issue.labels[?search(@.name, 'sev.*')].name::GitHub $action$ \"$issue.title$\" [$bug$] ($colors$) $none$\n";
    let line_set = load(text).unwrap().mappings;
    let line = line_set.source("github").unwrap().select("issues").unwrap();
    let payload = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/github/issues.opened.json"
    ))
    .unwrap();
    let fields = line.extract_str(&payload).unwrap();
    assert_eq!(
        line.render(&fields).unwrap(),
        "GitHub opened \"Spelling error in the README file\" [bug] (d73a4a) "
    );
    assert_eq!(line.extract_checked(&payload).unwrap(), fields);
    assert!(line.has_json_paths() && line.declares_fields());
}

#[test]
fn files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.ini"),
        "[github]\nverify = github\nverify = x\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("a.ini"), "github: action::GH $action$\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a mapping").unwrap();
    let errs = MappingSet::load_dir(dir.path(), &options()).unwrap_err();
    let b = dir.path().join("b.ini");
    let a = dir.path().join("a.ini");
    assert_eq!(
        errs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!(
            "{}:3: duplicate key `verify` (first at {}:2)",
            b.display(),
            b.display()
        )]
    );
    // A source spread over two files merges.
    std::fs::write(&b, "[github]\nverify = github\npush: ref::push $ref$\n").unwrap();
    let set = MappingSet::load_dir(dir.path(), &options())
        .unwrap()
        .mappings;
    let github = set.source("github").unwrap();
    assert_eq!(github.lines().len(), 2);
    assert_eq!(github.span().to_string(), format!("{}:1", a.display()));
    // Duplicates across files name both files.
    std::fs::write(dir.path().join("c.ini"), "[github]\nverify = x\n").unwrap();
    let errs = MappingSet::load_dir(dir.path(), &options()).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        format!(
            "{}:2: duplicate key `verify` (first at {}:2)",
            dir.path().join("c.ini").display(),
            b.display()
        )
    );

    let missing = dir.path().join("missing.ini");
    let errs = MappingSet::load_files(&[PathBuf::from(&missing)], &options()).unwrap_err();
    assert!(
        errs[0]
            .to_string()
            .starts_with(&format!("{}:0: cannot read file: ", missing.display())),
        "{}",
        errs[0]
    );
    let errs = MappingSet::load_dir(&dir.path().join("nope"), &options()).unwrap_err();
    assert!(
        errs[0].to_string().contains(":0: cannot read directory: "),
        "{}",
        errs[0]
    );

    let empty = tempfile::tempdir().unwrap();
    assert!(MappingSet::load_dir(empty.path(), &options())
        .unwrap()
        .mappings
        .is_empty());
}

#[test]
fn check_dir_keeps_what_compiled_beside_the_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.ini"),
        "[shop]\nverify = github\nsecret = ${NOT_SET}\nbad: a{b::Bad $a$\nok: type::Ok $type$\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.ini"), "[other]\nverify = x\n").unwrap();
    let checked = MappingSet::check_dir(dir.path(), &options()).unwrap();
    let a = dir.path().join("a.ini");
    assert_eq!(
        checked
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            format!("{}:3: environment variable NOT_SET is not set", a.display()),
            format!("{}:4: unbalanced braces in field list", a.display()),
        ]
    );
    assert!(checked.has_errors());
    // The source is kept with its good settings and lines, and says a setting is missing.
    let shop = checked.mappings.source("shop").unwrap();
    assert_eq!(shop.setting("verify").unwrap().value, "github");
    assert!(shop.setting("secret").is_none());
    assert!(shop.has_unresolved_settings());
    assert_eq!(shop.lines().len(), 1);
    assert_eq!(shop.lines()[0].key(), "ok");
    let other = checked.mappings.source("other").unwrap();
    assert!(!other.has_unresolved_settings());
    // Serving never takes a set with errors.
    assert!(checked.clone().into_loaded().is_err());
    assert!(MappingSet::check_dir(&dir.path().join("nope"), &options())
        .unwrap_err()
        .to_string()
        .contains(":0: cannot read directory: "));
}

#[test]
fn max_concurrent_is_a_section_key_and_a_positive_whole_number() {
    let set = load("[github]\nmax_concurrent = 20\n*: action::$action$\n").expect("valid");
    let source = set.mappings.source("github").expect("github is a source");
    assert_eq!(source.max_concurrent(), Some(20));
    let set = load("[github]\n*: action::$action$\n").expect("valid");
    assert_eq!(
        set.mappings
            .source("github")
            .expect("source")
            .max_concurrent(),
        None
    );
    assert_eq!(
        errors("[github]\nmax_concurrent = 0\n*: action::$action$\n"),
        ["m.ini:2: bad max_concurrent `0` (expected a positive whole number)"]
    );
    assert_eq!(
        errors("[github]\nmax_concurrent = lots\n*: action::$action$\n"),
        ["m.ini:2: bad max_concurrent `lots` (expected a positive whole number)"]
    );
}

/// Moved from genhook-core's metrics module, which no longer knows the mapping language.
#[test]
fn event_labels_are_the_mappings_own_keys_shared_not_copied() {
    use std::sync::Arc;

    use genhook_core::metrics::{event_label, OTHER};

    let options = LoadOptions {
        env: &|_| None,
        extra_keys: &[],
    };
    let text = "[stripe]\npayment_intent.*: id::$id$\ncharge.failed: id::$id$\n";
    let loaded = MappingSet::parse_str(Path::new("m.ini"), text, &options).unwrap();
    let stripe = loaded.mappings.source("stripe").unwrap();
    let label = |event: &str| event_label(stripe.naming_key_shared(event));
    let one = label("payment_intent.created");
    let two = label("payment_intent.succeeded");
    assert_eq!(&*one, "payment_intent.*");
    assert!(Arc::ptr_eq(&one, &two), "one key, shared by every webhook");
    let other = label("random-4711");
    assert_eq!(&*other, OTHER);
    assert!(Arc::ptr_eq(&other, &event_label(None)));
}
