#!/usr/bin/env bash
# Usage: scripts/bench-protocol.sh [criterion filter]
#
# Benchmarks fxe-protocol (seal/open 1 KiB, 1 MiB, 100 MiB; X-Wing; bundle
# verification; request signing), prints criterion's statistics and a summary,
# and writes target/bench-results/protocol.json. About a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo bench -p fxe-protocol --bench protocol -- "$@"
