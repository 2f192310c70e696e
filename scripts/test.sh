#!/usr/bin/env bash
# THE test command of libktix (CI runs it through .ci/run): installs the prerequisites, then
# checks formatting and lints, runs the Rust tests, checks the committed C header, builds and
# runs the C examples, and runs the Python tests against the package built from ./python.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
section() { printf '\n==== %s (%ds) ====\n' "$*" "$((SECONDS - start))"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

section "setup: prerequisites"
bash scripts/setup.sh

# One target directory serves cargo test, the C examples and the Python extension (all debug).
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
debug_dir="$target_dir/debug"

section "cargo fmt --check"
cargo fmt --all -- --check || fail "formatting differs: run 'cargo fmt --all'"

section "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

section "cargo test"
# ktix-python is an extension module: it is built and tested through Python below.
cargo test --workspace --exclude ktix-python

section "C header include/ktix.h is current"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cbindgen --quiet --config ffi/cbindgen.toml --crate ktix-ffi --output "$tmp/ktix.h" ffi
if ! diff -u include/ktix.h "$tmp/ktix.h"; then
    fail "include/ktix.h is stale; regenerate it with:
    cbindgen --config ffi/cbindgen.toml --crate ktix-ffi --output include/ktix.h ffi"
fi
echo "include/ktix.h matches cbindgen's output"
printf '#include "ktix.h"\nint main(void) { return ktix_version() == 0; }\n' >"$tmp/cxx.cpp"
c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -Iinclude "$tmp/cxx.cpp" || fail "ktix.h does not compile as C++"

section "C examples (examples-c/*.c)"
cargo build -p ktix-ffi
# The library's SONAME is libktix.so.0 (ffi/build.rs); programs linked to it look for that name.
ln -sf libktix.so "$debug_dir/libktix.so.0"
mkdir -p "$debug_dir/examples-c"
shopt -s nullglob
examples=(examples-c/*.c)
[ "${#examples[@]}" -gt 0 ] || fail "no C examples found in examples-c/"
for src in "${examples[@]}"; do
    name=$(basename "$src" .c)
    exe="$debug_dir/examples-c/$name"
    echo "-- $src"
    cc -std=c99 -Wall -Wextra -Werror -Iinclude "$src" -L"$debug_dir" -lktix -o "$exe" \
        || fail "C example $src does not build"
    (cd "$tmp" && LD_LIBRARY_PATH="$debug_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$exe") \
        || fail "C example $src exited with status $?"
done
echo "${#examples[@]} C example(s) passed"

section "Python package (venv at $target_dir/venv)"
venv="$target_dir/venv"
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.7,<2" "pytest>=7"
# Built in the debug profile in the shared target directory (reuses the core crate built above);
# `pip install ./python` alone builds a release wheel, which works too but takes longer.
PATH="$venv/bin:$PATH" MATURIN_PEP517_ARGS="--profile dev" \
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation --no-deps \
    --force-reinstall ./python
"$venv/bin/pytest" -p no:cacheprovider python/tests

section "all checks passed"
