#!/usr/bin/env bash
# Builds ImageCDN's release artifacts into dist/, without Docker, reproducibly:
#
#   dist/function-imagecdn-runtime.tar   the function's runtime image (static musl binary,
#                                        scratch-style, user 65532, port 9443)
#   dist/function-imagecdn.xpkg          Function package: runtime image + package.yaml
#   dist/configuration-imagecdn.xpkg     Configuration package: package.yaml + examples
#   dist/oci/<name>/                     the same three images as OCI image layouts
#   dist/renderer.zip                    the regional renderer for arm64 (bootstrap,
#                                        provided.al2023), the claim's default architecture
#   dist/renderer-x86_64.zip             the same renderer for x86_64
#   dist/edge-transform.zip              the Lambda@Edge transform (lambda/edge/build.sh)
#   dist/artifacts.json, dist/SHA256SUMS sizes and digests
#
#   package/build.sh                     from any directory
#
# The .xpkg and .tar files are go-containerregistry tarballs (what `crossplane xpkg
# build` writes): `crossplane xpkg push -f dist/function-imagecdn.xpkg REF` and
# `skopeo copy docker-archive:dist/... docker://REF` both read them. See package/README.md.
#
# Environment:
#   CARGO_TARGET_DIR     cargo's target dir (default ~/.cache/imagecdn/target)
#   IMAGECDN_VERSION     package version (default: v + function/Cargo.toml's version)
#   SOURCE_DATE_EPOCH    mtimes and `created` in the images (default 0)
#   IMAGECDN_REVISION    optional org.opencontainers.image.revision label
#   IMAGECDN_SKIP_EDGE=1 do not run lambda/edge/build.sh (keep dist/edge-transform.zip)
#   IMAGECDN_TOOLS_DIR   where the arm64 cross tools go (default ~/.cache/imagecdn/tools)
#
# Needs: rustup's x86_64- and aarch64-unknown-linux-musl targets (added here when missing),
# musl-gcc (Debian: musl-tools), because aws-lc-sys (TLS in the function SDK and the AWS SDK)
# and libjpeg-turbo compile C for the target, and nasm; for the arm64 renderer, Zig as the
# cross C compiler and linker through cargo-zigbuild (both installed here when missing:
# ziglang and cargo-zigbuild from PyPI into a venv); for the edge zip, what
# lambda/edge/build.sh needs (clang-14, llvm-14, wasi-libc, emscripten).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
TARGET=x86_64-unknown-linux-musl
ARM_TARGET=aarch64-unknown-linux-musl
TOOLS_DIR="${IMAGECDN_TOOLS_DIR:-$HOME/.cache/imagecdn/tools}"
ZIGLANG_VERSION=0.17.1
ZIGBUILD_VERSION=0.24.1
STARTED=$SECONDS

die() {
  printf 'package/build.sh: %s\n' "$*" >&2
  exit 1
}

command -v musl-gcc >/dev/null 2>&1 ||
  die "musl-gcc not found: install Debian's musl-tools (apt-get install musl-tools)"
if command -v rustup >/dev/null 2>&1; then
  for target in "$TARGET" "$ARM_TARGET"; do
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
  done
fi
# Zig (a C cross compiler and linker for aarch64 musl, with its own libc headers) and
# cargo-zigbuild (which points cc, the linker and the C crates' build scripts at it), both
# from PyPI into one venv: cargo-zigbuild's author publishes its release binary as a wheel,
# which saves compiling it from crates.io (about two minutes of a cold run).
ZIGBUILD="$TOOLS_DIR/venv/bin/cargo-zigbuild"
if [ "$("$TOOLS_DIR/venv/bin/python" -m ziglang version 2>/dev/null)" != "$ZIGLANG_VERSION" ] ||
  [ "$("$ZIGBUILD" --version 2>/dev/null)" != "cargo-zigbuild $ZIGBUILD_VERSION" ]; then
  echo "==> installing ziglang $ZIGLANG_VERSION and cargo-zigbuild $ZIGBUILD_VERSION into $TOOLS_DIR/venv"
  python3 -m venv "$TOOLS_DIR/venv"
  "$TOOLS_DIR/venv/bin/python" -m pip install -q --only-binary :all: \
    "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION"
fi

VERSION="${IMAGECDN_VERSION:-v$(sed -n 's/^version = "\(.*\)"$/\1/p' function/Cargo.toml | head -1)}"
[ "$VERSION" != "v" ] || die "cannot read the version from function/Cargo.toml"

# Static binaries for the target. Target-scoped flags only (build scripts and proc
# macros keep the host cache): paths of the clone, the cargo home and the target dir are
# remapped so the binaries do not depend on where they were built.
export CC_x86_64_unknown_linux_musl=musl-gcc
export CFLAGS_x86_64_unknown_linux_musl="-ffile-prefix-map=$ROOT=/imagecdn -ffile-prefix-map=$CARGO_HOME_DIR=/cargo -ffile-prefix-map=$CARGO_TARGET_DIR=/target"
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="--remap-path-prefix=$ROOT=/imagecdn --remap-path-prefix=$CARGO_HOME_DIR=/cargo --remap-path-prefix=$CARGO_TARGET_DIR=/target"
# Both x86_64 binaries in one cargo invocation: the dependencies they share (tokio,
# rustls, hyper, h2, serde; their feature sets differ by a module or two, e.g. tokio's
# `fs` and `signal`) are compiled once, with the union of features, and the function's
# final link overlaps the renderer's compile. Built separately, these were compiled
# twice: about two minutes of a cold run.
echo "==> cargo build --release --target $TARGET -p function-imagecdn -p imagecdn-renderer"
cargo build --release --locked --target "$TARGET" -p function-imagecdn -p imagecdn-renderer
FUNCTION_BIN="$CARGO_TARGET_DIR/$TARGET/release/function-imagecdn"
RENDERER_X86_64_BIN="$CARGO_TARGET_DIR/$TARGET/release/bootstrap"
echo "==> cargo zigbuild --release --target $ARM_TARGET -p imagecdn-renderer"
export CFLAGS_aarch64_unknown_linux_musl="$CFLAGS_x86_64_unknown_linux_musl"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS"
# cargo-zigbuild runs `python3 -m ziglang` when no `zig` is on PATH: the venv's python3.
PATH="$TOOLS_DIR/venv/bin:$PATH" "$ZIGBUILD" zigbuild \
  --release --locked --target "$ARM_TARGET" -p imagecdn-renderer
RENDERER_ARM64_BIN="$CARGO_TARGET_DIR/$ARM_TARGET/release/bootstrap"

if [ "${IMAGECDN_SKIP_EDGE:-0}" != 1 ]; then
  if [ -x lambda/edge/build.sh ]; then
    echo "==> lambda/edge/build.sh"
    lambda/edge/build.sh
  else
    echo "warning: lambda/edge/build.sh not found: dist/edge-transform.zip is not built" >&2
  fi
fi

echo "==> imagecdn-package build ($VERSION)"
cargo build --locked -q -p imagecdn-package
revision_args=()
[ -n "${IMAGECDN_REVISION:-}" ] && revision_args=(--revision "$IMAGECDN_REVISION")
"$CARGO_TARGET_DIR/debug/imagecdn-package" build \
  --root "$ROOT" --out "$ROOT/dist" \
  --function-bin "$FUNCTION_BIN" \
  --renderer-bin "$RENDERER_ARM64_BIN" --renderer-x86-64-bin "$RENDERER_X86_64_BIN" \
  --version "$VERSION" --arch amd64 \
  --source-date-epoch "${SOURCE_DATE_EPOCH:-0}" "${revision_args[@]}"
echo "package/build.sh: done in $((SECONDS - STARTED))s"
