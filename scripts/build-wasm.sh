#!/usr/bin/env bash
# Build the engine's WebAssembly module and the generated JS the npm package embeds.
#
#   cargo (wasm32) -> wasm-bindgen --target web -> wasm-opt -> base64 module
#
# Outputs (gitignored, never committed) in npm/src/wasm/:
#   dink_wasm.js / dink_wasm.d.ts     wasm-bindgen glue (initSync, __wbg_reset_state, exports)
#   wasmBytes.js / wasmBytes.d.ts     the optimised module as a base64 string constant
#
# Incremental: cargo decides whether the crate changed; when the raw cargo output, the tool
# versions, the wasm-opt level and these scripts are unchanged, the rest is skipped and only
# the size line is printed.
#
# Usage: scripts/build-wasm.sh            build (default level, see WASM_OPT_LEVEL below)
#        scripts/build-wasm.sh --measure  also print size/compile/speed for every level
# Env:   WASM_OPT_LEVEL=-O3|-O4|-Os|-Oz   override the wasm-opt level; FORCE=1 rebuild everything;
#        WASM_CARGO_PROFILE=<profile>     cargo profile (default: wasm-release if defined, else release)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# wasm-opt level, measured with `--measure` (Node 20, 2 shared cores, medians of 5 cold
# processes; ingest/change: µs per call on a 12-field row):
#
#   level  raw bytes  gzip bytes  compile ms  ingest µs  change µs
#   none     817017      281075       7.97      304       278
#   -O3      696254      260588       4.30      131       222
#   -O4      698498      262055       4.77      113       205
#   -Os      694792      261012       4.16      125       212
#   -Oz      692301      260779       4.29      182       228
#
# All four are within 1% of each other in size and compile time, because the Rust side is
# already optimised and LTO'd; what wasm-opt buys is ~15% size and ~2x speed over the raw
# wasm-bindgen output. -O3 is the default: as small as -Os/-Oz to within 0.6%, and it never
# lost on speed in these runs (-Oz was markedly slower on ingest). -O4 is not worth its larger
# output. The bigger lever is the Rust opt-level (a `[profile.wasm-release]` with
# opt-level = "s" measured 503 KB raw / 205 KB gzip); see WASM_CARGO_PROFILE below.
LEVEL="${WASM_OPT_LEVEL:--O3}"

# Features the Rust wasm32 target enables by default (bulk-memory, nontrapping-fptoint,
# sign-ext, mutable-globals, multivalue, reference-types); all are in every V8 that Convex,
# Node >= 20 and edge-runtime use. wasm-opt 132 also reads them from the module's
# target_features section; listing them keeps the build working if that section is stripped
# and lets the optimiser use them (e.g. memory.copy, saturating float-to-int).
FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-multivalue --enable-reference-types)

OUT="npm/src/wasm"
# Cargo profile: WASM_CARGO_PROFILE, else `wasm-release` when the workspace defines it (a
# size-tuned profile that leaves native release builds alone), else `release`.
PROFILE="${WASM_CARGO_PROFILE:-}"
if [[ -z "$PROFILE" ]]; then
  if grep -q '^\[profile\.wasm-release\]' Cargo.toml; then PROFILE=wasm-release; else PROFILE=release; fi
fi
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
WORK="$TARGET_DIR/dink-wasm-build"
RAW="$TARGET_DIR/wasm32-unknown-unknown/$PROFILE/dink_wasm.wasm"
WASM_OPT="node_modules/binaryen/bin/wasm-opt"
STAMP="$WORK/stamp"
MEASURE=0
[[ "${1:-}" == "--measure" ]] && MEASURE=1

die() { echo "build-wasm: $*" >&2; exit 1; }

[[ -x "$WASM_OPT" ]] || die "$WASM_OPT missing: run scripts/ensure-tools.sh (npm ci)"
command -v wasm-bindgen >/dev/null || die "wasm-bindgen missing: run scripts/ensure-tools.sh"
want_bindgen="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
have_bindgen="$(wasm-bindgen --version | awk '{print $2}')"
[[ "$want_bindgen" == "$have_bindgen" ]] ||
  die "wasm-bindgen-cli $have_bindgen does not match Cargo.lock ($want_bindgen): run scripts/ensure-tools.sh"

mkdir -p "$WORK" "$OUT"
# One build at a time (several make targets / helpers may call this concurrently).
exec 9>"$WORK/.lock"
flock 9

cargo build --quiet -p dink-wasm --profile "$PROFILE" --target wasm32-unknown-unknown

size_line() { # file label
  local raw gz
  raw=$(wc -c <"$1")
  gz=$(gzip -9 -c "$1" | wc -c)
  printf 'wasm %s: %d bytes raw, %d bytes gzip (%s)\n' "$(basename "$1")" "$raw" "$gz" "$2"
}

stamp="$(
  {
    sha256sum "$RAW" scripts/build-wasm.sh scripts/embed-wasm.mjs
    echo "bindgen=$have_bindgen level=$LEVEL profile=$PROFILE features=${FEATURES[*]}"
    "$WASM_OPT" --version
  } | sha256sum | cut -d' ' -f1
)"

GENERATED=("$OUT/dink_wasm.js" "$OUT/dink_wasm.d.ts" "$OUT/wasmBytes.js" "$OUT/wasmBytes.d.ts")
outputs_hash() { cat "${GENERATED[@]}" 2>/dev/null | sha256sum | cut -d' ' -f1; }

final="$WORK/dink_wasm.opt.wasm"
# The stamp records the inputs and the generated files, so a deleted or edited output rebuilds.
if [[ "${FORCE:-0}" != 1 && -f "$STAMP" && -f "$final" &&
  "$(cat "$STAMP")" == "$stamp $(outputs_hash)" ]]; then
  # Same module: keep the files, but mark them as built now (the benchmarks refuse outputs
  # older than their sources, bench/freshness.mjs).
  touch "${GENERATED[@]}"
  size_line "$final" "$PROFILE, wasm-opt $LEVEL, up to date"
else
  rm -f "$STAMP"
  rm -rf "$WORK/bindgen"
  # --target web: ESM glue with initSync({ module }) (works in Convex, edge-runtime, Node).
  # --omit-default-module-path: no `new URL("…_bg.wasm", import.meta.url)` fallback for bundlers
  #   to chase; the bytes always come from wasmBytes.js.
  # --experimental-reset-state-function: exports __wbg_reset_state(), which re-instantiates
  #   the compiled module after a trap (a Rust panic/abort poisons the instance).
  wasm-bindgen --target web --out-dir "$WORK/bindgen" --out-name dink_wasm \
    --omit-default-module-path --experimental-reset-state-function "$RAW"
  bg="$WORK/bindgen/dink_wasm_bg.wasm"
  grep -q '__wbg_reset_state' "$WORK/bindgen/dink_wasm.js" || die "glue lacks __wbg_reset_state"
  grep -q 'import\.meta' "$WORK/bindgen/dink_wasm.js" && die "glue still references import.meta"

  "$WASM_OPT" "$LEVEL" "${FEATURES[@]}" --strip-debug --strip-producers -o "$final.tmp" "$bg"
  mv "$final.tmp" "$final"

  # Replace the generated files as a set; the stamp is written last.
  tmp="$WORK/out.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  cp "$WORK/bindgen/dink_wasm.js" "$WORK/bindgen/dink_wasm.d.ts" "$tmp/"
  node scripts/embed-wasm.mjs "$final" "$tmp"
  find "$OUT" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  cp "$tmp"/* "$OUT/"
  rm -rf "$tmp"
  echo "$stamp $(outputs_hash)" >"$STAMP"
  size_line "$final" "$PROFILE, wasm-opt $LEVEL"
fi

if [[ "$MEASURE" == 1 ]]; then
  bg="$WORK/bindgen/dink_wasm_bg.wasm"
  [[ -f "$bg" ]] || die "no wasm-bindgen output to measure; run with FORCE=1 --measure"
  echo "level  raw-bytes  gzip-bytes  wasm-opt-s"
  printf '%-6s %9d  %10d  %s\n' "none" "$(wc -c <"$bg")" "$(gzip -9 -c "$bg" | wc -c)" "-"
  files=()
  for level in -O3 -O4 -Os -Oz; do
    f="$WORK/measure${level}.wasm"
    start=$(date +%s%N)
    "$WASM_OPT" "$level" "${FEATURES[@]}" --strip-debug --strip-producers -o "$f" "$bg"
    ms=$((($(date +%s%N) - start) / 1000000))
    printf '%-6s %9d  %10d  %d.%01d\n' "$level" "$(wc -c <"$f")" "$(gzip -9 -c "$f" | wc -c)" \
      $((ms / 1000)) $((ms % 1000 / 100))
    files+=("$f")
  done
  if [[ -f scripts/measure-wasm.mjs ]]; then
    node scripts/measure-wasm.mjs "$bg" "${files[@]}"
  fi
fi
