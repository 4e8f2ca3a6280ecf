#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default: $FUZZ_SECONDS or 60)
#
# Runs every cargo-fuzz target of the workspace (any <crate>/fuzz/ folder made
# with `cargo fuzz init`) for a bounded time each. Only stable Rust is
# available here, so the nightly-only flags cargo-fuzz passes are allowed with
# RUSTC_BOOTSTRAP=1. Exits non-zero as soon as a target finds a crash (the
# input is kept in <crate>/fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

seconds=${1:-${FUZZ_SECONDS:-60}}

mapfile -t fuzz_dirs < <(find . -mindepth 2 -maxdepth 3 -path ./target -prune -o \
  -path '*/fuzz/Cargo.toml' -not -path './node_modules/*' -print | xargs -r -n1 dirname | sort)

if [ "${#fuzz_dirs[@]}" -eq 0 ]; then
  echo "fuzz: no fuzz targets in this workspace yet (create some with \`cargo fuzz init\` inside a crate)"
  exit 0
fi

bash scripts/install-tools.sh --fuzz >/dev/null

for dir in "${fuzz_dirs[@]}"; do
  crate_dir=$(dirname "$dir")
  mapfile -t targets < <(cd "$crate_dir" && cargo fuzz list)
  for target in "${targets[@]}"; do
    echo "==> fuzz ${crate_dir#./} $target for ${seconds}s"
    (cd "$crate_dir" && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$seconds")
  done
done
