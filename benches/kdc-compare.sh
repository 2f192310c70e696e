#!/usr/bin/env bash
# `ktix kdc serve` beside MIT's krb5kdc, in one run on this machine: AS and TGS requests per second
# over loopback UDP with 4 client threads (THREADS="1 2 4" for more cells), each KDC's own CPU
# per exchange, and the ratios.
#
#   bash benches/kdc-compare.sh [SECONDS_PER_CELL]      (default 5)
#
# Environment: THREADS (client thread counts, default "4"); ROUNDS (how many times every cell is
# run, the two KDCs alternating which goes first; the table shows each figure's median and the
# CPU ratio of every round; default 1); NO_FLOOR=1 (skip the floor cells: a UDP responder
# without Kerberos, benches/udp_echo.c, under the same load); KTIX_BIN (a ktix binary to measure
# instead of building this tree's); RSS_SECONDS (after the cells, a TGS load of that many seconds
# with 4 threads on ktix alone, its RSS sampled every 10 s; default 0: none); CALLGRIND=1 (at the
# end, ktix's instructions per AS and TGS request under the same load, with valgrind); KEEP=1
# keeps the work directory.
#
# Needs MIT krb5 (krb5-kdc, krb5-admin-server, krb5-user, libkrb5-dev: scripts/setup.sh installs
# them) and the workplace's peer harness (mit-realm.sh, mit-stop.sh, kdc-load.c) in
# $KTIX_MIT_PEER, default ../shared/peer beside the repository. kdc-load is built from there into
# the temporary directory at each run; it is not part of this repository.
#
# Both KDCs get the same realm contents: KTIX.TEST with alice, host/server.ktix.test and
# user0..user99 (password pw-N, preauth required, keys of enctypes 17..20), max life 8 h, max
# renewable life 7 d, supported_enctypes in MIT's order (ours reads the kdc.conf mit-realm.sh
# writes). Both log one line per request to a file (MIT: [logging] kdc = FILE:…, ktix: stderr
# redirected). The client is the same: kdc-load on MIT's libkrb5, only the port differs.
#
# Per cell: requests/s as kdc-load reports them (an AS exchange is its two round trips, the
# pre-authentication one included) and the KDC's CPU per exchange: utime + stime of the KDC
# process from /proc/PID/stat over the cell, / CLK_TCK / exchanges.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

secs=${1:-5}
peer=${KTIX_MIT_PEER:-$repo/../shared/peer}
for f in mit-realm.sh mit-stop.sh kdc-load.c; do
    [[ -f $peer/$f ]] || { echo "kdc-compare: $peer/$f not found (set KTIX_MIT_PEER)" >&2; exit 2; }
done
for p in krb5kdc kdb5_util kadmin.local kinit krb5-config cc; do
    command -v "$p" >/dev/null || { echo "kdc-compare: missing $p (run scripts/setup.sh)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/ktix-kdc-compare.XXXXXX)
ktix_pid=
echo_pid=
cleanup() {
    if [[ -n $echo_pid ]]; then
        kill "$echo_pid" 2>/dev/null || true
        wait "$echo_pid" 2>/dev/null || true
    fi
    if [[ -n $ktix_pid ]]; then
        kill "$ktix_pid" 2>/dev/null || true
        wait "$ktix_pid" 2>/dev/null || true
    fi
    bash "$peer/mit-stop.sh" "$work/mit" 2>/dev/null || true
    if [[ -n ${KEEP:-} ]]; then echo "kdc-compare: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

log() { printf 'kdc-compare: %s\n' "$*" >&2; }

# A port below the ephemeral range with nothing listening on it.
pick_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo "kdc-compare: no free port" >&2
    exit 1
}

if [[ -n ${KTIX_BIN:-} ]]; then
    ktix=$KTIX_BIN
    log "ktix: $ktix (KTIX_BIN); building kdc-load"
else
    log "building ktix (release) and kdc-load"
    cargo build --release --quiet -p ktix-cli
    ktix=$repo/target/release/ktix
fi
thread_counts=${THREADS:-4}
# shellcheck disable=SC2046
cc -O2 -o "$work/kdc-load" "$peer/kdc-load.c" $(krb5-config --cflags --libs krb5) -lpthread
cc -O2 -o "$work/udp_echo" benches/udp_echo.c -lpthread

log "MIT realm (mit-realm.sh)"
mit_port=$(pick_port)
bash "$peer/mit-realm.sh" "$work/mit" "$mit_port" >/dev/null

log "ktix realm: alice, host/server.ktix.test, user0..user99 and their keytab"
mkdir -p "$work/ktix"
db=$work/ktix/realm.db
"$ktix" db init --db "$db" --realm KTIX.TEST >/dev/null
echo alice-pw | "$ktix" db add --db "$db" alice >/dev/null
"$ktix" db add --db "$db" --random host/server.ktix.test >/dev/null
for i in $(seq 0 99); do
    echo "pw-$i" | "$ktix" db add --db "$db" "user$i" >/dev/null
    "$ktix" db ktadd --db "$db" "user$i" -k "$work/ktix/users.keytab" >/dev/null
done
# MIT's kdc.conf, with ktix's own request log file (its [logging] kdc = FILE:… is MIT's log).
sed "s|FILE:.*/kdc\.log|FILE:$work/ktix/requests.log|" "$work/mit/kdc.conf" >"$work/ktix/kdc.conf"
: >"$work/ktix/requests.log"
# Starts `ktix kdc serve` (under the command given first, if any: valgrind) on a free port, with
# its stderr in $1; sets ktix_pid and writes the krb5.conf naming it to $2.
start_ktix() {
    local err=$1 krb5conf=$2 port
    shift 2
    "$@" "$ktix" kdc serve --db "$db" --listen 127.0.0.1:0 --config "$work/ktix/kdc.conf" 2>"$err" &
    ktix_pid=$!
    for _ in $(seq 600); do grep -q 'listening on' "$err" && break; sleep 0.05; done
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$err" | head -n1)
    [[ -n $port ]] || { cat "$err" >&2; exit 1; }
    sed "s/127\.0\.0\.1:$mit_port/127.0.0.1:$port/" "$work/mit/krb5.conf" >"$krb5conf"
}
start_ktix "$work/ktix/kdc.log" "$work/ktix/krb5.conf"

mit_pid=$(cat "$work/mit/kdc.pid")
declare -A conf=([ktix]=$work/ktix/krb5.conf [mit]=$work/mit/krb5.conf)
declare -A keytab=([ktix]=$work/ktix/users.keytab [mit]=$work/mit/users.keytab)
declare -A pid=([ktix]=$ktix_pid [mit]=$mit_pid)
declare -A kdclog=([ktix]=$work/ktix/requests.log [mit]=$work/mit/kdc.log)
clk_tck=$(getconf CLK_TCK)

# A TGT for user0 from each KDC, for the TGS cells.
for k in ktix mit; do
    KRB5_CONFIG=${conf[$k]} kinit -k -t "${keytab[$k]}" -c "FILE:$work/$k.tgt" user0
done

# kdc-load's arguments after MODE SECONDS THREADS, into `args`: for `as` the keytab $2 to log in
# with, for `tgs` the ccache $3 holding the TGT, and the service.
set_load_args() {
    if [[ $1 == as ]]; then
        args=("FILE:$2")
    else
        args=("FILE:$3" host/server.ktix.test)
    fi
}

# utime and stime of a process, in ticks.
cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
# Microseconds per exchange of D ticks over N exchanges.
per_exchange() { awk -v d="$1" -v hz="$clk_tck" -v n="$2" 'BEGIN { printf "%.0f", n ? d / hz / n * 1e6 : 0 }'; }

# Appends one round of cell key $1 to the arrays: $2 per second, and the CPU per exchange (total,
# user, system) of $4 user and $5 system ticks over $3 exchanges.
record() {
    rate[$1]+=" $2"
    cpu[$1]+=" $(per_exchange $(($4 + $5)) "$3")"
    user[$1]+=" $(per_exchange "$4" "$3")"
    sys[$1]+=" $(per_exchange "$5" "$3")"
}

# The floor: benches/udp_echo.c (every datagram answered with itself, 2 threads on one socket, as
# ktix's workers) under the same kdc-load: what the kernel costs any UDP server here per request
# (an estimate: the client rejects the echoed replies, so it sends at another pace than against
# a KDC, and how often a responder sleeps between datagrams depends on the pace). Appends the
# answered datagrams per second and the CPU per datagram (total, user, system) to the arrays
# under key $mode/$threads/floor.
floor_cell() {
    local mode=$1 threads=$2 port answered u0 s0 u1 s1 args
    port=$(pick_port)
    "$work/udp_echo" "$port" 2 >"$work/echo.out" &
    echo_pid=$!
    for _ in $(seq 100); do grep -q listening "$work/echo.out" && break; sleep 0.05; done
    sed "s/127\.0\.0\.1:$mit_port/127.0.0.1:$port/" "$work/mit/krb5.conf" >"$work/echo-krb5.conf"
    set_load_args "$mode" "${keytab[ktix]}" "$work/ktix.tgt"
    read -r u0 s0 < <(cpu_ticks "$echo_pid")
    KRB5_CONFIG=$work/echo-krb5.conf "$work/kdc-load" "$mode" "$secs" "$threads" "${args[@]}" >/dev/null || true
    read -r u1 s1 < <(cpu_ticks "$echo_pid")
    kill "$echo_pid"
    wait "$echo_pid" || true
    echo_pid=
    answered=$(sed -n 's/^answered //p' "$work/echo.out")
    answered=${answered:-0} # no count: the responder did not stop cleanly
    local key=$mode/$threads/floor
    record "$key" $((answered / secs)) "$answered" $((u1 - u0)) $((s1 - s0))
    log "round $round, floor: $answered datagrams answered; CPU $((u1 - u0 + s1 - s0)) ticks" \
        "= ${cpu[$key]##* } us/datagram (user ${user[$key]##* }, system ${sys[$key]##* })"
}

# The median of a list of numbers (the mean of the middle two for an even count, rounded).
median() {
    tr ' ' '\n' <<<"$1" | grep . | sort -n |
        awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# Per cell key (exchange/threads/KDC): the values of every round, space-separated.
declare -A rate cpu user sys fails lines ratios
rounds=${ROUNDS:-1}
log "cells of ${secs} s, ${rounds} round(s); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= rounds; round++)); do
    # Odd rounds measure ktix first, even rounds MIT first: the order's effect cancels over rounds.
    order=$( ((round % 2)) && echo "ktix mit" || echo "mit ktix")
    for mode in as tgs; do
        for threads in $thread_counts; do
            for k in $order; do
                set_load_args "$mode" "${keytab[$k]}" "$work/$k.tgt"
                lines_before=$(wc -l <"${kdclog[$k]}")
                read -r u0 s0 < <(cpu_ticks "${pid[$k]}")
                out=$(KRB5_CONFIG=${conf[$k]} "$work/kdc-load" "$mode" "$secs" "$threads" "${args[@]}")
                read -r u1 s1 < <(cpu_ticks "${pid[$k]}")
                sleep 0.2 # ktix writes its log lines within 50 ms (buffered)
                lines_after=$(wc -l <"${kdclog[$k]}")
                ok=$(sed -n 's/.*: \([0-9]*\) ok, .*/\1/p' <<<"$out")
                failed=$(sed -n 's/.* ok, \([0-9]*\) failed.*/\1/p' <<<"$out")
                per_s=$(sed -n 's/.* failed, \([0-9]*\) per second.*/\1/p' <<<"$out")
                key=$mode/$threads/$k
                record "$key" "$per_s" "$ok" $((u1 - u0)) $((s1 - s0))
                fails[$key]=$((${fails[$key]:-0} + failed))
                lines[$key]=$((lines_after - lines_before))
                log "round $round, $k: $out; KDC CPU $((u1 - u0 + s1 - s0)) ticks = ${cpu[$key]##* } us/exchange" \
                    "(user ${user[$key]##* }, system ${sys[$key]##* }); ${lines[$key]} log lines"
            done
            [[ -n ${NO_FLOOR:-} ]] || floor_cell "$mode" "$threads"
            cell=$mode/$threads
            ratios[$cell]+=" $(awk -v a="${cpu[$cell/ktix]##* }" -v b="${cpu[$cell/mit]##* }" \
                'BEGIN { printf "%.1f", a ? b / a : 0 }')"
        done
    done
done
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Which enctypes each KDC chose (one successful AS line of each).
log "ktix AS line: $(grep -m1 'exchange=AS .*result=KDC_ERR_NONE' "$work/ktix/requests.log" || true)"
log "MIT AS line: $(grep -m1 'AS_REQ.*ISSUE' "$work/mit/kdc.log" || true)"

# "T µs (U + S)": the median CPU of cell key $1, total (user + system).
cpu_of() { printf '%s µs (%s + %s)' "$(median "${cpu[$1]}")" "$(median "${user[$1]}")" "$(median "${sys[$1]}")"; }
exchange_name() { [[ $1 == as ]] && echo "AS (preauth)" || echo TGS; }

echo
echo "loopback UDP, ${secs} s per cell, $(nproc) cores, $(date -u +%Y-%m-%d); client: kdc-load (MIT libkrb5 $(krb5-config --version | awk '{print $NF}'))"
echo
echo "| exchange | client threads | ktix req/s | MIT req/s | ktix/MIT req/s | ktix KDC CPU/exchange (user + system) | MIT KDC CPU/exchange (user + system) | MIT/ktix CPU |"
echo "|---|---|---|---|---|---|---|---|"
floor_rows=
for mode in as tgs; do
    for threads in $thread_counts; do
        k=$mode/$threads
        a=$(median "${rate[$k/ktix]}")
        b=$(median "${rate[$k/mit]}")
        ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
        ca=$(median "${cpu[$k/ktix]}")
        cb=$(median "${cpu[$k/mit]}")
        cpu_ratio=$(awk -v a="$ca" -v b="$cb" 'BEGIN { printf "%.1f", a ? b / a : 0 }')
        printf '| %s | %d | %s | %s | %s | %s | %s | %s× |\n' "$(exchange_name "$mode")" "$threads" "$a" "$b" \
            "$ratio" "$(cpu_of "$k/ktix")" "$(cpu_of "$k/mit")" "$cpu_ratio"
        if [[ -z ${NO_FLOOR:-} ]]; then
            per=$(median "${cpu[$k/floor]}")
            n=$([[ $mode == as ]] && echo 2 || echo 1) # datagrams per exchange: AS preauth + login
            floor_rows+=$(printf '| %s | %d | %s | %s | %s µs | %s µs |' "$(exchange_name "$mode")" "$threads" \
                "$(median "${rate[$k/floor]}")" "$(cpu_of "$k/floor")" $((n * per)) $((ca - n * per)))$'\n'
        fi
    done
done
if ((rounds > 1)); then
    echo "(Each figure is the median of ${rounds} rounds; the KDCs alternate which goes first. MIT/ktix CPU per round:"
    for mode in as tgs; do
        for threads in $thread_counts; do
            echo " $mode with $threads threads:${ratios[$mode/$threads]}."
        done
    done
    echo ")"
fi
echo "(CPU per exchange: the KDC process's utime + stime over the cell, at CLK_TCK=$clk_tck resolution; system time"
echo " is the kernel's work for the process: receiving and sending its datagrams, waking it, its other system calls.)"
if [[ -n $floor_rows ]]; then
    echo
    echo "The floor under the same load: benches/udp_echo.c answering every datagram with itself (no Kerberos)."
    echo
    echo "| exchange | client threads | datagrams/s | CPU per datagram (user + system) | floor per exchange | ktix above the floor |"
    echo "|---|---|---|---|---|---|"
    printf '%s' "$floor_rows"
fi

# RSS of ktix under a long TGS load: sampled every 10 s from /proc/PID/status while kdc-load runs.
rss_secs=${RSS_SECONDS:-0}
if ((rss_secs > 0)); then
    rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$ktix_pid/status"; }
    echo
    echo "ktix RSS under ${rss_secs} s of TGS load (kdc-load, 4 threads):"
    echo
    echo "| t (s) | VmRSS (KiB) |"
    echo "|---|---|"
    printf '| 0 | %s |\n' "$(rss)"
    KRB5_CONFIG=${conf[ktix]} "$work/kdc-load" tgs "$rss_secs" 4 "FILE:$work/ktix.tgt" host/server.ktix.test \
        >"$work/rss-load.out" &
    load_pid=$!
    for ((t = 10; t <= rss_secs; t += 10)); do
        sleep 10
        printf '| %d | %s |\n' "$t" "$(rss)"
    done
    wait "$load_pid"
    echo
    echo "load: $(cat "$work/rss-load.out")"
fi
# Instructions per request of ktix's UDP workers (callgrind): the KDC started under valgrind for a
# short and a longer kdc-load of each exchange, (I(long) − I(short)) / (requests(long) −
# requests(short)), so start-up and warm-up cancel; requests counted by the request log's lines.
if [[ -n ${CALLGRIND:-} ]]; then
    command -v valgrind >/dev/null || { echo "kdc-compare: CALLGRIND needs valgrind" >&2; exit 2; }
    kill "$ktix_pid"
    wait "$ktix_pid" 2>/dev/null || true
    echo
    echo "ktix instructions per request under kdc-load (4 threads), callgrind of the UDP workers:"
    echo
    echo "| exchange | instructions per request | requests (short / long load) |"
    echo "|---|---|---|"
    for mode in as tgs; do
        declare -A ir=() reqs=()
        for s in 4 10; do
            out=$work/callgrind.$mode.$s
            start_ktix "$work/ktix/cg.log" "$work/ktix/cg-krb5.conf" \
                valgrind --tool=callgrind --callgrind-out-file="$out"
            if [[ $mode == tgs ]]; then
                KRB5_CONFIG=$work/ktix/cg-krb5.conf kinit -k -t "${keytab[ktix]}" -c "FILE:$work/cg.tgt" user0
            fi
            set_load_args "$mode" "${keytab[ktix]}" "$work/cg.tgt"
            before=$(wc -l <"$work/ktix/requests.log")
            # Under valgrind a few exchanges may time out: only the requests served count.
            KRB5_CONFIG=$work/ktix/cg-krb5.conf "$work/kdc-load" "$mode" "$s" 4 "${args[@]}" >/dev/null || true
            sleep 0.2
            reqs[$s]=$(($(wc -l <"$work/ktix/requests.log") - before))
            kill "$ktix_pid"
            wait "$ktix_pid" 2>/dev/null || true
            ir[$s]=$(callgrind_annotate --inclusive=yes "$out" | awk '/udp_worker \[/ && !n++ { gsub(",", "", $1); print $1 }')
        done
        name=$([[ $mode == as ]] && echo "AS (2 per exchange)" || echo TGS)
        printf '| %s | %d | %d / %d |\n' "$name" $(((ir[10] - ir[4]) / (reqs[10] - reqs[4]))) "${reqs[4]}" "${reqs[10]}"
    done
    ktix_pid=
fi
bad=0
for key in "${!fails[@]}"; do
    [[ ${fails[$key]} == 0 ]] || { echo "note: $key had ${fails[$key]} failed exchanges"; bad=1; }
done
exit $bad
