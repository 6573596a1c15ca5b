# dink-convex: one entry point per job. Every target installs what it lacks (scripts/ensure-tools.sh)
# and is safe to re-run.
#
#   make setup   install tools and npm dependencies (idempotent, silent when done)
#   make build   wasm engine (scripts/build-wasm.sh) + TypeScript package (npm/dist)
#   make test    everything CI runs: ESLint/Prettier, Rust fmt/clippy/tests, fuzz smoke, npm tests
#   make demo    the whole sync loop in a local sandbox (convex-test behind 127.0.0.1 HTTP, not Convex)
#   make demo-engine  the engine alone: offline writers converging on CRDT deltas
#   make bench   the benchmarks

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)

.NOTPARALLEL:

step = @printf '\n==> %s\n' "$(1)"

.PHONY: setup build build-wasm build-ts test lint rust-fmt rust-clippy rust-test fuzz-smoke npm-test demo demo-engine bench clean

setup:
	$(call step,setup: tools and dependencies)
	@scripts/ensure-tools.sh

build-wasm: setup
	$(call step,build: wasm engine)
	@scripts/build-wasm.sh

build-ts: build-wasm
	$(call step,build: npm package (tsc))
	@npm run --silent build --workspace npm

build: build-ts

rust-fmt: setup
	$(call step,test: cargo fmt --check)
	@cargo fmt --all -- --check

rust-clippy: setup
	$(call step,test: cargo clippy)
	@cargo clippy --quiet --workspace --all-targets -- -D warnings
	@cargo clippy --quiet -p dink-core --all-targets --features yrs-engine -- -D warnings

rust-test: setup
	$(call step,test: cargo test)
	@cargo test --quiet --workspace
	$(call step,test: cargo test dink-core on the yrs engine (the switch back; yrs is otherwise only the tests' oracle))
	@cargo test --quiet -p dink-core --features yrs-engine

fuzz-smoke: setup
	$(call step,test: fuzz smoke)
	@bash scripts/fuzz-smoke.sh

lint: setup
	$(call step,test: eslint and prettier --check)
	@npm run --silent lint

npm-test: build
	$(call step,test: npm workspaces)
	@npm test --workspaces --if-present

# Prerequisites run left to right, each once (.NOTPARALLEL: the machines are small and the
# Rust steps share one target dir).
test: setup lint build rust-fmt rust-clippy rust-test fuzz-smoke npm-test
	$(call step,test: all passed)

# The example app's functions in convex-test behind real HTTP on 127.0.0.1, simulated Yjs edges
# and a dinkd stand-in: a local sandbox, not Convex (see demo/run.mjs, sandbox/ and docs/running.md).
demo: build
	$(call step,demo: local sandbox (not Convex): node demo/run.mjs)
	@node demo/run.mjs

demo-engine: build
	$(call step,demo: node demo/engine-demo.mjs)
	@node demo/engine-demo.mjs

bench: build
	$(call step,bench)
	@bash scripts/bench.sh

clean:
	rm -rf npm/dist npm/src/wasm target/dink-wasm-build
