#!/usr/bin/env bash
# Installs what pyseal's build, tests and demo need on a fresh Debian machine:
#   - Debian packages: patchelf, zstd, binutils, gcc (fixtures and builds);
#     qemu-user-static, binfmt-support, libc6:arm64 and musl:arm64 (running
#     aarch64 executables in the tests); musl-tools (musl CPythons for the tests);
#     wine and wine64 (running the Windows executables in the tests),
#     osslsigncode and openssl (signing them with a throwaway certificate)
#   - Rust's rust-src component (size-optimized launcher stubs) and the
#     standard library of every Linux target, when rustup can get them
#   - the npm packages, a build of pyseal, and the tools it fetches on first
#     need for other targets (zig, cargo-zigbuild, uv; pinned, hash-checked)
# Rust (cargo) and Node.js must already be there; the script says so if not.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "error: $1" >&2; [ -n "${2:-}" ] && echo "hint: $2" >&2; exit 1; }

command -v node >/dev/null || fail "Node.js is not installed" "install Node.js 20.19 or newer"
command -v cargo >/dev/null || fail "Rust (cargo) is not installed" "install it with rustup: https://rustup.rs"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_install() {
  command -v apt-get >/dev/null || fail "missing packages: $*" "install them with your package manager"
  echo "setup: installing $* with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

missing=()
command -v patchelf >/dev/null || missing+=(patchelf)
command -v zstd >/dev/null || missing+=(zstd)
command -v strip >/dev/null || missing+=(binutils)
command -v gcc >/dev/null || missing+=(gcc)
command -v musl-gcc >/dev/null || missing+=(musl-tools)
command -v file >/dev/null || missing+=(file)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static binfmt-support)
{ command -v wine >/dev/null && [ -x /usr/lib/wine/wine64 ]; } || missing+=(wine wine64)
command -v osslsigncode >/dev/null || missing+=(osslsigncode)
command -v openssl >/dev/null || missing+=(openssl)
# The aarch64 C libraries (glibc's and musl's loaders run aarch64 programs under qemu).
if command -v dpkg >/dev/null && { [ ! -e /lib/ld-linux-aarch64.so.1 ] || [ ! -e /lib/ld-musl-aarch64.so.1 ]; }; then
  dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64
  [ -e /lib/ld-linux-aarch64.so.1 ] || missing+=(libc6:arm64)
  [ -e /lib/ld-musl-aarch64.so.1 ] || missing+=(musl:arm64)
fi
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

if command -v rustup >/dev/null; then
  # The standard library's sources let stubs be built with std optimized for
  # size (see README, "The stub"); without them pyseal builds standard stubs.
  if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
    echo "setup: adding the rust-src component (for size-optimized launcher stubs)"
    rustup component add rust-src >/dev/null 2>&1 || echo "setup: rust-src is out of reach; launcher stubs will be the standard, larger build"
  fi
fi

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build >/dev/null
# zig, cargo-zigbuild and uv into pyseal's tools directory, and the Rust
# standard library for every target (pyseal does this on first need too).
node dist/cli.js toolchain --target all
