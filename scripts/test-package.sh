#!/usr/bin/env bash
# Runs one workspace package's test binaries, built as `cargo test --workspace`
# builds them: scripts/test-package.sh PACKAGE [TEST-BINARY-ARGS...]
#
# Why not `cargo test -p PACKAGE`: cargo resolves features for the packages it
# is asked for, and the workspace turns on features the server alone does not
# (reqwest's `blocking` for the CLI, tokio's `test-util` for the software
# authenticator of the CLI's tests, …). So `cargo test -p fxe-server` after
# `cargo test --workspace` compiles the whole dependency tree a second time:
# minutes on 2 cores, and gigabytes of target/ that a CI machine may not have
# (a link once died there of a full disk). This builds with the workspace's
# resolution (nothing to do after `make test-native`) and runs the package's
# binaries the way `cargo test` does: one after the other, from the package's
# folder, stopping at the first that fails. `FXE_TEST_BINARIES` (names, space
# separated, e.g. "suite limits") runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=${1:?usage: scripts/test-package.sh PACKAGE [TEST-BINARY-ARGS...]}
shift

# Each test artifact of the package as "KIND NAME EXECUTABLE MANIFEST_DIR".
artifacts=$(cargo test --workspace --no-run --message-format=json-render-diagnostics |
  python3 -c '
import json, os, subprocess, sys
pkg = sys.argv[1]
meta = json.loads(subprocess.run(
    ["cargo", "metadata", "--no-deps", "--format-version=1"],
    check=True, capture_output=True, text=True).stdout)
manifests = {p["manifest_path"] for p in meta["packages"] if p["name"] == pkg}
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("profile", {}).get("test"):
        continue
    if not m.get("executable") or m.get("manifest_path") not in manifests:
        continue
    t = m["target"]
    print(t["kind"][0], t["name"], m["executable"], os.path.dirname(m["manifest_path"]))
' "$pkg")
if [[ -z $artifacts ]]; then
  echo "test-package: no test binaries for package $pkg" >&2
  exit 1
fi

ran=0
while read -r kind name exe dir; do
  if [[ -n ${FXE_TEST_BINARIES:-} && " $FXE_TEST_BINARIES " != *" $name "* ]]; then
    continue
  fi
  echo "     Running $pkg $kind $name ($(basename "$exe"))"
  (cd "$dir" && CARGO_MANIFEST_DIR=$dir CARGO_PKG_NAME=$pkg "$exe" "$@")
  ran=$((ran + 1))
done <<<"$artifacts"
if [[ $ran -eq 0 ]]; then
  echo "test-package: none of $pkg's test binaries is named in FXE_TEST_BINARIES=$FXE_TEST_BINARIES" >&2
  exit 1
fi
