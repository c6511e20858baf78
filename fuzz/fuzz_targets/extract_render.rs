//! Arbitrary bytes as a payload through compiled mappings: extraction and rendering never
//! panic and never recurse without bound.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use genhook_mapping::{LoadOptions, MappingSet};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const MAPPING: &str = concat!(
    "github: action,pull_request{title,user{login}},repository{name}::GitHub $action$ on $repository.name$: \"$pull_request.title$\" by $pull_request.user.login$\n",
    "aws: detail-type,source,region,detail{instance-id,state}::AWS $detail-type$ from $source$ in $region$: Instance $detail.instance-id$ state: $detail.state$\n",
    "list: commits{message,0}{author{name}},a{b}{c}::$commits.message$ $commits[0].author.name$ $commits.message[1]$ $a.b.c$\n",
    "raw: a,b,c::{{upper a}} {{truncate b 3}} {{default c \"none\"}} {{join a \"/\"}} {{json b}} {{#each a}}{{this}}{{/each}}\n",
);

fn mappings() -> &'static MappingSet {
    static SET: OnceLock<MappingSet> = OnceLock::new();
    SET.get_or_init(|| {
        let options = LoadOptions { env: &|_| None, extra_keys: &[] };
        match MappingSet::parse_str(Path::new("fuzz.ini"), MAPPING, &options) {
            Ok(loaded) => loaded.mappings,
            Err(diagnostics) => panic!("the fuzz mapping must load: {diagnostics:?}"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for source in mappings().sources() {
        for line in source.lines() {
            let _ = line.render(&line.extract(&payload));
        }
    }
});
