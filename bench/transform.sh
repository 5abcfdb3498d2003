#!/usr/bin/env bash
# The transform benchmark, one command, one run, one machine:
#
#   bench/transform.sh [ITERATIONS] [COLD_RUNS]   (defaults 15 and 7; the AVIF row runs 5)
#
# Our core natively (in-process, release, examples/bench_native.rs in lambda/edge) against
# sharp (npm, in-process) and vipsthumbnail (Debian libvips-tools, one process per run,
# so its numbers include start-up), and the Lambda@Edge build from the built zip
# (dist/edge-transform.zip, unpacked): its wasm engine and its whole handler on a miss,
# warm in Node and cold in fresh Node processes; on corpus 02 (16 MP JPEG) and 08 (RGBA
# PNG). Every timing is a median after 2 warm-ups; peak RSS is measured per operation in
# a process of its own. Then bench/edge_worst_case.sh: each format's most expensive
# request at a claim's maxima. Installs what is missing: libvips-tools, emscripten (its
# SSE headers, for the edge build), sharp and
# @aws-sdk/client-s3 (pinned as tests/run.sh pins them, into the gitignored
# .peers/npm-edge), the wasm32 target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ITERATIONS="${1:-15}"
COLD_RUNS="${2:-7}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
CORPUS="${IMAGECDN_CORPUS_DIR:-$ROOT/../shared/corpus}"
NPM="$ROOT/.peers/npm-edge"
PACKAGES=(@aws-sdk/client-s3@3.1175.0 sharp@0.35.5)

# Debian packages: vipsthumbnail, and Emscripten's SSE headers for the edge build
# (lambda/edge/build.sh; tests/run.sh installs the rest of what that build needs).
MISSING=()
command -v vipsthumbnail >/dev/null 2>&1 || MISSING+=(libvips-tools)
dpkg-query -W -f='${Status}' emscripten 2>/dev/null | grep -q 'install ok installed' || MISSING+=(emscripten)
if [ "${#MISSING[@]}" -gt 0 ]; then
  echo "installing ${MISSING[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null
fi
for spec in "${PACKAGES[@]}"; do
  if [ "$(node -p "try { require('$NPM/node_modules/${spec%@*}/package.json').version } catch (e) { '' }")" != "${spec##*@}" ]; then
    echo "installing ${PACKAGES[*]} into $NPM"
    mkdir -p "$NPM"
    npm install --prefix "$NPM" --no-save --no-audit --no-fund --no-package-lock --loglevel=error "${PACKAGES[@]}"
    break
  fi
done

echo "building: the native core (release) and the edge zip"
cargo build -q --release -p imagecdn-edge-wasm --example bench_native
"$ROOT/lambda/edge/build.sh" >/dev/null
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
EDGE="$WORK/edge"
python3 -m zipfile -e "$ROOT/dist/edge-transform.zip" "$EDGE"

f02="$(ls "$CORPUS"/02_*)"
f08="$(ls "$CORPUS"/08_*)"
NATIVE="$WORK/native.jsonl"
echo "timing the native core (one process per operation, for its peak RSS)"
BENCH_NATIVE="$CARGO_TARGET_DIR/release/examples/bench_native"
"$BENCH_NATIVE" "$ITERATIONS" "$f02" 'fm=jpeg&q=80&w=400' >>"$NATIVE"
"$BENCH_NATIVE" "$ITERATIONS" "$f02" 'fm=webp&q=80&w=400' >>"$NATIVE"
"$BENCH_NATIVE" 5 "$f02" 'fm=avif&q=60&w=1200' >>"$NATIVE"
"$BENCH_NATIVE" "$ITERATIONS" "$f08" 'fm=webp&q=80&w=400' >>"$NATIVE"
echo "timing sharp, vipsthumbnail and the edge build (warm, then $COLD_RUNS cold starts)"
NODE_PATH="$NPM/node_modules" node "$ROOT/bench/transform.js" "$NATIVE" "$EDGE" "$ITERATIONS" "$COLD_RUNS"
echo
echo "the edge's worst case per format (bench/edge_worst_case.sh)"
"$ROOT/bench/edge_worst_case.sh"
