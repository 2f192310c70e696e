#!/usr/bin/env bash
# Builds libktix's drop-in libgssapi_krb5.so.2 (crate ktix-gss in gss/):
#
#   TARGET/PROFILE/ktix-gss/libgssapi_krb5.so.2
#
# Rust cannot put a symbol version node on a cdylib, and every program linked against MIT's
# library asks for its GSS names under the version `gssapi_krb5_2_MIT`. So the crate is built as a
# static library and linked here into the shared object with the version script gss/exports.map
# (MIT's export list; gss/tests/exports.rs checks the result against the system's library).
# The directory holds nothing else, so LD_LIBRARY_PATH=TARGET/PROFILE/ktix-gss swaps in this
# library alone.
#
# Usage: scripts/build-gss.sh [--release]     prints the path of the library
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_args=()
case "${1:-}" in
    "") ;;
    --release) profile=release; cargo_args=(--release) ;;
    *) echo "usage: $0 [--release]" >&2; exit 2 ;;
esac

target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
cargo build --quiet -p ktix-gss "${cargo_args[@]}"
archive="$target_dir/$profile/libktix_gss.a"
out_dir="$target_dir/$profile/ktix-gss"
out="$out_dir/libgssapi_krb5.so.2"
mkdir -p "$out_dir"
if [ ! -e "$out" ] || [ "$archive" -nt "$out" ] || [ gss/exports.map -nt "$out" ]; then
    # --whole-archive: every exported name is kept (nothing in the archive references them);
    # --gc-sections then drops what no exported name reaches; the version script hides the rest
    # (the Rust standard library, SQLite, ...). The libraries are the archive's native needs
    # (rustc --print native-static-libs): OpenSSL and what the standard library uses.
    cc -shared -o "$out.tmp" \
        -Wl,--whole-archive "$archive" -Wl,--no-whole-archive \
        -Wl,--version-script=gss/exports.map -Wl,-soname,libgssapi_krb5.so.2 \
        -Wl,--gc-sections -Wl,-z,relro -Wl,-z,now \
        -lssl -lcrypto -lgcc_s -lpthread -ldl -lm -lc
    mv -f "$out.tmp" "$out"
fi
echo "$out"
