#!/usr/bin/env bash
# Builds the Lambda@Edge package: dist/edge-transform.zip (index.js, engine.js,
# presign.js and edge_transform.wasm at the zip root; handler index.handler).
#
#   lambda/edge/build.sh            from any directory
#
# The zip is reproducible: the wasm build is deterministic for a given toolchain and
# checkout path, and the zip has fixed entry order, dates and modes. SIMD is enabled with
# a target-scoped RUSTFLAGS variable (not .cargo/config.toml, which applies only when
# cargo runs from that directory, and not RUSTFLAGS, which would also rebuild host crates).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
TARGET=wasm32-unknown-unknown

if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$TARGET"; then
  rustup target add "$TARGET"
fi
cargo build --release --locked -p imagecdn-edge-wasm --target "$TARGET"

WASM="$CARGO_TARGET_DIR/$TARGET/release/imagecdn_edge_wasm.wasm"
OUT="$ROOT/dist/edge-transform.zip"
mkdir -p "$ROOT/dist"
python3 - "$OUT" "$WASM" lambda/edge/js/index.js lambda/edge/js/engine.js lambda/edge/js/presign.js <<'PY'
import sys, zipfile
out, wasm, *js = sys.argv[1:]
entries = sorted([(p.rsplit("/", 1)[-1], p) for p in js] + [("edge_transform.wasm", wasm)])
with zipfile.ZipFile(out, "w") as z:
    for name, path in entries:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100644 << 16
        info.create_system = 3
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as f:
            z.writestr(info, f.read(), compresslevel=9)
PY
printf 'wasm: %s (%d bytes, %d gzipped)\n' "$WASM" "$(stat -c %s "$WASM")" "$(gzip -9c "$WASM" | wc -c)"
printf 'zip:  %s (%d bytes) sha256 %s\n' "$OUT" "$(stat -c %s "$OUT")" "$(sha256sum "$OUT" | cut -d' ' -f1)"
