#!/usr/bin/env bash
# The system benchmark: the complete example served by the local CDN (imagecdn-dev,
# release build) on this machine, measured end to end (bench/system.py):
#
#   bench/system.sh [--requests N] [--originals N]    (defaults 100000 and 1000)
#
# Hits per second and latency through the whole emulated path (wrk), misses per second by
# format, the edge hit ratio of a Zipf replay with realistic junk, and the time from a
# delete to the last layer purged with the claim's own settle delay and invalidation
# window. Needs what tests/run.sh installs (the peers venv with moto and boto3, the edge
# npm peers, dist/edge-transform.zip); installs Debian's wrk when missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
VENV="${IMAGECDN_PEERS_DIR:-$HOME/.cache/imagecdn/peers}/venv"
CORPUS="${IMAGECDN_CORPUS_DIR:-$ROOT/../shared/corpus}"

[ -x "$VENV/bin/moto_server" ] || { echo "run tests/run.sh first (it installs the test peers)" >&2; exit 1; }
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
[ -f dist/edge-transform.zip ] || lambda/edge/build.sh
echo "building imagecdn-dev (release)"
cargo build -q --release -p imagecdn-dev

LOG="$(mktemp)"
OUT="$(mktemp)"
"$CARGO_TARGET_DIR/release/imagecdn-dev" serve --listen 127.0.0.1:0 \
  --secrets imagecdn-dev/example-keys --originals imagecdn-dev/sample \
  --moto-server "$VENV/bin/moto_server" --node-modules "$ROOT/.peers/npm-edge/node_modules" \
  >"$OUT" 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$LOG" "$OUT"' EXIT
BASE=""
for _ in $(seq 1 120); do
  BASE="$(sed -n 's/.*serves on \(http:[^ ]*\).*/\1/p' "$OUT" | head -1)"
  [ -n "$BASE" ] && break
  kill -0 $PID 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.5
done
[ -n "$BASE" ] || { echo "imagecdn-dev did not start" >&2; cat "$LOG" >&2; exit 1; }
echo "local CDN at $BASE ($(nproc) cores: the load generator and the CDN share them)"
"$VENV/bin/python" bench/system.py "$BASE" "$CORPUS" "$@"
