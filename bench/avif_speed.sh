#!/usr/bin/env bash
# What each rav1e speed costs and gives, one command, one run, one machine:
#
#   bench/avif_speed.sh [QUALITY] [WIDTH]      (defaults 60 and 1200)
#
# For corpus 02, 04, 08 (alpha) and 09, the pixels the transform encodes for
# `fm=avif&w=WIDTH` are encoded at rav1e speeds 4 to 10 by our core natively
# (lambda/edge/examples/avif_speeds.rs, median of 3); each file is decoded by Pillow
# (libavif + dav1d, an independent decoder) and scored against those pixels with
# SSIMULACRA2 (the `ssimulacra2` package from PyPI; an image with alpha is composited on
# black and on white and the worse score kept, as libjxl's tool does). Prints per speed:
# median time, total bytes, mean score, and each against speed 8 (the renderer's).
# Wasm runs the same encoder about 1.4x slower at every speed (bench/transform.sh).
# Installs ssimulacra2 (and numpy, scipy) into the peers venv that tests/run.sh made.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
QUALITY="${1:-60}"
WIDTH="${2:-1200}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
CORPUS="${IMAGECDN_CORPUS_DIR:-$ROOT/../shared/corpus}"
PYTHON="${IMAGECDN_PEERS_DIR:-$HOME/.cache/imagecdn/peers}/venv/bin/python"
[ -x "$PYTHON" ] || { echo "bench/avif_speed.sh: run tests/run.sh once first (it makes the venv $PYTHON)" >&2; exit 1; }
"$PYTHON" -c 'import ssimulacra2' 2>/dev/null || "$PYTHON" -m pip install -q ssimulacra2==0.3.0

cargo build -q --release -p imagecdn-edge-wasm --example avif_speeds
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "encoding (q$QUALITY, ${WIDTH} px, speeds 4-10)" >&2
"$CARGO_TARGET_DIR/release/examples/avif_speeds" "$WORK" "$QUALITY" "$WIDTH" 3 \
  "$CORPUS"/02_* "$CORPUS"/04_* "$CORPUS"/08_* "$CORPUS"/09_* >"$WORK/runs.jsonl"
echo "scoring with SSIMULACRA2" >&2
"$PYTHON" - "$WORK/runs.jsonl" "$QUALITY" "$WIDTH" <<'PY'
import json, statistics, sys
from collections import defaultdict
from PIL import Image
from ssimulacra2 import compute_ssimulacra2

runs_file, quality, width = sys.argv[1:]
runs = [json.loads(line) for line in open(runs_file)]

def flat(path, background):
    img = Image.open(path)
    img.load()
    if img.mode in ("RGBA", "LA"):
        canvas = Image.new("RGBA", img.size, background + (255,))
        canvas.alpha_composite(img.convert("RGBA"))
        img = canvas
    out = f"{path}.{background[0]}.png"
    img.convert("RGB").save(out)
    return out

def score(reference, distorted):
    backgrounds = [(0, 0, 0), (255, 255, 255)] if Image.open(reference).mode in ("RGBA", "LA") else [(0, 0, 0)]
    return min(compute_ssimulacra2(flat(reference, bg), flat(distorted, bg)) for bg in backgrounds)

by_speed = defaultdict(list)
for r in runs:
    r["score"] = score(r["reference"], r["avif"])
    by_speed[r["speed"]].append(r)
base = by_speed[8]
base_bytes = sum(r["bytes"] for r in base)
base_ms = statistics.median(r["median_ms"] for r in base)
base_score = statistics.mean(r["score"] for r in base)
sources = len(base)
print(f"\nAVIF q{quality}, {width} px wide, {sources} sources; native, median of 3; SSIMULACRA2 (higher is better, 90 visually lossless, 70 high quality, 50 medium)\n")
print("| rav1e speed | median ms | vs speed 8 | total bytes | vs speed 8 | mean SSIMULACRA2 | vs speed 8 | worst source vs speed 8 |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for speed in sorted(by_speed):
    rs = by_speed[speed]
    ms = statistics.median(r["median_ms"] for r in rs)
    total = sum(r["bytes"] for r in rs)
    mean = statistics.mean(r["score"] for r in rs)
    worst = min(r["score"] - b["score"] for r, b in zip(rs, base))
    print(f"| {speed} | {ms:.0f} | {ms / base_ms:.2f}x | {total} | {100 * (total / base_bytes - 1):+.1f}% | {mean:.2f} | {mean - base_score:+.2f} | {worst:+.2f} |")
PY
