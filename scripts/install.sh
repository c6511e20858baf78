#!/usr/bin/env bash
# Installs GenHook as a system service, idempotently:
#
#   PREFIX/bin/genhook                         the binary (replaced when it differs: an upgrade)
#   /etc/genhook/genhook.ini                   from genhook.example.ini with service paths (kept once there)
#   /etc/genhook/genhook.env                   secrets as GENHOOK_* variables, mode 0640 (never overwritten)
#   /etc/genhook/mappings/*.ini                the default mappings (an existing file is kept)
#   PREFIX/lib/systemd/system/genhook.service  deploy/genhook.service, ExecStart pointing at PREFIX/bin
#   PREFIX/lib/sysusers.d/genhook.conf         the `genhook` system user
#   PREFIX/share/doc/genhook/                  README.md, RUNBOOK.md
#
# Usage: scripts/install.sh [--prefix DIR] [--binary FILE]
#   --prefix DIR   where bin/, lib/ and share/ go (default /usr/local); /etc and /var stay where they are
#   --binary FILE  install this binary instead of building one (`cargo build --release --locked`)
#   DESTDIR=DIR    stage everything under DIR (packaging): no user is created, nothing is chown'ed
#
# Running it again changes nothing; an edited genhook.ini, genhook.env or mapping file is never
# overwritten. Installed to / as root (no DESTDIR), it also creates the genhook user and the
# data and log directories owned by it.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/usr/local
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --binary) binary="${2:?--binary needs a file}"; shift 2 ;;
    --binary=*) binary="${1#--binary=}"; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) echo "install.sh: --prefix must be an absolute path: $prefix" >&2; exit 2 ;;
esac
destdir="${DESTDIR:-}"
root="${destdir%/}"
# A real system install: to /, as root. Only then are users created and files chown'ed.
system=false
if [ -z "$destdir" ] && [ "$(id -u)" = 0 ]; then system=true; fi

if [ -z "$binary" ]; then
  echo "building the release binary (cargo build --release --locked)"
  (cd "$repo" && cargo build --release --locked --bin genhook)
  binary="${CARGO_TARGET_DIR:-$repo/target}/release/genhook"
fi
[ -x "$binary" ] || { echo "install.sh: not an executable: $binary" >&2; exit 1; }

say() { printf '%-10s %s\n' "$1" "$2"; }

# install_file MODE SOURCE TARGET: replaces TARGET when its content or mode differs.
install_file() {
  local mode="$1" source="$2" target="$3"
  if [ -f "$target" ] && cmp -s "$source" "$target" \
     && [ "$(stat -c '%a' "$target")" = "${mode#0}" ]; then
    say unchanged "$target"
    return
  fi
  install -D -m "$mode" "$source" "$target"
  say installed "$target"
}

# keep_file MODE SOURCE TARGET: writes TARGET only when it does not exist (the operator's file).
keep_file() {
  local mode="$1" source="$2" target="$3"
  if [ -e "$target" ]; then
    say kept "$target"
    return
  fi
  install -D -m "$mode" "$source" "$target"
  say installed "$target"
}

make_dir() {
  local mode="$1" dir="$2"
  if [ -d "$dir" ] && [ "$(stat -c '%a' "$dir")" = "${mode#0}" ]; then return; fi
  install -d -m "$mode" "$dir"
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The service's genhook.ini: the example with the paths the unit and the FHS expect (it still
# listens on 127.0.0.1:8080 behind a reverse proxy until server_host is changed).
sed -e 's#^data_dir = .*#data_dir = /var/lib/genhook#' \
    -e 's#^mappings_dir = .*#mappings_dir = /etc/genhook/mappings#' \
    -e 's#^;log_file = .*#log_file = /var/log/genhook/genhook.log#' \
    "$repo/genhook.example.ini" > "$work/genhook.ini"
cat > "$work/genhook.env" <<'ENV'
# Secrets for GenHook, read by systemd (EnvironmentFile=) before genhook.ini: one GENHOOK_<KEY>=value
# a line. This file is mode 0640 (root:genhook) and never overwritten by scripts/install.sh.
#GENHOOK_SL1_PASSWORD=
#GENHOOK_ADMIN_TOKEN=
#GENHOOK_GITHUB_SECRET=
ENV
sed -e "s#/usr/local/bin/genhook#$prefix/bin/genhook#g" \
    -e "s#/usr/local/share/doc/genhook#$prefix/share/doc/genhook#g" \
    "$repo/deploy/genhook.service" > "$work/genhook.service"
cat > "$work/sysusers.conf" <<'USERS'
# The system user GenHook runs as (systemd-sysusers; scripts/install.sh).
u genhook - "GenHook webhook receiver" /var/lib/genhook /usr/sbin/nologin
USERS

install_file 0755 "$binary" "$root$prefix/bin/genhook"
install_file 0644 "$work/genhook.service" "$root$prefix/lib/systemd/system/genhook.service"
install_file 0644 "$work/sysusers.conf" "$root$prefix/lib/sysusers.d/genhook.conf"
install_file 0644 "$repo/README.md" "$root$prefix/share/doc/genhook/README.md"
install_file 0644 "$repo/docs/RUNBOOK.md" "$root$prefix/share/doc/genhook/RUNBOOK.md"

make_dir 0750 "$root/etc/genhook"
make_dir 0750 "$root/etc/genhook/mappings"
keep_file 0640 "$work/genhook.ini" "$root/etc/genhook/genhook.ini"
keep_file 0640 "$work/genhook.env" "$root/etc/genhook/genhook.env"
for mapping in "$repo"/mappings/*.ini; do
  keep_file 0640 "$mapping" "$root/etc/genhook/mappings/$(basename "$mapping")"
done

if $system; then
  if ! id genhook >/dev/null 2>&1; then
    if command -v systemd-sysusers >/dev/null 2>&1; then
      systemd-sysusers "$prefix/lib/sysusers.d/genhook.conf"
    else
      useradd --system --home-dir /var/lib/genhook --no-create-home \
        --shell /usr/sbin/nologin --user-group genhook
    fi
    say created "user genhook"
  fi
  make_dir 0750 /var/lib/genhook
  make_dir 0750 /var/log/genhook
  chown genhook:genhook /var/lib/genhook /var/log/genhook
  # The service reads its configuration and secrets; only root writes them.
  chown -R root:genhook /etc/genhook
  echo
  echo "next: put secrets in /etc/genhook/genhook.env, then"
  echo "  genhook check --config /etc/genhook/genhook.ini"
  echo "  systemctl daemon-reload && systemctl enable --now genhook"
fi
