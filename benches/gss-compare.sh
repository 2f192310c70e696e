#!/usr/bin/env bash
# GSS-API through libktix's drop-in libgssapi_krb5.so.2 beside MIT's library, same machine, same
# run: benches/gss_compare.c (built against MIT's header, linked with -lgssapi_krb5) is run once
# on MIT's library and once with LD_LIBRARY_PATH on the drop-in (release build), in a realm
# served by `ktix kdc serve` (alice's TGT from MIT's kinit, the service key in a keytab file,
# enctype aes256-cts-hmac-sha1-96, a new realm's default). Both runs use the default replay cache
# of their library (MIT: a file in KRB5RCACHEDIR; libktix: its acceptor's).
#
# Usage: bash benches/gss-compare.sh [SECONDS]     seconds per measurement, default 5
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-5}
lib=$(bash scripts/build-gss.sh --release)
cargo build --quiet -p ktix-cli
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
ktix="$target_dir/debug/ktix"

work=$(mktemp -d)
kdc_pid=
cleanup() {
    [ -n "$kdc_pid" ] && kill "$kdc_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

"$ktix" db init --db "$work/realm.db" --realm BENCH.TEST >/dev/null
echo bench-alice-pw | "$ktix" db add --db "$work/realm.db" alice >/dev/null
"$ktix" db add --db "$work/realm.db" --random host/localhost >/dev/null
"$ktix" db ktadd --db "$work/realm.db" host/localhost -k "$work/service.keytab" >/dev/null
"$ktix" kdc serve --db "$work/realm.db" --listen 127.0.0.1:0 2>"$work/kdc.log" &
kdc_pid=$!
kdc_addr=
for _ in $(seq 100); do
    kdc_addr=$(sed -n 's/.*listening on \([^ ,]*\).*/\1/p' "$work/kdc.log" || true)
    [ -n "$kdc_addr" ] && break
    sleep 0.1
done
[ -n "$kdc_addr" ] || { echo "ktix kdc serve did not start: $(cat "$work/kdc.log")" >&2; exit 1; }
cat >"$work/krb5.conf" <<CONF
[libdefaults]
  default_realm = BENCH.TEST
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
  dns_canonicalize_hostname = false
[realms]
  BENCH.TEST = {
    kdc = $kdc_addr
  }
[domain_realm]
  localhost = BENCH.TEST
CONF
export KRB5_CONFIG="$work/krb5.conf" KRB5CCNAME="FILE:$work/alice.cc" KRB5_KTNAME="FILE:$work/service.keytab"
export KRB5RCACHEDIR="$work"
echo bench-alice-pw | kinit alice >/dev/null
cc -O2 -std=c99 -Wall -Wextra -Werror benches/gss_compare.c -lgssapi_krb5 -o "$work/gss_compare"

echo "== MIT krb5 $(dpkg-query -W -f '${Version}' libgssapi-krb5-2 2>/dev/null || echo '?'): $(ldd "$work/gss_compare" | sed -n 's/.*libgssapi_krb5.so.2 => \([^ ]*\).*/\1/p')"
"$work/gss_compare" host@localhost "$seconds"
echo "== libktix drop-in (release): $(LD_LIBRARY_PATH="$(dirname "$lib")" ldd "$work/gss_compare" | sed -n 's/.*libgssapi_krb5.so.2 => \([^ ]*\).*/\1/p')"
LD_LIBRARY_PATH="$(dirname "$lib")" "$work/gss_compare" host@localhost "$seconds"
