#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default: $FUZZ_SECONDS or 60)
#
# Runs every cargo-fuzz target of the workspace (any <crate>/fuzz/ folder made
# with `cargo fuzz init`, or ./fuzz at the root) for a bounded time each, with
# nightly when installed (else stable with RUSTC_BOOTSTRAP=1), and prints the
# number of runs of each. Exits non-zero as soon as a target finds a crash (the
# input is kept in <crate>/fuzz/artifacts/; see docs/protocol.md, "Fuzzing").
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
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> cargo install cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# cargo-fuzz wants nightly; use it when installed, else stable with RUSTC_BOOTSTRAP=1.
if rustup run nightly rustc --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
else
  fuzz=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi

summary=()
for dir in "${fuzz_dirs[@]}"; do
  crate_dir=$(dirname "$dir")
  mapfile -t targets < <(cd "$crate_dir" && cargo fuzz list)
  for target in "${targets[@]}"; do
    echo "==> fuzz ${crate_dir#./} $target for ${seconds}s"
    # Committed inputs (seeds, and every crash ever found) in fuzz/seeds/<target>/
    # are read along with the working corpus, which is where new inputs go.
    corpora=("fuzz/corpus/$target")
    mkdir -p "$crate_dir/fuzz/corpus/$target"
    [ -d "$crate_dir/fuzz/seeds/$target" ] && corpora+=("fuzz/seeds/$target")
    log=$(mktemp)
    (cd "$crate_dir" && "${fuzz[@]}" run "$target" "${corpora[@]}" -- -max_total_time="$seconds") 2>&1 | tee "$log"
    summary+=("${crate_dir#./} $target: $(grep -E '^Done [0-9]+ runs' "$log" | tail -1)")
    rm -f "$log"
  done
done
printf '\nfuzz summary\n'
printf '  %s\n' "${summary[@]}"
