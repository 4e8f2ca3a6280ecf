#!/usr/bin/env bash
# Installs every tool the build and the tests need, skipping what is already there.
# Idempotent: safe to run on every `make run` / `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

want_browser=0; want_postgres=0; want_rgw=0; want_haproxy=0; want_fuzz=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;   # Debian's Chromium, for end2end/
    --postgres) want_postgres=1 ;; # PostgreSQL server binaries, for scripts/with-postgres.sh
    --rgw) want_rgw=1 ;;           # Ceph's RADOS Gateway (a real S3 server), for scripts/with-rgw.sh
    --haproxy) want_haproxy=1 ;;   # HAProxy, the load balancer of the cluster test (server/tests/cluster.rs)
    --fuzz) want_fuzz=1 ;;         # cargo-fuzz, for scripts/fuzz.sh
    *) echo "install-tools: unknown option $arg" >&2; exit 2 ;;
  esac
done

for tool in cargo rustup node npm; do
  if ! have "$tool"; then
    echo "install-tools: $tool is missing; it comes with the machine (Rust via rustup, Node.js with npm)" >&2
    exit 1
  fi
done

# The wasm-bindgen CLI must match the wasm-bindgen library in Cargo.lock exactly.
wb_version() {
  awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock 2>/dev/null || true
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! have cargo-leptos || ! cargo-leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  step "cargo install cargo-leptos 0.3.10"
  # Build tools, not shipped code: no LTO and light optimisation halve the
  # install on 2 cores (speed of the tool itself does not matter here).
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install cargo-leptos@0.3.10 --locked --features no_downloads
fi

wbv=$(wb_version); wbv=${wbv:-0.2.130}
if ! have wasm-bindgen || ! have wasm-bindgen-test-runner \
  || ! wasm-bindgen --version 2>/dev/null | grep -q " $wbv\$"; then
  step "cargo install wasm-bindgen-cli $wbv"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install wasm-bindgen-cli --version "=$wbv" --force
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ]; then
  step "npm ci (binaryen for wasm-opt, playwright-core)"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    step "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  step "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if [ "$want_browser" = 1 ] && ! have chromium; then
  apt_install chromium
fi

if [ "$want_postgres" = 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi

if [ "$want_rgw" = 1 ] && ! { have radosgw && have ceph-mon && have ceph-osd && have ceph; }; then
  apt_install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common
fi
if [ "$want_haproxy" = 1 ] && ! have haproxy; then
  apt_install --no-install-recommends haproxy
fi
if [ "$want_fuzz" = 1 ] && ! have cargo-fuzz; then
  step "cargo install cargo-fuzz"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install cargo-fuzz --locked
fi
# The Python SDK's tools (maturin, pytest, mypy, …) in a venv under target/,
# pinned in python/requirements-dev.txt; reinstalled only when that file changes.
py_venv=target/py
py_reqs=python/requirements-dev.txt
py_stamp="$py_venv/.requirements"
if ! have python3 || ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
  echo "install-tools: python3 (3.9 or newer) is missing; it comes with the machine" >&2
  exit 1
fi
if [ ! -x "$py_venv/bin/python" ]; then
  step "python3 -m venv $py_venv"
  python3 -m venv "$py_venv"
fi
if ! cmp -s "$py_reqs" "$py_stamp"; then
  step "pip install -r $py_reqs"
  "$py_venv/bin/python" -m pip install -q --disable-pip-version-check -r "$py_reqs"
  cp "$py_reqs" "$py_stamp"
fi
echo "tools ready"
