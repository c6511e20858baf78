//! The environment configuration: every key and alias from the file and from `GENHOOK_*`,
//! value forms, every error message with its `FILE:LINE`, several errors at once, redaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use genhook::config::{
    env, key_names, Config, LogFormat, LogLevel, LogRotation, QueueBackend, ThreadingModel,
};

const FILE: &str = "test.ini";

/// Parses `text` as `test.ini` with no environment.
fn parse(text: &str) -> Result<Config, Vec<String>> {
    parse_env(text, &[])
}

/// Parses `text` as `test.ini` with the given environment.
fn parse_env(text: &str, vars: &[(&str, &str)]) -> Result<Config, Vec<String>> {
    let env = env::from_pairs(vars.iter().copied());
    Config::parse_str(Path::new(FILE), text, &env)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// The errors of `text`, printed.
fn errors(text: &str) -> Vec<String> {
    parse(text).expect_err("the file should be refused")
}

/// The configuration with `file` cleared, to compare with the defaults.
fn without_file(mut config: Config) -> Config {
    config.file = None;
    config
}

/// A check on a parsed configuration.
type Check = fn(&Config) -> bool;

/// One (non-default) value for every key and alias, and how to see it took effect.
const CASES: &[(&str, &str, Check)] = &[
    ("server_host", "0.0.0.0", |c| c.server_host == "0.0.0.0"),
    ("server_port", "9000", |c| c.server_port == 9000),
    ("ssl_enabled", "yes", |c| c.ssl_enabled),
    ("ssl_cert_path", "cert.pem", |c| {
        c.ssl_cert_path.as_deref() == Some(Path::new("cert.pem"))
    }),
    ("ssl_key_path", "key.pem", |c| {
        c.ssl_key_path.as_deref() == Some(Path::new("key.pem"))
    }),
    ("ssl_client_ca", "tests/fixtures/client-ca.pem", |c| {
        c.ssl_client_ca.as_deref() == Some(Path::new("tests/fixtures/client-ca.pem"))
    }),
    ("max_body_size", "25MB", |c| c.max_body_size == 25 << 20),
    ("header_read_timeout", "500ms", |c| {
        c.header_read_timeout == Duration::from_millis(500)
    }),
    ("request_timeout", "2m", |c| {
        c.request_timeout == Duration::from_secs(120)
    }),
    ("idle_timeout", "2m", |c| {
        c.idle_timeout == Duration::from_secs(120)
    }),
    ("http2_keep_alive_interval", "5s", |c| {
        c.http2_keep_alive_interval == Duration::from_secs(5)
    }),
    ("max_connections", "100", |c| c.max_connections == Some(100)),
    ("max_inflight_body_bytes", "64MB", |c| {
        c.max_inflight_body_bytes == Some(64 << 20)
    }),
    ("admin_token", "tok", |c| {
        c.admin_token.as_ref().map(|s| s.expose()) == Some("tok")
    }),
    ("sl1_api_url", "https://sl1.example/api/alert", |c| {
        c.sl1_api_url.as_ref().map(|u| u.as_str()) == Some("https://sl1.example/api/alert")
    }),
    ("sl1_graphql_url", "https://sl1.example/gql", |c| {
        c.sl1_graphql_url.as_ref().map(|u| u.as_str()) == Some("https://sl1.example/gql")
    }),
    ("sl1_username", "em7admin", |c| {
        c.sl1_username.as_deref() == Some("em7admin")
    }),
    ("sl1_password", "pw", |c| {
        c.sl1_password.as_ref().map(|s| s.expose()) == Some("pw")
    }),
    ("sl1_timeout", "5", |c| {
        c.sl1_timeout == Duration::from_secs(5)
    }),
    ("sl1_retry_attempts", "7", |c| c.sl1_retry_attempts == 7),
    ("retry_max_attempts", "0", |c| c.sl1_retry_attempts == 0),
    ("sl1_ca_file", "Cargo.toml", |c| {
        c.sl1_ca_file.as_deref() == Some(Path::new("Cargo.toml"))
    }),
    ("sl1_breaker_threshold", "2", |c| {
        c.sl1_breaker_threshold == 2
    }),
    ("sl1_breaker_cooldown", "1h", |c| {
        c.sl1_breaker_cooldown == Duration::from_secs(3600)
    }),
    ("threading_model", "thread_pool", |c| {
        c.threading_model == ThreadingModel::ThreadPool
    }),
    ("max_worker_threads", "16", |c| c.max_worker_threads == 16),
    ("max_threads", "3", |c| c.max_worker_threads == 3),
    ("sl1_max_inflight", "64", |c| c.sl1_max_inflight == 64),
    ("processing_timeout", "45s", |c| {
        c.processing_timeout == Duration::from_secs(45)
    }),
    ("thread_timeout", "2m", |c| {
        c.processing_timeout == Duration::from_secs(120)
    }),
    ("shutdown_grace_period", "0", |c| {
        c.shutdown_grace_period.is_zero()
    }),
    ("queue_backend", "redis", |c| {
        c.queue_backend == QueueBackend::Redis
    }),
    ("queue_max_size", "50", |c| c.queue_max_size == Some(50)),
    ("queue_size", "60", |c| c.queue_max_size == Some(60)),
    ("queue_max_bytes", "512MiB", |c| {
        c.queue_max_bytes == Some(512 << 20)
    }),
    ("data_dir", "/var/lib/genhook", |c| {
        c.data_dir == Path::new("/var/lib/genhook")
    }),
    ("redis_url", "redis://:pw@10.0.0.1:6380/2", |c| {
        c.redis_url.as_str() == "redis://:pw@10.0.0.1:6380/2"
    }),
    ("redis_claim_idle", "90s", |c| {
        c.redis_claim_idle == Duration::from_secs(90)
    }),
    ("redis_prefix", "genhook-eu:prod", |c| {
        c.redis_prefix == "genhook-eu:prod"
    }),
    ("dlq_alert_threshold", "0", |c| c.dlq_alert_threshold == 0),
    ("mappings_dir", "/etc/genhook/mappings", |c| {
        c.mappings_dir == Path::new("/etc/genhook/mappings")
    }),
    ("reload", "off", |c| !c.reload),
    ("log_level", "DEBUG", |c| c.log_level == LogLevel::Debug),
    ("log_file", "/var/log/genhook.log", |c| {
        c.log_file.as_deref() == Some(Path::new("/var/log/genhook.log"))
    }),
    ("log_rotation", "hourly", |c| {
        c.log_rotation == LogRotation::Hourly
    }),
    ("log_max_size", "512KB", |c| c.log_max_size == 512 << 10),
    ("log_max_files", "3", |c| c.log_max_files == 3),
    ("log_format", "JSON", |c| c.log_format == LogFormat::Json),
];

/// The keys a case needs besides itself to pass the checks between keys.
fn companions(key: &str) -> &'static str {
    match key {
        "sl1_username" => "sl1_password = x\n",
        "sl1_password" => "sl1_username = x\n",
        // Files that exist in the working directory of `cargo test`.
        "ssl_enabled" => "ssl_cert_path = Cargo.toml\nssl_key_path = Cargo.toml\n",
        _ => "",
    }
}

#[test]
fn queue_max_bytes_takes_binary_units_and_plain_bytes() {
    for (value, bytes) in [
        ("1GiB", 1u64 << 30),
        ("512MiB", 512 << 20),
        ("1048576", 1 << 20),
    ] {
        let config = parse(&format!("queue_max_bytes = {value}\n")).unwrap();
        assert_eq!(config.queue_max_bytes, Some(bytes), "{value}");
    }
}

#[test]
fn the_cases_cover_every_key_and_alias() {
    let mut covered: Vec<&str> = CASES.iter().map(|(k, _, _)| *k).collect();
    covered.sort_unstable();
    let mut known = key_names();
    known.sort_unstable();
    assert_eq!(covered, known);
}

#[test]
fn every_key_and_alias_is_read_from_the_file() {
    for (key, value, check) in CASES {
        let text = format!("{key} = {value}\n{}", companions(key));
        let config = parse(&text).unwrap_or_else(|e| panic!("{key}: {e:?}"));
        assert!(check(&config), "{key} = {value} not applied");
        assert!(
            !check(&Config::defaults()),
            "{key}: the case value is the default, so it proves nothing"
        );
    }
}

#[test]
fn every_key_and_alias_is_overridden_by_its_environment_variable() {
    for (key, value, check) in CASES {
        let var = format!("GENHOOK_{}", key.to_ascii_uppercase());
        let config =
            parse_env(companions(key), &[(&var, value)]).unwrap_or_else(|e| panic!("{var}: {e:?}"));
        assert!(check(&config), "{var}={value} not applied");
    }
}

#[test]
fn the_environment_wins_over_the_file_and_keys_are_case_insensitive() {
    let config = parse_env(
        "SERVER_PORT = 9000\nmax_threads = 2\n",
        &[
            ("GENHOOK_SERVER_PORT", " 9100 "),
            ("GENHOOK_MAX_WORKER_THREADS", "5"),
        ],
    )
    .unwrap();
    assert_eq!(config.server_port, 9100);
    assert_eq!(config.max_worker_threads, 5);
    assert_eq!(config.span_of("server_port"), None);
}

#[test]
fn defaults_are_those_of_the_design_and_pass_validation() {
    let c = Config::defaults();
    assert!(c.validate().is_ok());
    assert_eq!(c.listen_addr(), "127.0.0.1:8080");
    assert!(!c.ssl_enabled);
    assert_eq!(c.sl1_api_url, None);
    assert_eq!(c.sl1_timeout, Duration::from_secs(30));
    assert_eq!(c.sl1_retry_attempts, 3);
    assert_eq!(c.sl1_breaker_threshold, 5);
    assert_eq!(c.sl1_breaker_cooldown, Duration::from_secs(30));
    assert_eq!(c.max_worker_threads, 8);
    assert_eq!(c.sl1_max_inflight, 256);
    assert_eq!(c.queue_max_size, None, "no count bound by default");
    assert_eq!(c.queue_max_bytes, None, "the backend's default bytes");
    assert_eq!(c.processing_timeout, Duration::from_secs(300));
    assert_eq!(c.shutdown_grace_period, Duration::from_secs(60));
    assert_eq!(c.log_level, LogLevel::Info);
    assert_eq!(c.log_file, None);
    assert_eq!(c.log_rotation, LogRotation::Daily);
    assert_eq!(c.log_max_size, 100 * 1024 * 1024);
    assert_eq!(c.mappings_dir, Path::new("./mappings"));
    assert_eq!(c.data_dir, Path::new("./data"));
    assert_eq!(c.outbox_path(), Path::new("./data/outbox.jsonl"));
    assert_eq!(c.queue_backend, QueueBackend::Disk);
    assert_eq!(c.redis_url.as_str(), "redis://127.0.0.1:6379");
    assert_eq!(c.redis_claim_idle, Duration::from_secs(60));
    assert_eq!(c.redis_prefix, "genhook");
    assert_eq!(c.admin_token, None);
    assert_eq!(c.threading_model, ThreadingModel::Hybrid);
    assert_eq!(c.max_body_size, 5 * 1024 * 1024);
    assert_eq!(c.dlq_alert_threshold, 100);
    assert_eq!(c.header_read_timeout, Duration::from_secs(10));
    assert_eq!(c.request_timeout, Duration::from_secs(30));
    assert_eq!(c.idle_timeout, Duration::from_secs(60));
    assert_eq!(c.http2_keep_alive_interval, Duration::from_secs(20));
    assert_eq!(c.max_connections, None);
    assert!(c.connection_limit() >= 1);
    assert_eq!(c.max_inflight_body_bytes, None);
    assert_eq!(c.inflight_body_limit(), 256 << 20);
    assert!(c.reload);
    assert!(c.max_concurrent.is_empty());
    // An empty file and an empty environment give exactly the defaults.
    let empty = parse("").unwrap();
    assert_eq!(empty.file.as_deref(), Some(Path::new(FILE)));
    assert_eq!(without_file(empty), Config::defaults());
}

#[test]
fn the_example_file_loads_and_documents_every_key() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("genhook.example.ini");
    let config = Config::load(Some(&path), &env::empty).unwrap();
    assert_eq!(without_file(config), Config::defaults());
    let text = std::fs::read_to_string(&path).unwrap();
    for key in key_names() {
        assert!(
            text.contains(&format!("{key} =")),
            "{key} is not in the example"
        );
    }
    assert!(text.contains("_max_concurrent = "));
    // Uncommenting every commented-out `key = value` line still gives a valid file, apart from
    // the paths that do not exist here (aliases set twice, the SL1 password left to the environment).
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix(';') {
            Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let problems = parse(&uncommented).unwrap_err();
    assert!(
        problems.iter().all(|p| p.contains("no such file")
            || p.contains("same setting as")
            || p.contains("is set but")
            || p.contains("is true but")),
        "{problems:?}"
    );
}

#[test]
fn load_reads_an_explicit_path_and_reports_an_unreadable_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("genhook.ini");
    std::fs::write(&path, "server_port = 9999\nlog_level = warn\n").unwrap();
    let config = Config::load(Some(&path), &env::empty).unwrap();
    assert_eq!(config.server_port, 9999);
    assert_eq!(config.file.as_deref(), Some(path.as_path()));
    assert_eq!(
        config.span_of("server_port").unwrap().to_string(),
        format!("{}:1", path.display())
    );
    assert_eq!(config.span_of("log_level").unwrap().line, 2);

    let missing = dir.path().join("absent.ini");
    let errors = Config::load(Some(&missing), &env::empty).unwrap_err();
    assert_eq!(errors.len(), 1);
    let printed = errors[0].to_string();
    assert!(
        printed.starts_with(&format!(
            "{}:0: cannot read the configuration file: ",
            missing.display()
        )),
        "{printed}"
    );
}

#[test]
fn source_concurrency_keys_make_a_map() {
    let config = parse_env(
        "shopify_max_concurrent = 10\ngithub_max_concurrent = 20\naws-sns_max_concurrent = 2\n",
        &[("GENHOOK_GITHUB_MAX_CONCURRENT", "30")],
    )
    .unwrap();
    assert_eq!(config.max_concurrent_for("shopify"), Some(10));
    assert_eq!(config.max_concurrent_for("github"), Some(30));
    assert_eq!(config.max_concurrent_for("aws-sns"), Some(2));
    assert_eq!(config.max_concurrent_for("stripe"), None);
    assert_eq!(config.span_of("shopify_max_concurrent").unwrap().line, 1);
    assert_eq!(
        errors("stripe_max_concurrent = 0\n_max_concurrent = 1\nslack_max_concurrent = many\n"),
        vec![
            r#"test.ini:1: stripe_max_concurrent: must be at least 1: "0""#,
            "test.ini:2: _max_concurrent: unknown key",
            r#"test.ini:3: slack_max_concurrent: not a whole number: "many""#,
        ]
    );
}

#[test]
fn sections_comments_and_colons_are_accepted() {
    let text = "; comment\n# comment\n[server]\nserver_port: 9001 ; inline comment\n\n[sl1]\nsl1_timeout = 10s # why\n";
    let config = parse(text).unwrap();
    assert_eq!(config.server_port, 9001);
    assert_eq!(config.sl1_timeout, Duration::from_secs(10));
    assert_eq!(config.span_of("sl1_timeout").unwrap().line, 7);
}

#[test]
fn empty_values_unset_optional_keys() {
    let config = parse_env(
        "log_file =\n",
        &[("GENHOOK_SL1_API_URL", ""), ("GENHOOK_ADMIN_TOKEN", "")],
    )
    .unwrap();
    assert_eq!(config.log_file, None);
    assert_eq!(config.sl1_api_url, None);
    assert_eq!(config.admin_token, None);
}

#[test]
fn every_value_error_names_the_file_line_and_key() {
    let cases: &[(&str, &str)] = &[
        (
            "server_host = bad host",
            r#"server_host: not a host name or IP address: "bad host""#,
        ),
        (
            "server_port = abc",
            r#"server_port: not a port number: "abc""#,
        ),
        (
            "server_port = 65536",
            r#"server_port: not a port number: "65536""#,
        ),
        (
            "ssl_enabled = maybe",
            r#"ssl_enabled: not a boolean (true/false, yes/no, on/off, 1/0): "maybe""#,
        ),
        (
            "ssl_key_path = Cargo.toml",
            "ssl_enabled: is true but ssl_cert_path is not set",
        ),
        (
            "max_body_size = 5TB",
            r#"max_body_size: not a size (e.g. 512KB, 5MB, 1GB): "5TB""#,
        ),
        (
            "max_body_size = 0",
            r#"max_body_size: must be at least 1 bytes: "0""#,
        ),
        (
            "header_read_timeout = 0s",
            r#"header_read_timeout: must be longer than zero: "0s""#,
        ),
        (
            "request_timeout = soon",
            r#"request_timeout: not a duration (e.g. 500ms, 30s, 5m, 1h): "soon""#,
        ),
        (
            "idle_timeout = 0",
            r#"idle_timeout: must be longer than zero: "0""#,
        ),
        (
            "max_connections = 0",
            r#"max_connections: must be at least 1: "0""#,
        ),
        (
            "max_inflight_body_bytes = 1MB",
            "max_inflight_body_bytes: is smaller than max_body_size (1048576 < 5242880 bytes): \
             a body of the largest accepted size would never be read",
        ),
        (
            "sl1_api_url = sl1.example",
            r#"sl1_api_url: not a valid URL (relative URL without a base): "sl1.example""#,
        ),
        (
            "sl1_api_url = ftp://sl1.example",
            r#"sl1_api_url: URL scheme must be http or https: "ftp://sl1.example""#,
        ),
        (
            "sl1_graphql_url = gopher://sl1.example/gql",
            r#"sl1_graphql_url: URL scheme must be http or https: "gopher://sl1.example/gql""#,
        ),
        (
            "sl1_timeout = 1.5s",
            r#"sl1_timeout: not a duration (e.g. 500ms, 30s, 5m, 1h): "1.5s""#,
        ),
        (
            "sl1_retry_attempts = -1",
            r#"sl1_retry_attempts: not a whole number: "-1""#,
        ),
        (
            "retry_max_attempts = x",
            r#"retry_max_attempts: not a whole number: "x""#,
        ),
        (
            "sl1_ca_file = /nonexistent/ca.pem",
            r#"sl1_ca_file: no such file: "/nonexistent/ca.pem""#,
        ),
        (
            "sl1_breaker_threshold = 0",
            r#"sl1_breaker_threshold: must be at least 1: "0""#,
        ),
        (
            "sl1_breaker_cooldown = 0",
            r#"sl1_breaker_cooldown: must be longer than zero: "0""#,
        ),
        (
            "threading_model = fibers",
            r#"threading_model: must be one of async, thread_pool, hybrid: "fibers""#,
        ),
        (
            "max_worker_threads = 0",
            r#"max_worker_threads: must be at least 1: "0""#,
        ),
        (
            "max_threads = lots",
            r#"max_threads: not a whole number: "lots""#,
        ),
        (
            "sl1_max_inflight = 0",
            r#"sl1_max_inflight: must be at least 1: "0""#,
        ),
        (
            "processing_timeout = 0ms",
            r#"processing_timeout: must be longer than zero: "0ms""#,
        ),
        (
            // `3d` became a duration (one grammar for every duration key): a week is still no unit.
            "thread_timeout = 3w",
            r#"thread_timeout: not a duration (e.g. 500ms, 30s, 5m, 1h): "3w""#,
        ),
        (
            "shutdown_grace_period = -5s",
            r#"shutdown_grace_period: not a duration (e.g. 500ms, 30s, 5m, 1h): "-5s""#,
        ),
        (
            "queue_backend = kafka",
            r#"queue_backend: must be one of disk, memory, redis: "kafka""#,
        ),
        (
            "queue_max_size = 0",
            r#"queue_max_size: must be at least 1: "0""#,
        ),
        (
            "queue_size = 1e6",
            r#"queue_size: not a whole number: "1e6""#,
        ),
        (
            "queue_max_bytes = 0",
            r#"queue_max_bytes: must be at least 1 bytes: "0""#,
        ),
        (
            "queue_max_bytes = lots",
            r#"queue_max_bytes: not a size (e.g. 512KB, 5MB, 1GB): "lots""#,
        ),
        ("data_dir =", "data_dir: empty path"),
        (
            "redis_url = http://localhost",
            r#"redis_url: URL scheme must be redis or rediss or redis+unix or unix: "http://localhost""#,
        ),
        (
            "redis_claim_idle = never",
            r#"redis_claim_idle: not a duration (e.g. 500ms, 30s, 5m, 1h): "never""#,
        ),
        (
            "redis_prefix = my prefix",
            r#"redis_prefix: must be letters, digits, '-', '_', '.' or ':' (not empty): "my prefix""#,
        ),
        (
            "dlq_alert_threshold = -1",
            r#"dlq_alert_threshold: not a whole number: "-1""#,
        ),
        ("mappings_dir =", "mappings_dir: empty path"),
        (
            "reload = sometimes",
            r#"reload: not a boolean (true/false, yes/no, on/off, 1/0): "sometimes""#,
        ),
        (
            "log_level = verbose",
            r#"log_level: must be one of trace, debug, info, warn, error: "verbose""#,
        ),
        (
            "log_rotation = weekly",
            r#"log_rotation: must be one of daily, hourly, never: "weekly""#,
        ),
        (
            "log_max_size = big",
            r#"log_max_size: not a size (e.g. 512KB, 5MB, 1GB): "big""#,
        ),
        (
            "log_max_files = -1",
            r#"log_max_files: not a whole number: "-1""#,
        ),
        (
            "log_format = xml",
            r#"log_format: must be one of text, json: "xml""#,
        ),
        (
            "ssl_client_ca = /nonexistent/ca.pem",
            r#"ssl_client_ca: no such file: "/nonexistent/ca.pem""#,
        ),
        (
            "ssl_client_ca = Cargo.toml",
            "ssl_client_ca: Cargo.toml holds no certificate",
        ),
        (
            "sl1_username = u",
            "sl1_username: is set but sl1_password is not (set it in GENHOOK_SL1_PASSWORD)",
        ),
        (
            "sl1_password = p",
            "sl1_password: is set but sl1_username is not",
        ),
        ("colour = blue", "colour: unknown key"),
        (
            "sever_port = 1",
            "sever_port: unknown key (did you mean `server_port`?)",
        ),
        ("just some words", "expected `key = value`"),
        (
            "[server",
            r#"malformed section header (missing `]`): "[server""#,
        ),
    ];
    for (line, message) in cases {
        // The bad line is line 3, after a comment and a valid key.
        let prefix = if line.starts_with("ssl_key_path") {
            "ssl_enabled = yes"
        } else {
            "shopify_max_concurrent = 1"
        };
        let text = format!("; a comment\n{prefix}\n{line}\n");
        let expected_line = if line.starts_with("ssl_key_path") {
            2
        } else {
            3
        };
        let errors = parse(&text).expect_err(line);
        assert_eq!(
            errors,
            vec![format!("test.ini:{expected_line}: {message}")],
            "for {line:?}"
        );
    }
}

/// The warnings of a configuration that loads, printed.
fn warnings_of(config: &Config) -> Vec<String> {
    config.warnings().iter().map(ToString::to_string).collect()
}

#[test]
fn an_alias_pair_naming_one_value_is_a_warning_with_both_places() {
    let config = parse("max_threads = 4\nserver_port = 1\nmax_worker_threads = 4\n").unwrap();
    assert_eq!(config.max_worker_threads, 4);
    assert_eq!(
        warnings_of(&config),
        vec!["test.ini:3: warning: max_worker_threads: same setting as max_threads (set at test.ini:1), with the same value; accepted, but keep only one of the two"]
    );
    // The same value written differently (30 and 30s) is the same value.
    let config = parse("thread_timeout = 30\nprocessing_timeout = 30s\n").unwrap();
    assert_eq!(config.processing_timeout, Duration::from_secs(30));
    let pairs = warnings_of(&config);
    assert_eq!(
        pairs
            .iter()
            .filter(|w| w.contains("same setting as"))
            .count(),
        1
    );
}

#[test]
fn an_alias_pair_with_different_values_or_a_key_set_twice_is_an_error() {
    assert_eq!(
        errors("queue_size = 4\nqueue_max_size = 5\nthread_timeout = 1s\nprocessing_timeout = 2s\nsl1_retry_attempts = 1\nretry_max_attempts = 2\nserver_port = 1\nserver_port = 1\n"),
        vec![
            r#"test.ini:2: queue_max_size: same setting as queue_size (set at test.ini:1) with a different value ("4" there, "5" here); set only one of the two"#,
            r#"test.ini:4: processing_timeout: same setting as thread_timeout (set at test.ini:3) with a different value ("1s" there, "2s" here); set only one of the two"#,
            r#"test.ini:6: retry_max_attempts: same setting as sl1_retry_attempts (set at test.ini:5) with a different value ("1" there, "2" here); set only one of the two"#,
            "test.ini:8: server_port: set twice (first at test.ini:7)",
        ]
    );
}

#[test]
fn the_project_notes_example_blocks_load_as_one_file() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/project-notes/genhook.ini");
    // Verbatim, the notes' TLS files do not exist here: those are the only errors.
    let problems: Vec<String> = Config::load(Some(&path), &env::empty)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .all(|p| p.contains("ssl_") && p.contains("no such file")),
        "{problems:?}"
    );
    // With TLS left to a proxy the file loads, every pair named once as a warning.
    let env = env::from_pairs([("GENHOOK_SSL_ENABLED", "false")]);
    let config = Config::load(Some(&path), &env).unwrap();
    assert_eq!(config.max_worker_threads, 50);
    assert_eq!(config.queue_max_size, Some(10000));
    assert_eq!(config.processing_timeout, Duration::from_secs(30));
    assert_eq!(config.sl1_retry_attempts, 3);
    assert_eq!(config.max_concurrent_for("aws"), Some(100));
    assert_eq!(config.log_level, LogLevel::Info);
    let file = path.display();
    let pairs: Vec<String> = warnings_of(&config)
        .into_iter()
        .filter(|w| w.contains("same setting as"))
        .collect();
    assert_eq!(
        pairs,
        [
            ("sl1_retry_attempts", 26, "retry_max_attempts", 5),
            ("max_threads", 29, "max_worker_threads", 2),
            ("queue_size", 30, "queue_max_size", 3),
            ("thread_timeout", 31, "processing_timeout", 4),
        ]
        .map(|(second, at, first, first_at)| format!(
            "{file}:{at}: warning: {second}: same setting as {first} (set at {file}:{first_at}), with the same value; accepted, but keep only one of the two"
        ))
    );
}

#[test]
fn environment_errors_name_the_variable() {
    let errors = parse_env(
        "",
        &[
            ("GENHOOK_SERVER_PORT", "abc"),
            ("GENHOOK_MAX_THREADS", "2"),
            ("GENHOOK_MAX_WORKER_THREADS", "3"),
            ("GENHOOK_LOG_LEVEL", "loud"),
        ],
    )
    .unwrap_err();
    assert_eq!(
        errors,
        vec![
            r#"environment:0: GENHOOK_LOG_LEVEL: must be one of trace, debug, info, warn, error: "loud""#,
            r#"environment:0: GENHOOK_MAX_THREADS: same setting as GENHOOK_MAX_WORKER_THREADS (set at environment:0) with a different value ("3" there, "2" here); set only one of the two"#,
            r#"environment:0: GENHOOK_SERVER_PORT: not a port number: "abc""#,
        ]
    );
    let config = parse_env(
        "",
        &[
            ("GENHOOK_MAX_THREADS", "2"),
            ("GENHOOK_MAX_WORKER_THREADS", "2"),
        ],
    )
    .unwrap();
    assert_eq!(config.max_worker_threads, 2);
    assert_eq!(warnings_of(&config).len(), 1, "{:?}", warnings_of(&config));
}

#[test]
fn every_problem_is_reported_at_once_in_line_order() {
    let text = "\
server_port = abc
log_level = INFO
unknown_thing = 1
queue_backend = tape

sl1_timeout = forever
ssl_enabled = true
";
    assert_eq!(
        errors(text),
        vec![
            r#"test.ini:1: server_port: not a port number: "abc""#,
            "test.ini:3: unknown_thing: unknown key",
            r#"test.ini:4: queue_backend: must be one of disk, memory, redis: "tape""#,
            r#"test.ini:6: sl1_timeout: not a duration (e.g. 500ms, 30s, 5m, 1h): "forever""#,
            "test.ini:7: ssl_enabled: is true but ssl_cert_path is not set",
            "test.ini:7: ssl_enabled: is true but ssl_key_path is not set",
        ]
    );
}

#[test]
fn ssl_client_ca_must_be_a_pem_bundle_and_without_https_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    assert_eq!(
        errors(&format!("; mTLS\nssl_client_ca = {}\n", empty.display())),
        vec![format!(
            "test.ini:2: ssl_client_ca: {} holds no certificate",
            empty.display()
        )]
    );
    let config = parse("ssl_client_ca = tests/fixtures/client-ca.pem\n").unwrap();
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert!(
        warnings.iter().any(|w| w
            .starts_with("test.ini:1: warning: ssl_client_ca: is set but ssl_enabled is false")),
        "{warnings:?}"
    );
}

#[test]
fn tls_needs_existing_certificate_and_key_files() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, "cert").unwrap();
    let text = format!(
        "ssl_enabled = on\nssl_cert_path = {}\nssl_key_path = {}\n",
        cert.display(),
        key.display()
    );
    assert_eq!(
        errors(&text),
        vec![format!(
            "test.ini:3: ssl_key_path: no such file: {:?}",
            key.display().to_string()
        )]
    );
    std::fs::write(&key, "key").unwrap();
    let config = parse(&text).unwrap();
    assert!(config.ssl_enabled);
    assert_eq!(config.ssl_key_path.as_deref(), Some(key.as_path()));
    // With TLS off, the paths are not checked.
    assert!(parse("ssl_enabled = off\nssl_cert_path = /nonexistent\n").is_ok());
}

#[test]
fn debug_never_shows_secrets() {
    let config = parse_env(
        "sl1_username = em7admin\nsl1_api_url = https://api:urlpass123@sl1.example/api/alert\nsl1_graphql_url = https://gql:gqlpass123@sl1.example/gql\nredis_url = redis://:redispass123@localhost:6379\n",
        &[
            ("GENHOOK_SL1_PASSWORD", "sl1pass123"),
            ("GENHOOK_ADMIN_TOKEN", "admintoken123"),
        ],
    )
    .unwrap();
    let shown = format!("{config:?}");
    for secret in [
        "sl1pass123",
        "admintoken123",
        "urlpass123",
        "gqlpass123",
        "redispass123",
    ] {
        assert!(!shown.contains(secret), "{secret} shown in {shown}");
    }
    assert!(shown.contains("em7admin"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert_eq!(config.sl1_password.as_ref().unwrap().expose(), "sl1pass123");
    // The alternate form too.
    assert!(!format!("{config:#?}").contains("sl1pass123"));
}

#[test]
fn an_ipv6_host_is_bracketed_in_the_listen_address() {
    let config = parse("server_host = ::1\nserver_port = 0\n").unwrap();
    assert_eq!(config.listen_addr(), "[::1]:0");
    assert!(config.listen_addr().parse::<std::net::SocketAddr>().is_ok());
}

#[test]
fn quoted_values_keep_comment_characters() {
    let config = parse(
        "sl1_username = \"em7 ;admin\" ; the user\nsl1_password = \"p #w\"\nadmin_token = \"\"\n",
    )
    .unwrap();
    assert_eq!(config.sl1_username.as_deref(), Some("em7 ;admin"));
    assert_eq!(config.sl1_password.as_ref().unwrap().expose(), "p #w");
    assert_eq!(config.admin_token, None);
    assert_eq!(
        errors("sl1_username = \"open\nsl1_password = \"a\" b\n"),
        vec![
            "test.ini:1: sl1_username: missing closing quote",
            "test.ini:2: sl1_password: unexpected text after the closing quote",
        ]
    );
}

#[test]
fn a_bad_url_that_may_hold_a_password_is_not_echoed() {
    let errors = errors("sl1_api_url = ftp://user:hunter2@sl1\nredis_url = redis//:hunter2@x\n");
    assert_eq!(
        errors,
        vec![
            "test.ini:1: sl1_api_url: URL scheme must be http or https: <hidden: it may hold a password>",
            "test.ini:2: redis_url: not a valid URL (relative URL without a base): <hidden: it may hold a password>",
        ]
    );
}

#[test]
fn warnings_point_at_risky_settings() {
    assert!(Config::defaults().warnings().is_empty());
    let config = parse_env(
        "sl1_api_url = http://sl1.example/api/alert\nsl1_username = u\nsl1_password = p\nqueue_backend = memory\nlog_file = genhook.log\nlog_rotation = never\nlog_max_size = 0\n",
        &[("GENHOOK_ADMIN_TOKEN", "from the environment: no warning")],
    )
    .unwrap();
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec![
            "test.ini:1: warning: sl1_api_url: SL1 credentials would be sent unencrypted over http; use https",
            "test.ini:3: warning: sl1_password: a secret in the configuration file; prefer the environment variable GENHOOK_SL1_PASSWORD",
            "test.ini:4: warning: queue_backend: webhooks already answered 202 are lost if GenHook stops before delivering them; use disk or redis to keep them",
            "test.ini:5: warning: log_file: the log file is never rotated (log_rotation = never, log_max_size = 0) and grows without limit",
        ]
    );
    assert!(config.warnings().iter().all(|w| !w.is_error()));
}

#[test]
fn a_delivery_budget_shorter_than_one_attempt_is_a_warning() {
    let config = parse("sl1_timeout = 30s\nthread_timeout = 30s\n").unwrap();
    let warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec!["test.ini:2: warning: thread_timeout: is not longer than sl1_timeout (30s <= 30s): an SL1 call that hangs uses the whole budget and is dead-lettered without a retry"]
    );
    // No retries configured: nothing to leave time for.
    let config =
        parse("sl1_timeout = 30s\nthread_timeout = 30s\nsl1_retry_attempts = 0\n").unwrap();
    assert!(config.warnings().is_empty());
    let config = parse("sl1_timeout = 10s\nprocessing_timeout = 2m\n").unwrap();
    assert!(config.warnings().is_empty());
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_are_accepted() {
    let config = parse("\u{feff}server_port = 9002\r\nlog_level = Warn\r\n").unwrap();
    assert_eq!(config.server_port, 9002);
    assert_eq!(config.log_level, LogLevel::Warn);
}

#[test]
fn tls_files_are_given_only_when_tls_is_on() {
    let on = parse("ssl_enabled = yes\nssl_cert_path = Cargo.toml\nssl_key_path = Cargo.lock\n")
        .unwrap();
    assert_eq!(
        on.tls_files(),
        Some((PathBuf::from("Cargo.toml"), PathBuf::from("Cargo.lock")))
    );
    let off =
        parse("ssl_enabled = no\nssl_cert_path = Cargo.toml\nssl_key_path = Cargo.lock\n").unwrap();
    assert_eq!(off.tls_files(), None);
    assert_eq!(Config::defaults().tls_files(), None);
}
