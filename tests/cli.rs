//! The `genhook` binary's `check` and `render` commands, run as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn genhook(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    genhook_env(dir, args, stdin, &[])
}

/// [`genhook`] with these environment variables set (and only these, besides `PATH`).
fn genhook_env(dir: &Path, args: &[&str], stdin: Option<&[u8]>, vars: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_genhook"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_passes_on_the_shipped_defaults() {
    let output = genhook(repo(), &["check"], None);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert!(
        text(&output.stdout).contains("ok: 8 source(s)"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(text(&output.stderr), "", "nothing failed to run");
}

#[test]
fn check_reports_every_problem_with_file_and_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/bad.ini"),
        "[bad]\nevent = type\nrate_limit = lots\nlayers = verify, identify, extract, template, dispatch, nope\nverify = github-ish\n*: a{b::Bad $a$\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("genhook.ini"),
        "server_port = 99999\nno_such_key = 1\n",
    )
    .unwrap();
    // A bad genhook.ini: both its problems, then exit 1.
    let output = genhook(dir.path(), &["check"], None);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("genhook.ini:1: "), "{stdout}");
    assert!(stdout.contains("genhook.ini:2: "), "{stdout}");

    // A good genhook.ini and a bad mapping: every problem of the mapping.
    std::fs::write(dir.path().join("genhook.ini"), "server_port = 8080\n").unwrap();
    let output = genhook(dir.path(), &["check"], None);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    let file = Path::new("mappings").join("bad.ini");
    assert!(
        stdout.contains(&format!("{}:6: ", file.display())),
        "line 6 missing in:\n{stdout}"
    );
}

#[test]
fn check_reports_stage_settings_errors_all_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/bad.ini"),
        "[bad]\nevent = type\nrate_limit = lots\nlayers = verify, rate_limit, identify, extract, template, dispatch, nope\nverify = github-ish\n*: a::Bad $a$\n",
    )
    .unwrap();
    let output = genhook(dir.path(), &["check"], None);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    let file = Path::new("mappings").join("bad.ini").display().to_string();
    for line in [3, 4, 5] {
        assert!(
            stdout.contains(&format!("{file}:{line}: ")),
            "line {line} missing in:\n{stdout}"
        );
    }
}

/// The mixed set of the audit: every problem of the configuration and of both mapping files,
/// whatever phase finds it, in one run.
fn write_mixed_problems(dir: &Path) {
    std::fs::create_dir(dir.join("maps")).unwrap();
    // An unknown key, and a valid mappings_dir that must still be used.
    std::fs::write(
        dir.join("genhook.ini"),
        "mappings_dir = maps\ncolour = blue\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("maps/a.ini"),
        "[alpha]\n\
         event = type\n\
         verify = bogus\n\
         rate_limit = fast\n\
         priority = urgent\n\
         layers = verify, rate_limit, extract, identify, template, dispatch\n\
         paid: type::Paid $type\n\
         ok: type::Fine $type$\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("maps/b.ini"),
        "[beta]\n\
         event = type\n\
         *: a{b::Bad $a$\n\
         ok: type::Fine $type$\n\
         rate_limit = lots\n",
    )
    .unwrap();
}

#[test]
fn check_reports_every_phase_of_every_file_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    write_mixed_problems(dir.path());
    let output = genhook(dir.path(), &["check"], None);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert_eq!(text(&output.stderr), "", "problems go to stdout");
    let a = Path::new("maps").join("a.ini").display().to_string();
    let b = Path::new("maps").join("b.ini").display().to_string();
    let expected = [
        "genhook.ini:2: colour: unknown key".to_owned(),
        format!("{a}:3: unknown verify scheme `bogus`"),
        format!("{a}:4: bad rate_limit `fast`"),
        format!("{a}:5: bad priority `urgent`"),
        format!("{a}:6: `extract` needs `identified` from an earlier layer"),
        format!("{a}:7: unterminated template variable"),
        format!("{b}:3: unbalanced braces in field list"),
        format!("{b}:5: bad rate_limit `lots`"),
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        expected.len() + 1,
        "exactly the expected problems and a summary, no follow-on noise:\n{stdout}"
    );
    for (line, want) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(want.as_str()),
            "expected `{want}…`, got `{line}` in:\n{stdout}"
        );
    }
    assert_eq!(lines.last().copied(), Some("8 error(s), 0 warning(s)"));
}

#[test]
fn check_does_not_report_what_an_unset_variable_causes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/m.ini"),
        "[shop]\nevent = type\nverify = github\nsecret = ${GENHOOK_TEST_UNSET_SECRET}\npriority = urgent\npaid: type::Paid $type$\n",
    )
    .unwrap();
    let output = genhook(dir.path(), &["check"], None);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    // The default mappings_dir is `./mappings`.
    let file = Path::new(".")
        .join("mappings")
        .join("m.ini")
        .display()
        .to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{file}:4: environment variable GENHOOK_TEST_UNSET_SECRET is not set").as_str(),
            format!("{file}:5: bad priority `urgent`: expected high, normal or low").as_str(),
            "2 error(s), 0 warning(s)",
        ],
        "no `needs secret` follow-on error:\n{stdout}"
    );
}

#[test]
fn check_passes_once_every_problem_is_fixed_and_says_ok_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    write_mixed_problems(dir.path());
    std::fs::write(dir.path().join("genhook.ini"), "mappings_dir = maps\n").unwrap();
    std::fs::write(
        dir.path().join("maps/a.ini"),
        "[alpha]\n\
         event = type\n\
         verify = none\n\
         rate_limit = 10/s\n\
         priority = high\n\
         layers = verify, rate_limit, identify, extract, template, dispatch\n\
         paid: type::Paid $type$\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("maps/b.ini"),
        "[beta]\nevent = type\nverify = none\n*: a{b}::Bad $a.b$\n",
    )
    .unwrap();
    let output = genhook(dir.path(), &["check"], None);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert_eq!(stdout, "ok: 2 source(s) from directory maps\n");
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn check_that_cannot_read_the_mappings_directory_says_so_with_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    // Something is there but it is no directory: an error (only a missing path means the
    // built-in mappings).
    std::fs::write(dir.path().join("nowhere"), "").unwrap();
    std::fs::write(
        dir.path().join("genhook.ini"),
        "mappings_dir = nowhere\nserver_port = 99999\n",
    )
    .unwrap();
    let output = genhook(dir.path(), &["check"], None);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("nowhere:0: cannot read directory"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("genhook.ini:2: server_port"),
        "{stdout}"
    );
    assert_eq!(lines[2], "2 error(s), 0 warning(s)", "{stdout}");
}

#[test]
fn check_with_warnings_only_exits_0_and_prints_them_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(dir.path().join("genhook.ini"), "queue_backend = memory\n").unwrap();
    std::fs::write(
        dir.path().join("mappings/m.ini"),
        "[shop]\nevent = type\nverify = none\npaid: type,id::Paid $type$\n",
    )
    .unwrap();
    let output = genhook(dir.path(), &["check"], None);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    // Sorted by file: `./mappings/…` before `genhook.ini`.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[1].starts_with("genhook.ini:1: warning: queue_backend: "),
        "{stdout}"
    );
    assert!(
        lines[0].ends_with("m.ini:4: warning: field `id` is declared but no template uses it"),
        "{stdout}"
    );
    assert_eq!(lines[2], "ok: 1 source(s) from directory ./mappings");
}

#[test]
fn check_refuses_unknown_helpers_and_wrong_arity_at_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/m.ini"),
        "[shop]\nevent = type\nverify = none\npaid: type::Paid {{bogus type}}\nrefund: type::Refund {{truncate type}}\n",
    )
    .unwrap();
    let output = genhook(dir.path(), &["check"], None);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let file = Path::new("mappings").join("m.ini");
    assert!(
        stdout.contains(&format!(
            "{}:4: bad template: unknown helper `bogus`",
            file.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{}:5: bad template: `truncate` takes 2 argument(s), given 1",
            file.display()
        )),
        "{stdout}"
    );
}

#[test]
fn check_warns_of_a_genhook_variable_nothing_reads_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/m.ini"),
        "[shop]\nevent = type\nverify = shopify\nsecret = ${GENHOOK_SHOP_SECRET}\npaid: type::Paid $type$\n",
    )
    .unwrap();
    let vars = [
        ("GENHOOK_QUEUE_BACKEN", "memory"),
        ("GENHOOK_SHOP_SECRET", "s3cr3t"),
        ("GENHOOK_SERVER_PORT", "9000"),
        ("GENHOOK_SHOP_MAX_CONCURRENT", "2"),
    ];
    let output = genhook_env(dir.path(), &["check"], None, &vars);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "environment:0: warning: GENHOOK_QUEUE_BACKEN: unknown variable, ignored (did you mean `GENHOOK_QUEUE_BACKEND`?)",
            "ok: 1 source(s) from directory ./mappings",
        ],
        "{stdout}"
    );
    assert!(!stdout.contains("s3cr3t"));
}

#[test]
fn check_hints_at_the_key_meant_in_the_file_and_in_a_mapping_section() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/m.ini"),
        "[shop]\nevent = type\nverify = none\nunmaped = ignore\npaid: type::Paid $type$\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("genhook.ini"), "queue_backen = memory\n").unwrap();
    let output = genhook(dir.path(), &["check"], None);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("genhook.ini:1: queue_backen: unknown key (did you mean `queue_backend`?)"),
        "{stdout}"
    );
    let file = Path::new("mappings").join("m.ini");
    assert!(
        stdout.contains(&format!(
            "{}:4: unknown key `unmaped` (did you mean `unmapped`?)",
            file.display()
        )),
        "{stdout}"
    );
}

/// `genhook render` of a GitHub fixture of the repository, with its `X-GitHub-Event` header:
/// the message, once it exited 0.
fn render_github_fixture(event: &str, fixture: &str) -> String {
    let header = format!("X-GitHub-Event: {event}");
    let output = genhook(
        repo(),
        &["render", "--source", "github", "--header", &header, fixture],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn render_prints_the_message_of_a_fixture() {
    let message = render_github_fixture(
        "pull_request",
        "tests/fixtures/github/pull_request.opened.json",
    );
    assert!(
        message.starts_with("GitHub pull_request opened in Codertocat/Hello-World #2"),
        "{message}"
    );
}

#[test]
fn render_prints_the_line_of_a_handshake_the_server_answers_itself() {
    // A GitHub ping is answered `pong` when serving; its mapping line is there for `render`.
    let message = render_github_fixture("ping", "tests/fixtures/github/ping.json");
    assert!(message.starts_with("GitHub ping in "), "{message}");
}

#[test]
fn render_reads_stdin_and_takes_an_explicit_event() {
    let body = std::fs::read(repo().join("tests/fixtures/github/issues.opened.json")).unwrap();
    let output = genhook(
        repo(),
        &["render", "--source", "github", "--event", "issues", "-"],
        Some(&body),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with("GitHub issues opened"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn render_without_a_matching_mapping_exits_1_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/m.ini"),
        "[shop]\nevent = type\npaid: type::Paid\n",
    )
    .unwrap();
    let output = genhook(
        dir.path(),
        &["render", "--source", "shop", "-"],
        Some(br#"{"type":"refunded"}"#),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no mapping for event `refunded` of source `shop`"),
        "{}",
        text(&output.stderr)
    );
    let output = genhook(
        dir.path(),
        &["render", "--source", "nope", "-"],
        Some(b"{}"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("unknown source `nope`"));
}

#[test]
fn render_verify_checks_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/gh.ini"),
        "[github]\nverify = github\nsecret = It's a Secret to Everybody\nevent = header:X-GitHub-Event\n*: zen::Ping $zen$\n",
    )
    .unwrap();
    let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let args = |sig: &'static str| {
        vec![
            "render",
            "--verify",
            "--source",
            "github",
            "--event",
            "ping",
            "-H",
            "X-GitHub-Event: ping",
            "-H",
            sig,
            "-",
        ]
    };
    let header = Box::leak(format!("X-Hub-Signature-256: {good}").into_boxed_str());
    // The body is not JSON, so rendering fails after a good signature, and before it with a bad one.
    let output = genhook(dir.path(), &args(header), Some(b"Hello, World!"));
    assert!(
        !text(&output.stderr).contains("signature"),
        "{}",
        text(&output.stderr)
    );
    let output = genhook(
        dir.path(),
        &args("X-Hub-Signature-256: sha256=00"),
        Some(b"Hello, World!"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("signature check failed"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn render_verify_runs_a_scheme_that_reads_the_body() {
    // Meraki's secret travels in the body: `--verify` runs the source's own verify stage on it,
    // without `--verify` the stage is left out and the payload renders.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/m.ini"),
        "[meraki]\nverify = meraki\nsecret = s3cret\nevent = alertType\n*: alertType::Meraki $alertType$\n",
    )
    .unwrap();
    let good = br#"{"alertType":"APs went down","sharedSecret":"s3cret"}"#;
    let bad = br#"{"alertType":"APs went down","sharedSecret":"guess"}"#;
    let verified = ["render", "--verify", "--source", "meraki", "-"];
    let output = genhook(dir.path(), &verified, Some(good));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "Meraki APs went down\n");
    let output = genhook(dir.path(), &verified, Some(bad));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("genhook render: signature check failed"),
        "{}",
        text(&output.stderr)
    );
    let output = genhook(
        dir.path(),
        &["render", "--source", "meraki", "-"],
        Some(bad),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "Meraki APs went down\n");
}

#[test]
fn serve_with_an_unreadable_mappings_directory_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the directory should be (a missing path would mean the built-in mappings).
    std::fs::write(dir.path().join("mappings"), "").unwrap();
    let output = genhook(dir.path(), &["serve"], None);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("mappings:0: cannot read directory"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "serve created ./data before it found ./mappings unreadable"
    );
}
