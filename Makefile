# fxe — build, run and test. GNU make.
#
#   make run    install tools, build the relay and its web UI, serve on http://127.0.0.1:3000
#   make test   install tools, then every test: style, native, Python SDK, API fuzzing, wasm, browser, PostgreSQL with S3 (a real Ceph RADOS Gateway)
#   make build  the release build only (cargo leptos build --release)
#   make bench  benchmarks
#   make fuzz   every cargo-fuzz target for FUZZ_RUNS executions each (default 1 M)
#   make tools  install what the above need (idempotent)
#
# Each stage prints its wall time as "[time] NAME: 123s".

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# cargo-installed tools (cargo-leptos, wasm-bindgen) and npm ones (wasm-opt).
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)

# CI builds once from a clean clone: no incremental caches (gigabytes of
# target/ that nothing reads again).
ifneq ($(CI),)
export CARGO_INCREMENTAL := 0
endif

TIMED := scripts/timed.sh
# The relay and the client as `cargo test --workspace` builds them (its bins,
# next to its test binaries): every stage after test-native reuses that build.
# `cargo build -p fxe-server` would resolve features for the server alone
# (the workspace adds reqwest/blocking, tokio/test-util, …) and compile the
# whole dependency tree again: minutes, and gigabytes a CI disk may not have.
# scripts/test-package.sh runs one package's tests on the same build.
WORKSPACE_BINS := cargo test --workspace --no-run
SERVER := target/release/fxe-server
BIND ?= 127.0.0.1:3000
DATA_DIR ?= ./data
FUZZ_RUNS ?= 1000000
OPERATOR_EMAIL ?= operator@example.org

.PHONY: help tools build run test test-stages test-style test-native test-python test-api python-dev test-wasm test-e2e test-e2e-stress test-postgres test-s3 test-cluster bench bench-scaleout bench-python fuzz clean-data

help:
	@sed -n '3,10p' Makefile | sed 's/^# \{0,1\}//'

tools:
	@$(TIMED) tools bash scripts/install-tools.sh --browser --postgres

build: tools
	@$(TIMED) build cargo leptos build --release

run: build
	@mkdir -p $(DATA_DIR)
	@# The relay starts first: it creates its transparency log key and records the
	@# log policy members pin. Once it answers, the first invite (with the policy's
	@# fingerprint) and the operator's setup link are printed; Ctrl-C stops it.
	@echo "fxe: serving on http://$(BIND) with data in $(DATA_DIR) (Ctrl-C stops)"
	@( for i in $$(seq 1 600); do \
	     kill -0 $$$$ 2>/dev/null || exit 0; \
	     curl -sf -o /dev/null http://$(subst 0.0.0.0,127.0.0.1,$(BIND))/healthz && break; \
	     sleep 0.1; \
	   done; \
	   echo "# ---- FIRST INVITE: a single-use invite for this relay ------------------"; \
	   $(SERVER) invite create --data-dir $(DATA_DIR) --expires 7d --note "make run" \
	     --public-url http://$(subst 127.0.0.1,localhost,$(subst 0.0.0.0,localhost,$(BIND))); \
	   echo "# ---- OPERATOR: a passkey setup link for the relay's operator (/operator) --"; \
	   $(SERVER) operator add --data-dir $(DATA_DIR) --email $(OPERATOR_EMAIL) \
	     --public-url http://$(subst 127.0.0.1,localhost,$(subst 0.0.0.0,localhost,$(BIND))); \
	   echo "# --------------------------------------------------------------------------" ) & \
	exec $(SERVER) serve --bind $(BIND) --data-dir $(DATA_DIR)

test:
	@$(TIMED) test $(MAKE) --no-print-directory test-stages

test-stages: tools
	@$(TIMED) test-style $(MAKE) --no-print-directory test-style
	@$(TIMED) test-native $(MAKE) --no-print-directory test-native
	@$(TIMED) test-python $(MAKE) --no-print-directory test-python
	@$(TIMED) test-api $(MAKE) --no-print-directory test-api
	@$(TIMED) test-wasm $(MAKE) --no-print-directory test-wasm
	@$(TIMED) build-debug cargo leptos build --frontend-only
	@$(TIMED) test-e2e env FXE_SERVER_BIN=target/debug/fxe-server $(MAKE) --no-print-directory test-e2e
	@$(TIMED) test-s3 $(MAKE) --no-print-directory test-s3

# The house style, first, so CI refuses a change that breaks it: rustfmt, and
# clippy with every warning an error (workspace lints in Cargo.toml) for the
# native crates (the server turns on app/ssr) and for the browser bundle.
test-style:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app -p frontend --features hydrate --target wasm32-unknown-unknown -- -D warnings

# The native crates: protocol, server (on SQLite) and the CLI.
test-native:
	cargo test --workspace

# The Python SDK (python/): the extension built in debug into target/py (the
# venv scripts/install-tools.sh makes), mypy --strict and stubtest, then pytest
# against the real fxe-server and fxe-client binaries. Fails if fewer tests
# than expected are collected (pytest alone exits 5 on none).
PY := $(CURDIR)/target/py/bin
PYTEST_MIN ?= 25
python-dev:
	$(WORKSPACE_BINS)
	cd python && VIRTUAL_ENV=$(CURDIR)/target/py $(PY)/maturin develop --profile dev

test-python: python-dev
	cd python && $(PY)/mypy --strict src/fxe tests
	cd python && $(PY)/python -m mypy.stubtest fxe._native
	@n=$$(cd python && $(PY)/pytest --collect-only -q -p no:cacheprovider tests | grep -c '::' || true); \
	  if [ "$$n" -lt $(PYTEST_MIN) ]; then echo "test-python: only $$n tests collected (expected at least $(PYTEST_MIN))" >&2; exit 1; fi
	cd python && $(PY)/pytest -p no:cacheprovider tests

# schemathesis against the relay's own OpenAPI document (python/api_test/):
# a debug relay with two orgs and fixtures of every kind, fuzzed once
# unauthenticated and once with every request signed as an org by the SDK.
# Fails on any 5xx, any answer the document does not describe, or a relay
# crash. Prints its seed: FXE_API_TEST_SEED=<seed> repeats a run;
# FXE_API_TEST_MAX_EXAMPLES and FXE_API_TEST_MAX_TIME (seconds per run) size it.
test-api: python-dev
	cd python && MYPYPATH=tests $(PY)/mypy --strict api_test
	$(PY)/python python/api_test/run.py

# The protocol crate compiled to wasm32 and run under node.
test-wasm:
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
		cargo test -p fxe-protocol --target wasm32-unknown-unknown

# The web UI in Chromium. `make test` builds only the browser bundle with
# cargo-leptos (`--frontend-only`, in debug) and serves it with the relay that
# `cargo test --workspace` built (a cargo-leptos server build would resolve
# features for the server alone and compile everything again); FXE_SERVER_BIN
# picks the binary (default: the release one from `make build`). The
# browser/CLI compatibility test runs the fxe-client built with the same
# profile, next to it.
test-e2e:
	@case "$${FXE_SERVER_BIN:-target/release/fxe-server}" in */debug/*) $(WORKSPACE_BINS) ;; *) cargo build --release -p fxe-client ;; esac
	node --test --test-reporter=spec end2end/*.test.mjs

# The browser tests E2E_STRESS_RUNS times in a row while Debian's `stress`
# keeps two CPUs busy: they must pass on a loaded machine as on an idle one.
# Not part of `make test`; build first (FXE_SERVER_BIN as for test-e2e).
E2E_STRESS_RUNS ?= 3
test-e2e-stress:
	@command -v stress >/dev/null || { echo "test-e2e-stress needs stress (apt-get install stress)" >&2; exit 1; }
	@stress --cpu 2 --quiet & hog=$$!; trap 'kill $$hog' EXIT; \
	  for i in $$(seq $(E2E_STRESS_RUNS)); do \
	    $(TIMED) test-e2e-under-stress-$$i $(MAKE) --no-print-directory test-e2e; \
	  done

# The server's tests again, on a throwaway PostgreSQL.
# The server's tests on PostgreSQL with the local blob folder. Not a stage of
# `make test`: test-native runs them on SQLite + the local folder and test-s3
# on PostgreSQL + S3, so each database and each blob store runs the whole
# suite once, and the fresh-machine `make test` stays within its hour.
test-postgres:
	scripts/with-postgres.sh scripts/test-package.sh fxe-server

# The server's tests again, as N instances run them: the blobs in an S3 bucket
# on a throwaway Ceph RADOS Gateway (installed here, not by `make tools`, so
# `make run` stays as light), the database on a throwaway PostgreSQL.
# Then, on the same PostgreSQL and gateway, the cluster test
# (server/tests/cluster.rs): two relays behind HAProxy, each killed once.
test-s3:
	@bash scripts/install-tools.sh --rgw --haproxy >/dev/null
	scripts/with-postgres.sh scripts/with-rgw.sh bash -c \
	  'scripts/test-package.sh fxe-server && FXE_TEST_CLUSTER=1 FXE_TEST_BINARIES=cluster $(TIMED) test-cluster scripts/test-package.sh fxe-server --nocapture'

# The cluster test alone (it is part of test-s3).
test-cluster:
	@bash scripts/install-tools.sh --rgw --haproxy >/dev/null
	scripts/with-postgres.sh scripts/with-rgw.sh env FXE_TEST_CLUSTER=1 FXE_TEST_BINARIES=cluster $(TIMED) test-cluster \
	  scripts/test-package.sh fxe-server --nocapture

bench: tools
	@command -v rage >/dev/null || $(TIMED) install-rage cargo install --locked rage
	@$(TIMED) bench cargo bench --workspace --exclude fxe-server
	@$(TIMED) bench-webhooks cargo bench -p fxe-server --bench webhooks
	@# The relay suite runs on SQLite and, in the same run, on a throwaway PostgreSQL.
	@$(TIMED) bench-relay scripts/with-postgres.sh cargo bench -p fxe-server --bench relay --bench log_append
	@$(TIMED) bench-scaleout $(MAKE) --no-print-directory bench-scaleout
	@$(TIMED) build cargo leptos build --release
	@$(TIMED) bench-python $(MAKE) --no-print-directory bench-python
	@$(TIMED) bench-browser env FXE_SERVER_BIN=target/release/fxe-server node end2end/bench.mjs

# Fax cycles on one relay instance and on two behind HAProxy, on a throwaway
# PostgreSQL and Ceph RADOS Gateway: faxes/s and the scaling ratio
# (target/bench-results/scaleout.json; server/benches/scaleout.rs).
bench-scaleout:
	@bash scripts/install-tools.sh --rgw --haproxy >/dev/null
	scripts/with-postgres.sh scripts/with-rgw.sh cargo bench -p fxe-server --bench scaleout

# The Python SDK: seal/open 100 MiB next to pyca/cryptography AES-GCM + hashlib,
# and fax cycles per second against the release relay next to the Rust relay
# bench's figure (target/bench-results/python.json). The extension is built in
# release for it (test-python rebuilds the debug one).
bench-python:
	cargo build -p fxe-client
	@test -x $(SERVER) || cargo leptos build --release
	cd python && VIRTUAL_ENV=$(CURDIR)/target/py $(PY)/maturin develop --release
	FXE_SERVER_BIN=$(SERVER) FXE_CLIENT_BIN=target/debug/fxe-client $(PY)/python python/bench/bench.py

fuzz: tools
	@$(TIMED) fuzz scripts/fuzz.sh $(FUZZ_RUNS)

# Deletes the local relay's state (./data): its database and stored faxes.
clean-data:
	rm -rf $(DATA_DIR)
