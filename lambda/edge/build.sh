#!/usr/bin/env bash
# Builds the Lambda@Edge package: dist/edge-transform.zip (index.js, engine.js,
# presign.js and edge_transform.wasm at the zip root; handler index.handler).
#
#   lambda/edge/build.sh            from any directory
#
# The target is wasm32-wasip1 so that libwebp (C, for lossy WebP like the renderer's) and
# libjpeg-turbo (C, the renderer's JPEG decoder) compile: Debian's clang-14 with
# wasi-libc's headers (packages clang-14, wasi-libc),
# linked by rustc against Rust's own wasi-libc. clang-14 predates the `wasip1` triple
# spelling, so the C target is given as `wasm32-wasi` (clang takes the last --target).
# The handler answers the module's few WASI imports itself, with no capabilities.
#
# The zip is reproducible: the wasm build is deterministic for a given toolchain and
# checkout path, and the zip has fixed entry order, dates and modes. SIMD and the C
# toolchain are set with target-scoped variables (not .cargo/config.toml, which applies
# only when cargo runs from that directory, and not RUSTFLAGS/CC, which would also
# rebuild host crates).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
TARGET=wasm32-wasip1
export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128 --remap-path-prefix=$ROOT=/imagecdn"
# clang-14 through lambda/edge/clang-wasm32.sh (a 64-bit Huffman bit buffer for
# libjpeg-turbo's decoder, see there); IMAGECDN_WASM_CLANG picks another clang.
export IMAGECDN_WASM_CLANG="${IMAGECDN_WASM_CLANG:-clang-14}"
export CC_wasm32_wasip1="$ROOT/lambda/edge/clang-wasm32.sh"
export AR_wasm32_wasip1="${AR_wasm32_wasip1:-llvm-ar-14}"
# The C libraries get the WebAssembly features Node.js 22 (Lambda@Edge) has: SIMD (for
# clang's auto-vectorizer, and libwebp's SSE2 kernels below; libjpeg-turbo has none),
# bulk memory (memset/memcpy as single instructions), sign extension and saturating
# float-to-int conversion (the last three are already rustc's wasm32 defaults).
export CFLAGS_wasm32_wasip1="--target=wasm32-wasi -ffile-prefix-map=$ROOT=/imagecdn -msimd128 -mbulk-memory -msign-ext -mnontrapping-fptoint"
for tool in "$IMAGECDN_WASM_CLANG" "$AR_wasm32_wasip1"; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "lambda/edge/build.sh: $tool not found: apt-get install clang-14 llvm-14 wasi-libc" >&2; exit 1; }
done
# Cargo rebuilds the C when CFLAGS change, not when the wrapper does: this stamp of the
# wrapper rebuilds it when it changes.
CFLAGS_wasm32_wasip1+=" -DIMAGECDN_CC_STAMP=$(sha256sum lambda/edge/clang-wasm32.sh | cut -c1-16)"
[ -f /usr/include/wasm32-wasi/stdlib.h ] ||
  { echo "lambda/edge/build.sh: wasi-libc headers not found: apt-get install wasi-libc" >&2; exit 1; }

# libwebp's SSE2 kernels on WebAssembly SIMD. libwebp has no wasm SIMD code of its own but
# supports Emscripten builds: there its CPU check reports SSE2 from the compile flags
# (dsp/cpu.c, `EMSCRIPTEN`), and Emscripten's <emmintrin.h> implements the SSE2 intrinsics
# with wasm_simd128 operations, mostly one to one. We take only those headers from
# Debian's `emscripten` package (3.1.6, written for clang 14 like the compiler here), in
# a directory of their own so that the package's libc headers do not shadow wasi-libc's.
# Output is byte-identical to libwebp's C and to the native SSE2 build
# (tests/edge/decode_equality.test.js); JPEG -> WebP and PNG -> WebP run 15-25% faster.
# SSE4.1 (<smmintrin.h>) measured no further gain and is left off, as in the native build.
EMSCRIPTEN_COMPAT=/usr/share/emscripten/system/include/compat
[ -f "$EMSCRIPTEN_COMPAT/emmintrin.h" ] ||
  { echo "lambda/edge/build.sh: Emscripten's SSE headers not found: apt-get install emscripten" >&2; exit 1; }
SSE_HEADERS="$CARGO_TARGET_DIR/wasm32-sse-on-simd128"
mkdir -p "$SSE_HEADERS"
for header in xmmintrin.h emmintrin.h; do
  ln -sfn "$EMSCRIPTEN_COMPAT/$header" "$SSE_HEADERS/$header"
done
CFLAGS_wasm32_wasip1+=" -D__SSE__ -D__SSE2__ -DEMSCRIPTEN -I$SSE_HEADERS -ffile-prefix-map=$SSE_HEADERS=/sse"
# Emscripten 3.1.6's headers use wasm_simd128.h names that clang 14 marks deprecated.
CFLAGS_wasm32_wasip1+=" -Wno-deprecated-declarations"

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
