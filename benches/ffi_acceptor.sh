#!/usr/bin/env bash
# AP-REQ verifications per second through the C ABI (benches/ffi_acceptor.c, release build of
# libktix.so), and with --rust also the Rust figure of the same work (criterion bench
# `exchanges`, group acceptor_accept), to show what the C boundary costs.
#
# Usage: bash benches/ffi_acceptor.sh [--rust] [VERIFICATIONS [ROUNDS]]
set -euo pipefail
cd "$(dirname "$0")/.."

rust=0
if [ "${1:-}" = --rust ]; then
    rust=1
    shift
fi
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
release="$target_dir/release"

cargo build -p ktix-ffi --release
cc -O2 -std=c99 -Wall -Wextra -Werror -Iinclude benches/ffi_acceptor.c -L"$release" -lktix -o "$release/ffi_acceptor"
LD_LIBRARY_PATH="$release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$release/ffi_acceptor" "$@"

if [ "$rust" = 1 ]; then
    cargo bench --bench exchanges -- acceptor_accept --warm-up-time 2 --measurement-time 10
fi
