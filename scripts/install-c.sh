#!/usr/bin/env bash
# Installs the C library of libktix into a prefix:
#
#   PREFIX/lib/libktix.so.X.Y.Z          the shared library (SONAME libktix.so.X)
#   PREFIX/lib/libktix.so.X -> .so.X.Y.Z, PREFIX/lib/libktix.so -> .so.X
#   PREFIX/lib/libktix.a                 the static library
#   PREFIX/include/ktix.h                the header
#   PREFIX/lib/pkgconfig/ktix.pc         for `cc app.c $(pkg-config --cflags --libs ktix)`
#   PREFIX/lib/ktix-gss/libgssapi_krb5.so.2
#                                        the drop-in for MIT's GSS-API library (scripts/build-gss.sh),
#                                        in a directory of its own: only programs started with
#                                        LD_LIBRARY_PATH=PREFIX/lib/ktix-gss use it
#
# Usage: scripts/install-c.sh PREFIX [--debug]
#   PREFIX    where to install, e.g. /usr/local or $HOME/.local (made absolute)
#   --debug   install the debug build (faster to build; the tests use it) instead of release
#   DESTDIR   (environment) staged install for packaging: files go to $DESTDIR$PREFIX while
#             ktix.pc names PREFIX
#
# Then, when PREFIX/lib is not on the linker's search path:
#   export PKG_CONFIG_PATH=PREFIX/lib/pkgconfig LD_LIBRARY_PATH=PREFIX/lib
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 PREFIX [--debug]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
prefix=$(realpath -m -- "$1")
profile=release
if [ $# -eq 2 ]; then
    [ "$2" = --debug ] || usage
    profile=debug
fi

# The libraries the static library needs besides libktix.a itself (what rustc reports with
# --print native-static-libs for this crate: OpenSSL and the Rust standard library's needs).
libs_private="-lssl -lcrypto -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

metadata=$(cargo metadata --format-version 1 --no-deps)
target_dir=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' <<<"$metadata")
version=$(python3 -c '
import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "ktix-ffi"))' <<<"$metadata")
major=${version%%.*}

if [ "$profile" = release ]; then
    cargo build -p ktix-ffi --release
else
    cargo build -p ktix-ffi
fi
built="$target_dir/$profile"
if command -v readelf >/dev/null 2>&1; then
    soname=$(readelf -d "$built/libktix.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    [ "$soname" = "libktix.so.$major" ] || { echo "$0: libktix.so has SONAME '$soname', expected libktix.so.$major" >&2; exit 1; }
fi

dest="${DESTDIR:-}$prefix"
install -d "$dest/lib" "$dest/lib/pkgconfig" "$dest/include"
install -m 0755 "$built/libktix.so" "$dest/lib/libktix.so.$version"
ln -sfn "libktix.so.$version" "$dest/lib/libktix.so.$major"
ln -sfn "libktix.so.$major" "$dest/lib/libktix.so"
install -m 0644 "$built/libktix.a" "$dest/lib/libktix.a"
install -m 0644 include/ktix.h "$dest/include/ktix.h"
if [ "$profile" = release ]; then
    gss_lib=$(bash scripts/build-gss.sh --release)
else
    gss_lib=$(bash scripts/build-gss.sh)
fi
install -d "$dest/lib/ktix-gss"
install -m 0755 "$gss_lib" "$dest/lib/ktix-gss/libgssapi_krb5.so.2"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@LIBS_PRIVATE@|$libs_private|g" \
    ffi/ktix.pc.in >"$dest/lib/pkgconfig/ktix.pc"
echo "installed libktix $version ($profile) into $dest: lib/libktix.so.$version, lib/libktix.so.$major, lib/libktix.so, lib/libktix.a, include/ktix.h, lib/pkgconfig/ktix.pc, lib/ktix-gss/libgssapi_krb5.so.2"
