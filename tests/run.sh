#!/usr/bin/env bash
# The single test command of ImageCDN (CI runs it through .ci/run).
#
#   tests/run.sh            from any directory
#
# Stages: test peers (idempotent installs), cargo fmt --check, cargo test
# --workspace, cargo build -p function-imagecdn (debug), then the end-to-end
# pytest suite in tests/e2e against that binary over gRPC, then the Lambda@Edge
# package (lambda/edge/build.sh) and its Node tests in tests/edge against moto, the
# system tests in tests/system through the local CDN (imagecdn-dev serving the complete
# example with that package), the Backstage template's form in Chromium (tests/portal),
# then the release artifacts: package/build.sh (static musl release builds, the .xpkg
# packages, the Lambda zips) read back by skopeo and umoci in tests/e2e/test_package.py.
#
# Environment:
#   CARGO_TARGET_DIR     cargo's target dir (default ~/.cache/imagecdn/target,
#                        outside the clone so fresh clones reuse the build)
#   IMAGECDN_PEERS_DIR   where test peers live (default ~/.cache/imagecdn/peers)
#   PYTHON               interpreter for the venv (default python3, >= 3.11)
#   PYTEST_ADDOPTS       extra pytest options (pytest reads it itself)
#   IMAGECDN_PACKAGE     0 skips the package stage (13-25 minutes cold on 2 cores, mostly
#                        the static release builds); default 1 runs it
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/imagecdn/target}"
PEERS_DIR="${IMAGECDN_PEERS_DIR:-$HOME/.cache/imagecdn/peers}"
VENV="$PEERS_DIR/venv"
REQUIREMENTS="$ROOT/tests/requirements.txt"
# npm packages go into a directory the project's .gitignore already ignores.
NPM_PREFIX="$ROOT/.peers/npm"
PYTHON="${PYTHON:-python3}"

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

STAGE=0
STAGES=11
STARTED=$SECONDS
heading() {
  STAGE=$((STAGE + 1))
  printf '\n==> [%d/%d] %s  (t=%ds)\n' "$STAGE" "$STAGES" "$*" "$((SECONDS - STARTED))"
}
die() {
  printf 'tests/run.sh: FAILED: %s\n' "$*" >&2
  exit 1
}
trap 'rc=$?; if [ "$rc" -ne 0 ]; then printf "\ntests/run.sh: FAILED in stage %d (exit %d) after %ds\n" "$STAGE" "$rc" "$((SECONDS - STARTED))" >&2; fi' EXIT

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root to run: $*"
  fi
}

# ensure_debian_packages PKG...: installs the Debian packages that are not
# installed yet; runs `apt-get update` at most once per run.
APT_UPDATED=0
ensure_debian_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing Debian packages ${missing[*]} and no apt-get"
  echo "installing Debian packages: ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -q || die "apt-get update failed"
    APT_UPDATED=1
  fi
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed"
}

# ensure_npm_packages NAME@VERSION...: installs npm packages (exact versions)
# into $NPM_PREFIX/node_modules unless that version is already there. Their
# binaries end up in $NPM_PREFIX/node_modules/.bin.
ensure_npm_packages() {
  local missing=() spec name version have
  for spec in "$@"; do
    name="${spec%@*}"
    version="${spec##*@}"
    [ -n "$name" ] && [ "$name" != "$spec" ] || die "npm package must be NAME@VERSION: $spec"
    have="$(node -p "try { require('$NPM_PREFIX/node_modules/$name/package.json').version } catch (e) { '' }" 2>/dev/null || true)"
    [ "$have" = "$version" ] || missing+=("$spec")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v npm >/dev/null 2>&1 || die "npm is needed to install ${missing[*]}"
  echo "installing npm packages into $NPM_PREFIX: ${missing[*]}"
  mkdir -p "$NPM_PREFIX"
  npm install --prefix "$NPM_PREFIX" --no-save --no-audit --no-fund --no-package-lock \
    --loglevel=error "${missing[@]}" || die "npm install ${missing[*]} failed"
}

# ensure_python_venv: the venv at $VENV with tests/requirements.txt; pip runs
# only when the stamp does not hold the sha256 of requirements.txt.
ensure_python_venv() {
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (need Python >= 3.11)"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$PYTHON is $("$PYTHON" -V 2>&1); need Python >= 3.11"
  # Debian's python3 has no ensurepip (so no venv) without python3-venv.
  if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    ensure_debian_packages python3-venv
  fi

  local want stamp="$VENV/.requirements.sha256"
  want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 &&
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "python venv up to date: $VENV"
    return 0
  fi
  if ! { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; }; then
    echo "creating python venv: $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || die "cannot create the venv $VENV"
  fi
  rm -f "$stamp"
  echo "installing $REQUIREMENTS into $VENV"
  "$VENV/bin/python" -m pip install -q -r "$REQUIREMENTS" || die "pip install -r $REQUIREMENTS failed"
  echo "$want" >"$stamp"
}

heading "test peers"
echo "repo:             $ROOT"
echo "CARGO_TARGET_DIR: $CARGO_TARGET_DIR"
echo "peers:            $PEERS_DIR"
mkdir -p "$PEERS_DIR" "$CARGO_TARGET_DIR"
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
# aws-lc-sys (TLS in the function SDK) builds C code.
if ! command -v cc >/dev/null 2>&1; then
  ensure_debian_packages gcc libc6-dev
fi
# rav1e (AVIF encoding) and libjpeg-turbo (JPEG decoding) assemble their x86 kernels
# with nasm; the Lambda@Edge wasm32-wasip1 build compiles libwebp and libjpeg-turbo with
# clang against wasi-libc, libwebp's SSE2 kernels through Emscripten's SSE-on-wasm-SIMD
# headers (lambda/edge/build.sh; only the headers of the emscripten package are used).
ensure_debian_packages nasm clang-14 llvm-14 wasi-libc emscripten
# Hostile and CMYK JPEGs for the transform tests are made with other people's tools:
# ImageMagick (an Adobe YCCK JPEG) and libjpeg-turbo's jpegtran (scripted scans).
ensure_debian_packages imagemagick libjpeg-turbo-progs
if ! cargo fmt --version >/dev/null 2>&1; then
  command -v rustup >/dev/null 2>&1 || die "cargo fmt missing and no rustup to add rustfmt"
  rustup component add rustfmt
fi
# One installer at a time: concurrent runs share $PEERS_DIR.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$PEERS_DIR/.lock"
  flock 9
  ensure_python_venv
  flock -u 9
else
  ensure_python_venv
fi

# Node.js runs the generated CloudFront Function (vectors) and asl-validator.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  ensure_debian_packages nodejs npm
fi
ensure_npm_packages asl-validator@4.0.0
# The Lambda@Edge tests: the SDK the nodejs22.x runtime provides, and sharp as an
# independent decoder. A prefix of their own, so the two installs never prune each other.
EDGE_NPM="$ROOT/.peers/npm-edge"
NPM_PREFIX="$EDGE_NPM" ensure_npm_packages @aws-sdk/client-s3@3.1175.0 sharp@0.35.5
export IMAGECDN_NPM_BIN="$NPM_PREFIX/node_modules/.bin"
# The local CDN's page is tested in Debian's Chromium, driven by playwright-core (no
# browser download: it launches /usr/bin/chromium). A prefix of its own, as above.
ensure_debian_packages chromium
BROWSER_NPM="$ROOT/.peers/npm-browser"
NPM_PREFIX="$BROWSER_NPM" ensure_npm_packages playwright-core@1.65.1
# The Backstage template's form, as the scaffolder renders it (react-jsonschema-form 5
# with its ajv8 validator, React 18), bundled by esbuild, the skeleton rendered by
# nunjucks; driven in the same Chromium.
PORTAL_NPM="$ROOT/.peers/npm-portal"
NPM_PREFIX="$PORTAL_NPM" ensure_npm_packages @rjsf/core@5.24.13 @rjsf/utils@5.24.13 \
  @rjsf/validator-ajv8@5.24.13 react@18.3.1 react-dom@18.3.1 esbuild@0.28.2 nunjucks@3.2.4 \
  playwright-core@1.65.1

heading "cargo fmt --all --check"
cargo fmt --all --check -- --color=never

heading "cargo test --workspace"
# Cargo judges our crates fresh by file times and workspace-relative paths, but the
# checkout's absolute path is compiled into them (env!("CARGO_MANIFEST_DIR"): the corpus,
# the CRDs and the fixtures beside the clone). A target dir last built from another
# clone would run that clone's paths, so our own crates (not their dependencies) are
# rebuilt when the checkout moved.
CHECKOUT_STAMP="$CARGO_TARGET_DIR/.imagecdn-checkout"
if [ -f "$CHECKOUT_STAMP" ] && [ "$(cat "$CHECKOUT_STAMP")" != "$ROOT" ]; then
  echo "$CARGO_TARGET_DIR was last built from $(cat "$CHECKOUT_STAMP"): rebuilding this workspace's crates"
  members="$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(" ".join("-p " + p["name"] for p in json.load(sys.stdin)["packages"]))')"
  # shellcheck disable=SC2086 # one word per package flag
  cargo clean -q $members
fi
echo "$ROOT" >"$CHECKOUT_STAMP"
cargo test --workspace

heading "cargo build --workspace --bins"
cargo build --workspace --bins
FUNCTION_BIN="$CARGO_TARGET_DIR/debug/function-imagecdn"
RENDERER_BIN="$CARGO_TARGET_DIR/debug/bootstrap"
for bin in "$FUNCTION_BIN" "$RENDERER_BIN"; do
  [ -x "$bin" ] || die "no binary at $bin after the build"
done

heading "pytest tests/e2e (gRPC against $FUNCTION_BIN)"
set +e
IMAGECDN_FUNCTION_BIN="$FUNCTION_BIN" IMAGECDN_RENDERER_BIN="$RENDERER_BIN" PYTHONDONTWRITEBYTECODE=1 \
  "$VENV/bin/python" -m pytest "$ROOT/tests/e2e" \
  --rootdir "$ROOT/tests/e2e" -p no:cacheprovider --timeout 180 -ra
rc=$?
set -e
case "$rc" in
0) ;;
5) die "pytest collected no tests in tests/e2e" ;;
*) die "pytest exited $rc" ;;
esac

heading "lambda/edge/build.sh (Lambda@Edge package)"
"$ROOT/lambda/edge/build.sh"

heading "node --test tests/edge (the edge handler against moto)"
IMAGECDN_MOTO_SERVER="$VENV/bin/moto_server" IMAGECDN_EDGE_NPM="$EDGE_NPM/node_modules" \
  node --test "$ROOT"/tests/edge/*.test.js || die "node --test tests/edge failed"

# run_pytest DIR TIMEOUT [VAR=VALUE ...]: the pytest suite in DIR with its environment;
# screenshots and other artifacts go to IMAGECDN_ARTIFACTS.
run_pytest() {
  local dir="$1" timeout="$2" rc
  shift 2
  set +e
  env "$@" IMAGECDN_ARTIFACTS="${IMAGECDN_ARTIFACTS:-$ROOT/target/test-artifacts}" \
    PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" -m pytest "$ROOT/$dir" \
    --rootdir "$ROOT/$dir" -p no:cacheprovider --timeout "$timeout" -ra
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || die "pytest $dir exited $rc"
}

heading "pytest tests/system (the seed's promises through imagecdn-dev)"
DEV_BIN="$CARGO_TARGET_DIR/debug/imagecdn-dev"
[ -x "$DEV_BIN" ] || die "no binary at $DEV_BIN after the build"
run_pytest tests/system 600 IMAGECDN_DEV_BIN="$DEV_BIN" IMAGECDN_MOTO_SERVER="$VENV/bin/moto_server" \
  IMAGECDN_EDGE_NPM="$EDGE_NPM/node_modules" IMAGECDN_BROWSER_NPM="$BROWSER_NPM/node_modules"

heading "pytest tests/portal (the Backstage template filled in Chromium)"
run_pytest tests/portal 900 IMAGECDN_PORTAL_NPM="$PORTAL_NPM/node_modules" IMAGECDN_FUNCTION_BIN="$FUNCTION_BIN"

heading "packages (package/build.sh; pytest tests/e2e/test_package.py)"
if [ "${IMAGECDN_PACKAGE:-1}" = 1 ]; then
  # musl-gcc for aws-lc-sys in the static builds; skopeo and umoci read the packages;
  # qemu-user runs the arm64 renderer.
  ensure_debian_packages musl-tools skopeo umoci qemu-user
  # The previous stage built dist/edge-transform.zip.
  IMAGECDN_SKIP_EDGE=1 "$ROOT/package/build.sh"
  set +e
  IMAGECDN_DIST="$ROOT/dist" IMAGECDN_PACKAGE_BIN="$CARGO_TARGET_DIR/debug/imagecdn-package" \
    IMAGECDN_FUNCTION_BIN="$FUNCTION_BIN" PYTHONDONTWRITEBYTECODE=1 \
    "$VENV/bin/python" -m pytest "$ROOT/tests/e2e/test_package.py" \
    --rootdir "$ROOT/tests/e2e" -p no:cacheprovider --timeout 300 -ra
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || die "pytest tests/e2e/test_package.py exited $rc"
  # The shipped renderers, each zip's own bootstrap, through the renderer's system tests
  # (the arm64 one under qemu-user: correctness, not speed).
  SHIPPED="$(mktemp -d)"
  for zip in renderer.zip renderer-x86_64.zip; do
    mkdir -p "$SHIPPED/${zip%.zip}"
    "$VENV/bin/python" -m zipfile -e "$ROOT/dist/$zip" "$SHIPPED/${zip%.zip}"
    chmod +x "$SHIPPED/${zip%.zip}/bootstrap"
  done
  printf '#!/bin/sh\nexec qemu-aarch64 %s/renderer/bootstrap "$@"\n' "$SHIPPED" >"$SHIPPED/arm64"
  chmod +x "$SHIPPED/arm64"
  for bin in "$SHIPPED/arm64" "$SHIPPED/renderer-x86_64/bootstrap"; do
    echo "test_renderer.py with $bin"
    set +e
    IMAGECDN_RENDERER_BIN="$bin" IMAGECDN_FUNCTION_BIN="$FUNCTION_BIN" PYTHONDONTWRITEBYTECODE=1 \
      "$VENV/bin/python" -m pytest "$ROOT/tests/e2e/test_renderer.py" \
      --rootdir "$ROOT/tests/e2e" -p no:cacheprovider --timeout 300 -q
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || die "pytest tests/e2e/test_renderer.py with $bin exited $rc"
  done
  rm -rf "$SHIPPED"
else
  echo "skipped (IMAGECDN_PACKAGE=0)"
fi

heading "done"
echo "all stages passed in $((SECONDS - STARTED))s"
