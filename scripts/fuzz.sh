#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [RUNS_PER_TARGET]   (default: $FUZZ_RUNS or 1000000)
#
# Runs every cargo-fuzz target of the workspace (any <crate>/fuzz/ folder made
# with `cargo fuzz init`, or ./fuzz at the root) for RUNS_PER_TARGET
# executions each (with a safety time limit of $FUZZ_MAX_SECONDS per target,
# default 3600), with nightly when installed (else stable with
# RUSTC_BOOTSTRAP=1), and prints the executions, time and rate of each. Exits
# non-zero as soon as a target finds a crash (the input is kept in
# <crate>/fuzz/artifacts/; see docs/protocol.md, "Fuzzing"), or when a target
# stopped short of RUNS_PER_TARGET executions.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

runs=${1:-${FUZZ_RUNS:-1000000}}
max_seconds=${FUZZ_MAX_SECONDS:-3600}
case $runs in '' | *[!0-9]*) echo "fuzz: RUNS_PER_TARGET must be a number of executions, not '$runs'" >&2; exit 2 ;; esac

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
short=0
for dir in "${fuzz_dirs[@]}"; do
  crate_dir=$(dirname "$dir")
  mapfile -t targets < <(cd "$crate_dir" && cargo fuzz list)
  for target in "${targets[@]}"; do
    echo "==> fuzz ${crate_dir#./} $target for $runs executions"
    # Committed inputs (seeds, and every crash ever found) in fuzz/seeds/<target>/
    # are read along with the working corpus, which is where new inputs go.
    corpora=("fuzz/corpus/$target")
    mkdir -p "$crate_dir/fuzz/corpus/$target"
    [ -d "$crate_dir/fuzz/seeds/$target" ] && corpora+=("fuzz/seeds/$target")
    log=$(mktemp)
    start=$(date +%s)
    (cd "$crate_dir" && "${fuzz[@]}" run "$target" "${corpora[@]}" -- \
      -runs="$runs" -max_total_time="$max_seconds" -print_final_stats=1) 2>&1 | tee "$log"
    elapsed=$(( $(date +%s) - start ))
    # libFuzzer's final statistics: "stat::number_of_executed_units: N".
    done_runs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -1 | awk '{print $2}')
    done_runs=${done_runs:-0}
    rm -f "$log"
    rate=$(( done_runs / (elapsed > 0 ? elapsed : 1) ))
    line="${crate_dir#./} $target: $done_runs executions in ${elapsed}s (${rate}/s)"
    if [ "$done_runs" -lt "$runs" ]; then
      line="$line  SHORT of $runs"
      short=1
    fi
    summary+=("$line")
  done
done
printf '\nfuzz summary\n'
printf '  %s\n' "${summary[@]}"
if [ "$short" -ne 0 ]; then
  echo "fuzz: a target stopped before $runs executions (raise FUZZ_MAX_SECONDS, or make it faster)" >&2
  exit 1
fi
