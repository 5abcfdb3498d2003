#!/usr/bin/env bash
# The transform benchmark, one command, one run, one machine:
#
#   bench/transform.sh [ITERATIONS]     (default 15; the AVIF row runs 5)
#
# Our core natively (in-process, release, examples/bench_native.rs in lambda/edge) against
# sharp (npm, in-process) and vipsthumbnail (Debian libvips-tools, one process per run,
# so its numbers include start-up), and our core as wasm in Node (in-process, the
# Lambda@Edge build), on corpus 02 (16 MP JPEG) and 08 (RGBA PNG). Every timing is a
# median after 2 warm-ups. Installs what is missing: libvips-tools, sharp (pinned, into
# the gitignored .peers/npm-edge), the wasm32 target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ITERATIONS="${1:-15}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
CORPUS="${IMAGECDN_CORPUS_DIR:-$ROOT/../shared/corpus}"
NPM="$ROOT/.peers/npm-edge"
SHARP_VERSION=0.35.5

if ! command -v vipsthumbnail >/dev/null 2>&1; then
  echo "installing libvips-tools"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends libvips-tools >/dev/null
fi
if [ "$(node -p "try { require('$NPM/node_modules/sharp/package.json').version } catch (e) { '' }")" != "$SHARP_VERSION" ]; then
  echo "installing sharp@$SHARP_VERSION into $NPM"
  mkdir -p "$NPM"
  npm install --prefix "$NPM" --no-save --no-audit --no-fund --no-package-lock --loglevel=error "sharp@$SHARP_VERSION"
fi

echo "building: the native core (release) and the wasm module"
cargo build -q --release -p imagecdn-edge-wasm --example bench_native
"$ROOT/lambda/edge/build.sh" >/dev/null
WASM="$CARGO_TARGET_DIR/wasm32-wasip1/release/imagecdn_edge_wasm.wasm"

f02="$(ls "$CORPUS"/02_*)"
f08="$(ls "$CORPUS"/08_*)"
NATIVE="$(mktemp)"
trap 'rm -f "$NATIVE"' EXIT
echo "timing the native core"
"$CARGO_TARGET_DIR/release/examples/bench_native" "$ITERATIONS" \
  "$f02" 'fm=jpeg&q=80&w=400' "$f02" 'fm=webp&q=80&w=400' "$f08" 'fm=webp&q=80&w=400' >"$NATIVE"
"$CARGO_TARGET_DIR/release/examples/bench_native" 5 "$f02" 'fm=avif&q=60&w=1200' >>"$NATIVE"
echo "timing sharp, vipsthumbnail and the wasm core"
NODE_PATH="$NPM/node_modules" node "$ROOT/bench/transform.js" "$NATIVE" "$WASM" "$ITERATIONS"
