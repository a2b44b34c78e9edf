#!/usr/bin/env bash
# Installs what pyseal's build, tests and demo need on a fresh Debian machine:
# Debian packages (patchelf, zstd, binutils, gcc), Rust's rust-src component
# when rustup can get it, then the npm packages.
# Rust (cargo) and Node.js must already be there; the script says so if not.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "error: $1" >&2; [ -n "${2:-}" ] && echo "hint: $2" >&2; exit 1; }

command -v node >/dev/null || fail "Node.js is not installed" "install Node.js 20.19 or newer"
command -v cargo >/dev/null || fail "Rust (cargo) is not installed" "install it with rustup: https://rustup.rs"

missing=()
command -v patchelf >/dev/null || missing+=(patchelf)
command -v zstd >/dev/null || missing+=(zstd)
command -v strip >/dev/null || missing+=(binutils)
command -v gcc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || fail "missing tools: ${missing[*]}" "install them with your package manager"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The standard library's sources let stubs be built with std optimized for
# size (see README, "The stub"); without them pyseal builds standard stubs.
if command -v rustup >/dev/null && ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  echo "setup: adding the rust-src component (for size-optimized launcher stubs)"
  rustup component add rust-src >/dev/null 2>&1 || echo "setup: rust-src is out of reach; launcher stubs will be the standard, larger build"
fi

npm ci --no-audit --no-fund --loglevel=error
