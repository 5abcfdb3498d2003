#!/usr/bin/env bash
# The edge's worst cases at a claim's maxima, one command, one run, one machine:
#
#   bench/edge_worst_case.sh [ITERATIONS]     (default 3)
#
# Every request the URL API accepts must get an image within the edge's deadline
# (lambda/edge/js/index.js: 24 s for the whole request, of which S3 reads take a few).
# This times the wasm transform (the Lambda@Edge build, in Node, one thread as on one
# Lambda vCPU) for the most expensive request of each output format:
#
# - the default claim: 50 MP sources (maxSourceMegapixels), 4096 x 4096 outputs;
# - the schema's maxima: 200 MP sources, 16384 x 16384 outputs.
#
# Sources are made here from corpus 01 (Pillow, enlarged: these are cost probes, not
# quality samples) into a temporary directory. Formats over the edge's budget come out
# as their stand-in (see lambda/edge/src/lib.rs `edge_budget`); the real variant is then
# rendered by the regional renderer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ITERATIONS="${1:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
CORPUS="${IMAGECDN_CORPUS_DIR:-$ROOT/../shared/corpus}"
PYTHON="${IMAGECDN_PEERS_DIR:-$HOME/.cache/imagecdn/peers}/venv/bin/python"
[ -x "$PYTHON" ] || { echo "bench/edge_worst_case.sh: run tests/run.sh once first (it installs Pillow into $PYTHON)" >&2; exit 1; }

"$ROOT/lambda/edge/build.sh" >/dev/null
WASM="$CARGO_TARGET_DIR/wasm32-wasip1/release/imagecdn_edge_wasm.wasm"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "making sources in $WORK" >&2
"$PYTHON" - "$CORPUS" "$WORK" <<'PY'
import glob, sys
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
corpus, work = sys.argv[1:]
src = Image.open(glob.glob(f"{corpus}/01_*")[0]).convert("RGB")
import os
for name, size, max_bytes in [("50mp", (9400, 5300), 40 << 20), ("200mp", (16000, 12500), 200 << 20)]:
    big = src.resize(size, Image.BILINEAR)
    big.save(f"{work}/{name}.jpg", quality=90)
    # The largest PNG the claim accepts: its byte limit binds before its pixel limit
    # for photographs, so shrink until it fits.
    scale = 1.0
    while True:
        png = big if scale == 1.0 else big.resize((int(size[0] * scale), int(size[1] * scale)), Image.BILINEAR)
        png.save(f"{work}/{name}.png", compress_level=6)
        if os.path.getsize(f"{work}/{name}.png") <= max_bytes:
            break
        scale -= 0.05
    print(f"{name}.png: {png.size[0]}x{png.size[1]}, {os.path.getsize(f'{work}/{name}.png')} bytes", file=sys.stderr)
PY

"$PYTHON" - "$WORK" >"$WORK/cases.json" <<'PY'
import json, sys
work = sys.argv[1]
default = {"maxSourcePixels": 50_000_000, "maxSourceBytes": 40 << 20, "maxWidth": 4096, "maxHeight": 4096, "defaultQuality": 80}
schema = {"maxSourcePixels": 200_000_000, "maxSourceBytes": 200 << 20, "maxWidth": 16384, "maxHeight": 16384, "defaultQuality": 80}
cases = []
# "fm=avif&w=..." is the largest AVIF within the edge's 3 MP budget (lambda/edge/src/lib.rs
# edge_budget) for each source's aspect ratio; larger AVIFs come out as a stand-in.
for src in ("jpg", "png"):
    for q in ("fm=jpeg&w=4096", "fm=webp&w=4096", "fm=png&w=4096", "fm=avif&w=4096", "fm=avif&w=2300"):
        cases.append({"label": f"default claim, 50 MP {src.upper()}", "file": f"{work}/50mp.{src}", "query": q, "limits": default})
    for q in ("fm=jpeg", "fm=webp", "fm=png", "fm=avif", "fm=avif&w=1950"):
        cases.append({"label": f"schema maxima, 200 MP {src.upper()}", "file": f"{work}/200mp.{src}", "query": q, "limits": schema})
print(json.dumps(cases))
PY

echo "timing ($ITERATIONS runs each after a warm-up)" >&2
node "$ROOT/bench/edge_worst_case.js" "$WASM" "$ITERATIONS" "$WORK/cases.json"
