//! `scripts/install.sh` into a temporary `DESTDIR`, run as a packager runs it: the tree and its
//! modes, a second run that changes nothing, edited configuration that is never overwritten, an
//! upgrade that replaces the binary, a `genhook.ini` that `genhook check` accepts, and a sysusers.d
//! entry that systemd-sysusers turns into the `genhook` user (in a root of its own).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tools;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tools::repo;

fn install(destdir: &Path, binary: &Path, extra: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo().join("scripts/install.sh"))
        .args(["--prefix", "/usr", "--binary"])
        .arg(binary)
        .args(extra)
        .env("DESTDIR", destdir)
        .output()
        .unwrap()
}

fn ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every path under `root` with its mode, content and modification time.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>, i64, i64)> {
    let mut seen = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            let content = if meta.is_dir() {
                stack.push(path.clone());
                Vec::new()
            } else {
                std::fs::read(&path).unwrap()
            };
            let relative = path.strip_prefix(root).unwrap().to_owned();
            let mode = meta.permissions().mode() & 0o7777;
            seen.insert(relative, (mode, content, meta.mtime(), meta.mtime_nsec()));
        }
    }
    seen
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// systemd-sysusers, run on the entry into an empty root of its own, creates the `genhook` user
/// with no login shell (skipped with a message where systemd-sysusers is missing, a failure
/// under CI=true).
fn sysusers_creates_the_user(conf: &Path) {
    let sysroot = tempfile::tempdir().unwrap();
    std::fs::create_dir(sysroot.path().join("etc")).unwrap();
    let Ok(output) = Command::new("systemd-sysusers")
        .arg(format!("--root={}", sysroot.path().display()))
        .arg(conf)
        .output()
    else {
        return tools::missing("systemd-sysusers", "Debian's systemd package");
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let passwd = std::fs::read_to_string(sysroot.path().join("etc/passwd")).unwrap();
    let user = passwd
        .lines()
        .find(|line| line.starts_with("genhook:"))
        .unwrap_or_else(|| panic!("no genhook user in {passwd}"));
    assert!(
        user.ends_with(":/var/lib/genhook:/usr/sbin/nologin"),
        "{user}"
    );
}

#[test]
fn installs_the_tree_idempotently_and_never_overwrites_the_operator_s_files() {
    let dest = tempfile::tempdir().unwrap();
    let root = dest.path();
    let binary = Path::new(env!("CARGO_BIN_EXE_genhook"));
    let first = ok(&install(root, binary, &[]));
    assert!(!first.contains("unchanged"), "{first}");

    let mut expected: Vec<(String, u32)> = [
        ("usr/bin/genhook", 0o755),
        ("usr/lib/systemd/system/genhook.service", 0o644),
        ("usr/lib/sysusers.d/genhook.conf", 0o644),
        ("usr/share/doc/genhook/README.md", 0o644),
        ("usr/share/doc/genhook/RUNBOOK.md", 0o644),
        ("etc/genhook", 0o750),
        ("etc/genhook/mappings", 0o750),
        ("etc/genhook/genhook.ini", 0o640),
        ("etc/genhook/genhook.env", 0o640),
    ]
    .into_iter()
    .map(|(path, mode)| (path.to_owned(), mode))
    .collect();
    for entry in std::fs::read_dir(repo().join("mappings")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        expected.push((format!("etc/genhook/mappings/{name}"), 0o640));
    }
    for (path, wanted) in &expected {
        assert_eq!(mode(&root.join(path)), *wanted, "{path}");
    }
    let files: Vec<PathBuf> = snapshot(root)
        .into_keys()
        .filter(|path| root.join(path).is_file())
        .collect();
    for file in &files {
        assert!(
            expected.iter().any(|(path, _)| Path::new(path) == file),
            "unexpected file {file:?}"
        );
    }
    assert_eq!(
        std::fs::read(root.join("usr/bin/genhook")).unwrap(),
        std::fs::read(binary).unwrap()
    );

    // The unit runs the installed binary; the configuration has the service's paths.
    let unit =
        std::fs::read_to_string(root.join("usr/lib/systemd/system/genhook.service")).unwrap();
    assert!(unit.contains("\nExecStart=/usr/bin/genhook serve --config /etc/genhook/genhook.ini\n"));
    let ini = std::fs::read_to_string(root.join("etc/genhook/genhook.ini")).unwrap();
    for line in [
        "data_dir = /var/lib/genhook",
        "mappings_dir = /etc/genhook/mappings",
        "log_file = /var/log/genhook/genhook.log",
    ] {
        assert!(ini.lines().any(|l| l == line), "no `{line}` in genhook.ini");
    }
    let sysusers = std::fs::read_to_string(root.join("usr/lib/sysusers.d/genhook.conf")).unwrap();
    assert!(
        sysusers.lines().any(|l| l.starts_with("u genhook ")),
        "{sysusers}"
    );
    sysusers_creates_the_user(&root.join("usr/lib/sysusers.d/genhook.conf"));
    // What was installed is a configuration genhook accepts.
    let check = Command::new(binary)
        .arg("check")
        .arg("--config")
        .arg(root.join("etc/genhook/genhook.ini"))
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // A second run changes nothing, not even a modification time.
    let before = snapshot(root);
    let second = ok(&install(root, binary, &[]));
    assert!(!second.contains("installed"), "{second}");
    assert_eq!(before, snapshot(root), "the second run changed the tree");

    // Edited configuration, secrets and mappings are kept; a deleted mapping comes back.
    let edited = [
        "etc/genhook/genhook.ini",
        "etc/genhook/genhook.env",
        "etc/genhook/mappings/github.ini",
    ];
    for path in edited {
        std::fs::write(root.join(path), "; edited\n").unwrap();
    }
    std::fs::remove_file(root.join("etc/genhook/mappings/jira.ini")).unwrap();
    ok(&install(root, binary, &[]));
    for path in edited {
        assert_eq!(
            std::fs::read_to_string(root.join(path)).unwrap(),
            "; edited\n",
            "{path}"
        );
    }
    assert!(root.join("etc/genhook/mappings/jira.ini").exists());
    assert_eq!(mode(&root.join("etc/genhook/genhook.env")), 0o640);

    // An upgrade: another binary replaces the installed one.
    let other = root.join("other-genhook");
    std::fs::write(&other, "#!/bin/sh\necho new\n").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o755)).unwrap();
    let upgrade = ok(&install(root, &other, &[]));
    assert!(upgrade.contains("installed  "), "{upgrade}");
    assert_eq!(
        std::fs::read(root.join("usr/bin/genhook")).unwrap(),
        std::fs::read(&other).unwrap()
    );
}

#[test]
fn a_relative_prefix_and_a_missing_binary_are_refused() {
    let dest = tempfile::tempdir().unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_genhook"));
    let output = install(dest.path(), binary, &["--prefix", "usr"]);
    assert_eq!(output.status.code(), Some(2));
    let output = install(dest.path(), &dest.path().join("nothing"), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        std::fs::read_dir(dest.path()).unwrap().count(),
        0,
        "nothing is installed"
    );
}
