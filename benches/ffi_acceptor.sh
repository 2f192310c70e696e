#!/usr/bin/env bash
# AP-REQ verifications and whole AP exchanges (ap_req + accept) per second through the C ABI
# (benches/ffi_acceptor.c, release build of libktix.so); with --rust also the Rust figure of the
# same work (criterion bench `exchanges`, group acceptor_accept), to show what the C boundary
# costs; with --mit also MIT's krb5_mk_req_extended + krb5_rd_req on one thread (`kdc-load ap`
# from $KTIX_MIT_PEER, default ../shared/peer, against a throwaway MIT realm from mit-realm.sh),
# with MIT's default replay cache and with none, right after ours on the same machine.
# With --callgrind, instead of rates: user-space instructions per exchange under valgrind's
# callgrind (ours: ffi_acceptor at 200 and 400, the difference over 2 x 200 exchanges; MIT's with
# --mit: kdc-load ap for 3 s and 6 s, the difference over the difference of exchanges), which
# repeat on a loaded machine; system calls are not counted (MIT's rd_req re-reads the keytab and
# the FILE ccache, and writes its replay cache file, on every call; ours does none of that here).
#
# Usage: bash benches/ffi_acceptor.sh [--rust] [--mit] [--callgrind] [VERIFICATIONS [ROUNDS]]
set -euo pipefail
cd "$(dirname "$0")/.."

rust=0
mit=0
callgrind=0
while [ "${1:-}" = --rust ] || [ "${1:-}" = --mit ] || [ "${1:-}" = --callgrind ]; do
    [ "$1" = --rust ] && rust=1
    [ "$1" = --mit ] && mit=1
    [ "$1" = --callgrind ] && callgrind=1
    shift
done
# The instruction count of a callgrind run (its `summary:` line).
instructions() { grep -m1 '^summary:' "$1" | awk '{print $2}'; }
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
release="$target_dir/release"

cargo build -p ktix-ffi --release
cc -O2 -std=c99 -Wall -Wextra -Werror -Iinclude benches/ffi_acceptor.c -L"$release" -lktix -o "$release/ffi_acceptor"
if [ "$callgrind" = 1 ]; then
    cg=$(mktemp -d /tmp/ktix-ffi-cg.XXXXXX)
    for n in 200 400; do
        LD_LIBRARY_PATH="$release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" valgrind --tool=callgrind \
            --callgrind-out-file="$cg/ktix.$n" "$release/ffi_acceptor" "$n" 1 >/dev/null 2>&1
    done
    # Each verification count N runs N AP-REQs built + accepted, then N whole exchanges.
    ours=$(( ($(instructions "$cg/ktix.400") - $(instructions "$cg/ktix.200")) / 400 ))
    rm -rf "$cg"
    echo "ktix_client_ap_req + ktix_acceptor_accept (mutual, enctype 18, replay cache in memory): $ours instructions per exchange"
else
    LD_LIBRARY_PATH="$release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$release/ffi_acceptor" "$@"
fi

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
    span="${secs} s"
    [ "$callgrind" = 1 ] && span="3 s and 6 s under callgrind"
    echo "MIT krb5 $(krb5-config --version | awk '{print $NF}'): krb5_mk_req_extended + krb5_rd_req, 1 thread, ${span} (enctype of the realm's ticket: $(klist -e -c "FILE:$work/cc" | grep -A2 'host/server' | grep -o 'Etype.*'))"
    load=("$work/kdc-load" ap "$secs" 1 "FILE:$work/cc" host/server.ktix.test "FILE:$work/mit/server.keytab")
    if [ "$callgrind" = 1 ]; then
        for rc in default none; do
            declare -A ir=() ok=()
            for s in 3 6; do
                load[2]=$s
                out=$( ([ "$rc" = none ] && export KRB5RCACHETYPE=none
                    valgrind --tool=callgrind --callgrind-out-file="$work/cg.$rc.$s" "${load[@]}" 2>/dev/null))
                ok[$s]=$(echo "$out" | grep -o '[0-9]* ok' | awk '{print $1}')
                ir[$s]=$(instructions "$work/cg.$rc.$s")
            done
            mit_ir=$(( (ir[6] - ir[3]) / (ok[6] - ok[3]) ))
            echo "MIT ($rc replay cache): $mit_ir instructions per exchange; MIT / ktix: $(awk -v m="$mit_ir" -v k="$ours" 'BEGIN { printf "%.2f", m / k }')"
        done
    else
        printf 'default replay cache: '
        "${load[@]}"
        printf 'KRB5RCACHETYPE=none:  '
        KRB5RCACHETYPE=none "${load[@]}"
    fi
fi

if [ "$rust" = 1 ]; then
    cargo bench --bench exchanges -- acceptor_accept --warm-up-time 2 --measurement-time 10
fi
