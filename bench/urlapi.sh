#!/usr/bin/env bash
# URL API measurements in one run, same machine, same requests:
#  - the cache-key report of a synthetic request log (Rust normalizer);
#  - per-request time of the Rust normalizer (release build);
#  - per-request time of the generated CloudFront Function in Node.js, after checking
#    that it returns exactly what the Rust normalizer returned for every request.
# Usage: bench/urlapi.sh [REQUESTS]   (default 20000)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
command -v node >/dev/null || { echo "bench/urlapi.sh: node is required" >&2; exit 1; }
BUNDLE="$(mktemp --suffix=.json)"
trap 'rm -f "$BUNDLE"' EXIT
cargo run -q --release -p imagecdn-urlapi --example keyreport -- "${1:-20000}" --bundle "$BUNDLE"
node tests/node/run_vectors.js "$BUNDLE" | tail -n 1
node tests/node/run_vectors.js --bench "$BUNDLE"
