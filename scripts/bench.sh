#!/usr/bin/env bash
# The benchmarks (not tests). Each writes bench/results/<name>.{json,md}:
#
#   1. node bench/engine-bench.mjs --dataset-only   the shared dataset (10,000 rows, seeded)
#   2. native_bench (cargo --release example)       the same operations natively -> JSON
#   3. bench/startup-bench.mjs                      per-call start-up in fresh contexts (startup)
#   4. bench/convex-bench.mjs                       the Convex side in convex-test (convex)
#   5. bench/engine-bench.mjs                       wasm vs yjs, cold start, sizes, memory, and the
#                                                   goals table, reading 2-4 (engine)
#   6. bench/gateway-bench.mjs                      edge RPC through dink-gateway (gateway)
#   7. bench/sync-bench.mjs                         the whole sync loop with 1-100 edges (sync)
#
# Env: BENCH_ROWS, BENCH_ROUNDS, BENCH_SEED, BENCH_COLD_SAMPLES, BENCH_MEMORY_INGESTS
#      (see bench/engine-bench.mjs). Needs the built package (`make build`); builds it if absent,
#      and the benchmarks refuse a build older than its sources (bench/freshness.mjs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

TMP="bench/results/tmp"
DATASET="$TMP/dataset.bin"
NATIVE="$TMP/native.json"
mkdir -p "$TMP"

if [[ ! -f npm/dist/engine/index.js ]]; then
  echo "bench: npm/dist/engine is missing, running make build"
  make --no-print-directory build
fi

echo "bench: [1/7] dataset"
node bench/engine-bench.mjs --dataset-only "$DATASET"

echo "bench: [2/7] native dink-core (cargo build --release --example native_bench)"
cargo build --quiet --release -p dink-core --example native_bench
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
"$TARGET_DIR/release/examples/native_bench" "$DATASET" >"$NATIVE"

echo "bench: [3/7] per-call start-up in fresh contexts, engine vs yjs"
node bench/startup-bench.mjs  # -> bench/results/startup.{json,md} (read by the engine bench's goals)

echo "bench: [4/7] Convex side in convex-test (local sandbox)"; node bench/convex-bench.mjs  # -> bench/results/convex.{json,md} (writes per change, read by the goals)

echo "bench: [5/7] wasm engine vs yjs, and the goals table"
node --expose-gc bench/engine-bench.mjs --dataset "$DATASET" --native "$NATIVE"

echo "bench: [6/7] edge RPC through dink-gateway vs direct NATS, auth-callout connects"; node bench/gateway-bench.mjs  # -> bench/results/gateway.{json,md}
echo "bench: [7/7] the whole sync loop, edge <-> Convex, with 1, 10 and 100 edges"; node bench/sync-bench.mjs  # -> bench/results/sync.{json,md}
echo "bench: results in bench/results/{engine,convex,gateway,sync}.{md,json}"
