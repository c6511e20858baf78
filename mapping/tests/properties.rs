//! Property tests: extraction equals plain navigation of the JSON; parsing and
//! extraction + rendering never panic on arbitrary input (the same bodies as the cargo-fuzz
//! targets in `fuzz/`, so they run in the normal test suite too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use genhook_mapping::{FieldTree, LoadOptions, MappingSet};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Names shared by generated payloads and specs, so that they overlap.
const NAMES: &[&str] = &["a", "b", "c", "0", "1", "detail-type", "x_y"];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_owned)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z ]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((name(), inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((name(), json_value()), 0..6)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()))
}

/// A field list as text: `name`, `name{…}` and the chained `name{…}{…}`.
fn field_spec() -> impl Strategy<Value = String> {
    let item = name().prop_recursive(4, 24, 3, |inner| {
        (
            name(),
            prop::collection::vec(prop::collection::vec(inner, 1..3), 1..3),
        )
            .prop_map(|(name, groups)| {
                let mut text = name;
                for group in groups {
                    text.push('{');
                    text.push_str(&group.join(","));
                    text.push('}');
                }
                text
            })
    });
    prop::collection::vec(item, 1..4).prop_map(|items| items.join(","))
}

/// Plain navigation: a name is a member of an object, an element index of an array when it is
/// all digits, and otherwise applies to every element of an array (arrays in arrays too).
fn navigate(value: &Value, path: &[String]) -> Vec<Value> {
    let Some((first, rest)) = path.split_first() else {
        return vec![value.clone()];
    };
    match value {
        Value::Object(map) => map
            .get(first)
            .map(|v| navigate(v, rest))
            .unwrap_or_default(),
        Value::Array(items) => match first.parse::<usize>() {
            Ok(i) if first.bytes().all(|b| b.is_ascii_digit()) => {
                items.get(i).map(|v| navigate(v, rest)).unwrap_or_default()
            }
            _ => items.iter().flat_map(|item| navigate(item, path)).collect(),
        },
        _ => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn extraction_equals_navigation(payload in json_object(), spec in field_spec()) {
        let tree = FieldTree::parse(&spec).unwrap();
        let extracted = tree.extract(&payload);
        prop_assert!(extracted.is_object());
        for leaf in tree.leaves() {
            prop_assert_eq!(
                navigate(&payload, &leaf),
                navigate(&extracted, &leaf),
                "leaf {:?} of {}", leaf, spec
            );
        }
        // Only declared names appear at the top.
        for key in extracted.as_object().unwrap().keys() {
            prop_assert!(tree.child(key).is_some(), "undeclared {}", key);
        }
    }

    #[test]
    fn extraction_from_text_equals_extraction_from_the_parsed_value(
        payload in json_value(),
        spec in field_spec(),
        pretty in any::<bool>(),
    ) {
        let tree = FieldTree::parse(&spec).unwrap();
        let text = if pretty {
            serde_json::to_string_pretty(&payload).unwrap()
        } else {
            payload.to_string()
        };
        prop_assert_eq!(tree.extract_str(&text).unwrap(), tree.extract(&payload), "{}", spec);
    }

    #[test]
    fn checked_extraction_equals_extraction_from_the_parsed_value(
        payload in json_value(),
        spec in field_spec(),
    ) {
        let tree = FieldTree::parse(&spec).unwrap();
        let text = payload.to_string();
        prop_assert_eq!(tree.extract_checked(&text).unwrap(), tree.extract(&payload), "{}", spec);
    }

    #[test]
    fn checked_extraction_refuses_exactly_when_and_as_a_full_parse_refuses(
        text in r#"\{[ "a-c0-9:,\[\]{}.eE+\-\\u]{0,48}"#,
        spec in field_spec(),
    ) {
        let tree = FieldTree::parse(&spec).unwrap();
        let full = serde_json::from_str::<Value>(&text).map_err(|e| e.to_string());
        let checked = tree.extract_checked(&text).map_err(|e| e.to_string());
        prop_assert_eq!(checked.err(), full.err(), "{}", spec);
    }

    #[test]
    fn declared_leaves_render_their_values(payload in json_object(), spec in field_spec()) {
        let tree = FieldTree::parse(&spec).unwrap();
        // Named leaves only: a template's index picks among the values found.
        let leaf = tree.leaves().into_iter().find(|l| l.iter().all(|n| n.parse::<usize>().is_err()));
        if let Some(leaf) = leaf {
            let text = format!("s: {spec}::<${}$>\n", leaf.join("."));
            let options = LoadOptions { env: &|_| None, extra_keys: &[] };
            let set = MappingSet::parse_str(Path::new("p.ini"), &text, &options).unwrap().mappings;
            let line = set.source("s").unwrap().select("e").unwrap();
            let rendered = line.render(&line.extract(&payload)).unwrap();
            let expected: Vec<String> = navigate(&payload, &leaf)
                .iter()
                .flat_map(flatten)
                .collect();
            prop_assert_eq!(rendered, format!("<{}>", expected.join(", ")));
        }
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz_mapping_parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mapping_like_text(text in "[a-z:=\\[\\]{},$ .|*_\\n]{0,200}") {
        fuzz_mapping_parse(text.as_bytes());
    }

    #[test]
    fn extract_render_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzz_extract_render(&bytes);
    }

    #[test]
    fn extract_render_never_panics_on_json(payload in json_value()) {
        fuzz_extract_render(payload.to_string().as_bytes());
    }
}

/// The text a template renders for one value found.
fn flatten(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(flatten).collect(),
        other => vec![other.to_string()],
    }
}

// Same body as fuzz/fuzz_targets/mapping_parse.rs.
fn fuzz_mapping_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let options = LoadOptions {
        env: &|name| (name.len() % 2 == 0).then(|| name.to_owned()),
        extra_keys: &["verify", "secret", "event"],
    };
    match MappingSet::parse_str(Path::new("fuzz.ini"), &text, &options) {
        Ok(loaded) => {
            let payload = serde_json::json!({"a": [1, {"b": "c"}], "d": {"e": null}});
            for source in loaded.mappings.sources() {
                for line in source.lines() {
                    let _ = line.render(&line.extract(&payload));
                }
            }
        }
        Err(diagnostics) => assert!(diagnostics.iter().any(|d| d.is_error())),
    }
}

// Same body as fuzz/fuzz_targets/extract_render.rs.
fn fuzz_extract_render(data: &[u8]) {
    const MAPPING: &str = concat!(
        "github: action,pull_request{title,user{login}},repository{name}::GitHub $action$ on $repository.name$: \"$pull_request.title$\" by $pull_request.user.login$\n",
        "aws: detail-type,source,region,detail{instance-id,state}::AWS $detail-type$ from $source$ in $region$: Instance $detail.instance-id$ state: $detail.state$\n",
        "list: commits{message,0}{author{name}},a{b}{c}::$commits.message$ $commits[0].author.name$ $commits.message[1]$ $a.b.c$\n",
        "raw: a,b,c::{{upper a}} {{truncate b 3}} {{default c \"none\"}} {{join a \"/\"}} {{json b}} {{#each a}}{{this}}{{/each}}\n",
    );
    let options = LoadOptions {
        env: &|_| None,
        extra_keys: &[],
    };
    let set = MappingSet::parse_str(Path::new("fuzz.ini"), MAPPING, &options)
        .expect("the fuzz mapping loads")
        .mappings;
    let Ok(payload) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for source in set.sources() {
        for line in source.lines() {
            let _ = line.render(&line.extract(&payload));
        }
    }
}

#[test]
fn extraction_from_text_keeps_the_last_of_repeated_names_and_escaped_names() {
    let tree = FieldTree::parse("a{b},c,d\u{e9}").unwrap();
    for text in [
        r#"{"a":{"b":1},"a":{"x":2},"c":1,"c":[2]}"#,
        r#"{"a":{"x":2},"a":{"b":{"z":[1]}},"c":[2],"d\u00e9":"\"q\""}"#,
        r#"[{"a":{"b":1}}]"#,
        r#"{"a":[{"b":1},{"b":2,"b":3},7]}"#,
    ] {
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            tree.extract_str(text).unwrap(),
            tree.extract(&parsed),
            "{text}"
        );
    }
    assert!(tree.extract_str("{\"a\":").is_err());
    assert!(tree.extract_str("{} x").is_err());
}

#[test]
fn deep_values_and_specs_do_not_overflow() {
    // serde_json refuses documents nested deeper than 128; the deepest it accepts is fine.
    let deep_json = format!("{}1{}", "{\"a\":".repeat(127), "}".repeat(127));
    let payload: Value = serde_json::from_str(&deep_json).unwrap();
    let spec = format!("{}a{}", "a{".repeat(63), "}".repeat(63));
    let tree = FieldTree::parse(&spec).unwrap();
    let extracted = tree.extract(&payload);
    assert!(extracted.is_object());
    assert_eq!(tree.extract_str(&deep_json).unwrap(), extracted);
    let deep_arrays = format!("{{\"a\":{}1{}}}", "[".repeat(126), "]".repeat(126));
    let payload: Value = serde_json::from_str(&deep_arrays).unwrap();
    let tree = FieldTree::parse("a{b}").unwrap();
    assert_eq!(tree.extract(&payload), serde_json::json!({}));
    fuzz_extract_render(deep_arrays.as_bytes());
    fuzz_extract_render(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).as_bytes());
    fuzz_mapping_parse(
        format!("s: {}a{}::$a$", "a{".repeat(10_000), "}".repeat(10_000)).as_bytes(),
    );
    fuzz_mapping_parse(
        format!(
            "s: a::{}$a${}",
            "{{#if a}}".repeat(10_000),
            "{{/if}}".repeat(10_000)
        )
        .as_bytes(),
    );
    fuzz_mapping_parse(
        format!(
            "s: a::{{{{a {}b{}}}}}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        )
        .as_bytes(),
    );
}

#[test]
fn checked_extraction_refuses_what_the_skip_would_let_through() {
    // Each text is invalid only in a part the tree does not name, where `extract_str` skips
    // without checking; `extract_checked` refuses it with a full parse's reason.
    let tree = FieldTree::parse("a{b}").unwrap();
    let deep = format!(
        "{{\"a\":{{\"b\":1}},\"z\":{}1{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let deep_in_a = format!(
        "{{\"a\":{{\"b\":1,\"z\":{}1{}}}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    for text in [
        deep.as_str(),
        deep_in_a.as_str(),
        r#"{"a":{"b":1},"z":"\ud800"}"#,
        r#"{"a":{"b":1},"z":1e999}"#,
        r#"{"a":{"b":1},"z":{"\ud800":1}}"#,
    ] {
        assert!(
            tree.extract_str(text).is_ok(),
            "the skip lets {text:.60} through"
        );
        let full = serde_json::from_str::<Value>(text).unwrap_err().to_string();
        let checked = tree.extract_checked(text).unwrap_err().to_string();
        assert_eq!(checked, full, "{text:.60}");
    }
    let ok = r#"{"a":{"b":[1,"\u00e9"],"c":2},"z":[{"y":null}]}"#;
    assert_eq!(
        tree.extract_checked(ok).unwrap(),
        serde_json::json!({"a": {"b": [1, "\u{e9}"]}})
    );
}
