#!/usr/bin/env bash
# AP-REQ verifications and whole AP exchanges (ap_req + accept) per second through the C ABI
# (benches/ffi_acceptor.c, release build of libktix.so); with --rust also the Rust figure of the
# same work (criterion bench `exchanges`, group acceptor_accept), to show what the C boundary
# costs; with --mit also MIT's krb5_mk_req_extended + krb5_rd_req on one thread (`kdc-load ap`
# from $KTIX_MIT_PEER, default ../shared/peer, against a throwaway MIT realm from mit-realm.sh),
# with MIT's default replay cache and with none, right after ours on the same machine.
#
# Usage: bash benches/ffi_acceptor.sh [--rust] [--mit] [VERIFICATIONS [ROUNDS]]
set -euo pipefail
cd "$(dirname "$0")/.."

rust=0
mit=0
while [ "${1:-}" = --rust ] || [ "${1:-}" = --mit ]; do
    [ "$1" = --rust ] && rust=1
    [ "$1" = --mit ] && mit=1
    shift
done
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
release="$target_dir/release"

cargo build -p ktix-ffi --release
cc -O2 -std=c99 -Wall -Wextra -Werror -Iinclude benches/ffi_acceptor.c -L"$release" -lktix -o "$release/ffi_acceptor"
LD_LIBRARY_PATH="$release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$release/ffi_acceptor" "$@"

if [ "$mit" = 1 ]; then
    peer=${KTIX_MIT_PEER:-$PWD/../shared/peer}
    work=$(mktemp -d /tmp/ktix-ffi-ap.XXXXXX)
    trap 'bash "$peer/mit-stop.sh" "$work/mit" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
    # shellcheck disable=SC2046
    cc -O2 -o "$work/kdc-load" "$peer/kdc-load.c" $(krb5-config --cflags --libs krb5) -lpthread
    port=$((20000 + RANDOM % 12000))
    bash "$peer/mit-realm.sh" "$work/mit" "$port" >/dev/null
    export KRB5_CONFIG=$work/mit/krb5.conf
    kinit -k -t "$work/mit/users.keytab" -c "FILE:$work/cc" user0
    kvno -q -c "FILE:$work/cc" host/server.ktix.test
    secs=${MIT_SECONDS:-5}
    echo "MIT krb5 $(krb5-config --version | awk '{print $NF}'): krb5_mk_req_extended + krb5_rd_req, 1 thread, ${secs} s (enctype of the realm's ticket: $(klist -e -c "FILE:$work/cc" | grep -A2 'host/server' | grep -o 'Etype.*'))"
    printf 'default replay cache: '
    "$work/kdc-load" ap "$secs" 1 "FILE:$work/cc" host/server.ktix.test "FILE:$work/mit/server.keytab"
    printf 'KRB5RCACHETYPE=none:  '
    KRB5RCACHETYPE=none "$work/kdc-load" ap "$secs" 1 "FILE:$work/cc" host/server.ktix.test "FILE:$work/mit/server.keytab"
fi

if [ "$rust" = 1 ]; then
    cargo bench --bench exchanges -- acceptor_accept --warm-up-time 2 --measurement-time 10
fi
