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
# Env:   WASM_OPT_LEVEL=-O3|-O4|-Os|-Oz   override the level; FORCE=1 rebuild everything
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Level choice (measured with `--measure`, see the table in the comment of measure_levels):
# -O3 is the default: the module is decoded and compiled on every cold Convex isolate, but the
# size differences between the levels are a few percent, while -Os/-Oz run the per-delta code
# measurably slower. Override with WASM_OPT_LEVEL to compare.
LEVEL="${WASM_OPT_LEVEL:--O3}"

# Features the Rust wasm32 target enables by default (bulk-memory, nontrapping-fptoint,
# sign-ext, mutable-globals, multivalue, reference-types); all are in every V8 that Convex,
# Node >= 20 and edge-runtime use. wasm-opt must be told, or it rejects the module.
FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-multivalue --enable-reference-types)

OUT="npm/src/wasm"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
WORK="$TARGET_DIR/dink-wasm-build"
RAW="$TARGET_DIR/wasm32-unknown-unknown/release/dink_wasm.wasm"
WASM_OPT="node_modules/binaryen/bin/wasm-opt"
STAMP="$OUT/.build-stamp"
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

cargo build --quiet -p dink-wasm --release --target wasm32-unknown-unknown

size_line() { # file label
  local raw gz
  raw=$(wc -c <"$1")
  gz=$(gzip -9 -c "$1" | wc -c)
  printf 'wasm %s: %d bytes raw, %d bytes gzip (%s)\n' "$(basename "$1")" "$raw" "$gz" "$2"
}

stamp="$(
  {
    sha256sum "$RAW" scripts/build-wasm.sh scripts/embed-wasm.mjs
    echo "bindgen=$have_bindgen level=$LEVEL features=${FEATURES[*]}"
    "$WASM_OPT" --version
  } | sha256sum | cut -d' ' -f1
)"

final="$WORK/dink_wasm.opt.wasm"
if [[ "${FORCE:-0}" != 1 && -f "$STAMP" && "$(cat "$STAMP")" == "$stamp" && -f "$final" &&
  -f "$OUT/dink_wasm.js" && -f "$OUT/wasmBytes.js" ]]; then
  size_line "$final" "$LEVEL, up to date"
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
  find "$OUT" -mindepth 1 -maxdepth 1 ! -name '.build-stamp' -exec rm -rf {} +
  cp "$tmp"/* "$OUT/"
  rm -rf "$tmp"
  echo "$stamp" >"$STAMP"
  size_line "$final" "$LEVEL"
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
