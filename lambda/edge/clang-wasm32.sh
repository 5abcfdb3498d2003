#!/bin/sh
# The C compiler of the edge's wasm32-wasip1 build (lambda/edge/build.sh sets it as
# CC_wasm32_wasip1): clang-14, with one change for libjpeg-turbo's Huffman decoder.
#
# libjpeg-turbo keeps its Huffman bit buffer in a `size_t`, 32 bits on wasm32, except on
# x32 (x86_64 code with 32-bit pointers), where it uses a 64-bit buffer that is refilled a
# third as often. WebAssembly is the same case: native 64-bit integers, 32-bit pointers.
# The choice is `defined(__x86_64__) && defined(__ILP32__)` in jdhuff.h and jdhuff.c, and
# nothing else those two decoder files include tests `__x86_64__` (libjpeg-turbo, wasi-libc
# and clang's own headers checked), so they are compiled with it defined: about 6% off a
# 12 MP JPEG decoded at 1/8 scale, the edge's commonest request (bench/transform.sh). Both
# files that share jdhuff.h's bit-reader types must get it, or their calls to
# jpeg_fill_bit_buffer would disagree on its argument's width. The decoded coefficients do
# not change (tests/edge/decode_equality.test.js compares every scale with the native build
# and with Debian's djpeg). The decoder's other change, multi-symbol skip tables, is in
# its source for every build (lambda/vendor/README.md).
compiler="${IMAGECDN_WASM_CLANG:-clang-14}"
for arg in "$@"; do
  case "$arg" in
  */jdhuff.c | */jdphuff.c) exec "$compiler" -D__x86_64__ "$@" ;;
  esac
done
exec "$compiler" "$@"
