#!/bin/sh
# KDC CPU per TGS exchange, one realm on SQLite and the same on PostgreSQL, measured side by side.
#
#   scripts/pg-tgs-cpu.sh KTIX KDC_LOAD [SECONDS] [THREADS]
#
# KTIX: a (release) `ktix` binary; KDC_LOAD: ../shared/peer/kdc-load built as its README says
# (cc -O2 -o kdc-load kdc-load.c $(krb5-config --cflags --libs krb5) -lpthread). Needs MIT's
# kinit and Debian's PostgreSQL server programs (a throwaway cluster on 127.0.0.1, `trust`,
# removed at the end). For each store: `ktix kdc serve --workers 2` logging to a file, alice's
# TGT from MIT kinit, then `kdc-load tgs SECONDS THREADS` for host/server.ktix.test; the KDC's
# utime + stime from /proc/PID/stat before and after, divided by the exchanges.
set -eu
KTIX=$(realpath "$1"); LOAD=$(realpath "$2"); SECS=${3:-10}; THREADS=${4:-4}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
T=$(mktemp -d); chmod 755 "$T"
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AS=""; [ "$(id -u)" = 0 ] && AS="setpriv --reuid=postgres --regid=postgres --init-groups --"
KDC=""
cleanup() {
    [ -n "$KDC" ] && kill "$KDC" 2>/dev/null || true
    $AS "$PGBIN/pg_ctl" -D "$T/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
mkdir "$T/pg"; [ -n "$AS" ] && chown postgres:postgres "$T/pg"
$AS "$PGBIN/initdb" -D "$T/pg/data" -U ktix --auth=trust -E UTF8 --no-sync --no-instructions >/dev/null
$AS "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w -o "-p $PGPORT -k $T/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
$AS "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U ktix realm
PGURI="postgresql://ktix@127.0.0.1:$PGPORT/realm"
TICK=$(getconf CLK_TCK)

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # NAME DB STASH
    name=$1; db=$2; stash=$3; d="$T/$name"; mkdir -p "$d"
    "$KTIX" db init --db "$db" --stash "$stash" --realm KTIX.TEST >/dev/null
    echo alice-pw | "$KTIX" db add --db "$db" --stash "$stash" alice >/dev/null
    "$KTIX" db add --db "$db" --stash "$stash" --random host/server.ktix.test >/dev/null
    "$KTIX" kdc serve --db "$db" --stash "$stash" --listen 127.0.0.1:0 --workers 2 2>"$d/kdc.log" &
    KDC=$!
    for _ in $(seq 100); do grep -q ' listening on ' "$d/kdc.log" && break; sleep 0.1; done
    addr=$(sed -n 's/.* listening on \([0-9.:]*\).*/\1/p' "$d/kdc.log" | head -1)
    printf '[libdefaults]\n  default_realm = KTIX.TEST\n  dns_lookup_kdc = false\n  rdns = false\n[realms]\n  KTIX.TEST = {\n    kdc = %s\n  }\n' "$addr" >"$d/krb5.conf"
    export KRB5_CONFIG="$d/krb5.conf" KRB5CCNAME="FILE:$d/cc"
    echo alice-pw | kinit alice >/dev/null
    "$LOAD" tgs 2 "$THREADS" "FILE:$d/cc" host/server.ktix.test >/dev/null # warm the cache
    before=$(cpu "$KDC")
    out=$("$LOAD" tgs "$SECS" "$THREADS" "FILE:$d/cc" host/server.ktix.test)
    after=$(cpu "$KDC")
    ok=$(echo "$out" | sed -n 's/.*: \([0-9]*\) ok.*/\1/p')
    echo "$name: $out; KDC CPU $(( (after - before) * 1000000 / TICK / ok )) us per TGS"
    kill "$KDC"; wait "$KDC" 2>/dev/null || true; KDC=""
}

measure sqlite "$T/sqlite/realm.db" "$T/sqlite.stash"
measure postgresql "$PGURI" "$T/pg.stash"
