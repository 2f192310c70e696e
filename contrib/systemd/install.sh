#!/usr/bin/env bash
# Installs the ktix KDC as a systemd service (contrib/systemd/ktix-kdc.service):
#
#   /usr/local/bin/ktix                         the binary (--binary, default target/release/ktix)
#   /etc/systemd/system/ktix-kdc.service        the unit (ports 88 and 464, DynamicUser, hardened)
#   /etc/krb5kdc/kdc.conf                       an MIT-style kdc.conf, only when there is none
#   /var/lib/ktix/realm.db (+ master-key stash) with --realm, only when there is no database
#
# then `systemctl daemon-reload` and, when a database exists, `systemctl enable` and `restart`.
# Files already there are replaced (the binary and the unit) or kept (kdc.conf, the database).
#
# Usage (as root, from the repository after `cargo build --release -p ktix-cli`):
#
#   contrib/systemd/install.sh --realm EXAMPLE.COM     # a new realm, served at once
#   contrib/systemd/install.sh                         # update binary and unit, restart
#
# Options:
#   --realm REALM   create the database for REALM when there is none (`ktix db init`)
#   --binary PATH   the ktix binary to install (default: target/release/ktix)
#   --root DIR      install below DIR (a staging or image root) and call no systemctl
#   --no-start      install only: neither enable nor (re)start the service
#
# The database directory /var/lib/ktix belongs to the service's transient user: systemd moves it to
# /var/lib/private/ktix and hands it over at the first start. Administer the realm as that user,
# e.g. `systemd-run --pipe --wait --quiet -p DynamicUser=yes -p User=ktix -p StateDirectory=ktix
# /usr/local/bin/ktix db list --db /var/lib/ktix/realm.db` (README.md, "Running the KDC under
# systemd").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

realm=
binary="$repo/target/release/ktix"
root=
start=1

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --realm) [ $# -ge 2 ] || die "--realm needs a value"; realm=$2; shift 2 ;;
        --binary) [ $# -ge 2 ] || die "--binary needs a value"; binary=$2; shift 2 ;;
        --root) [ $# -ge 2 ] || die "--root needs a value"; root=${2%/}; shift 2 ;;
        --no-start) start=0; shift ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

[ -x "$binary" ] || die "no ktix binary at $binary: build it with 'cargo build --release -p ktix-cli' or pass --binary"
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (or with --root DIR to stage the files)"
fi

bin_path=$root/usr/local/bin/ktix
unit_path=$root/etc/systemd/system/ktix-kdc.service
conf_path=$root/etc/krb5kdc/kdc.conf
state_dir=$root/var/lib/ktix
db_path=$state_dir/realm.db

install -D -m 0755 "$binary" "$bin_path"
install -D -m 0644 "$here/ktix-kdc.service" "$unit_path"
echo "installed $bin_path and $unit_path"

if [ ! -e "$conf_path" ]; then
    install -d -m 0755 "$(dirname "$conf_path")"
    {
        echo "# kdc.conf of ktix kdc serve (MIT's format; see README.md). Addresses are set in the unit."
        echo "[realms]"
        if [ -n "$realm" ]; then
            echo "    $realm = {"
            echo "        max_life = 10h 0m 0s"
            echo "        max_renewable_life = 7d 0h 0m 0s"
            echo "    }"
        fi
    } >"$conf_path"
    chmod 0644 "$conf_path"
    echo "wrote $conf_path"
fi

# The database: systemd keeps a DynamicUser's state in /var/lib/private/ktix (/var/lib/ktix links
# there); before the first start it is a plain directory, which systemd moves and hands over.
have_db=0
if [ -e "$db_path" ] || [ -e "$root/var/lib/private/ktix/realm.db" ]; then
    have_db=1
elif [ -n "$realm" ]; then
    install -d -m 0700 "$state_dir"
    "$bin_path" db init --db "$db_path" --realm "$realm"
    have_db=1
else
    echo "no database yet: run again with --realm REALM (or create $db_path with 'ktix db init')"
fi

if [ -n "$root" ]; then
    exit 0
fi
systemctl daemon-reload
if [ "$start" = 1 ] && [ "$have_db" = 1 ]; then
    systemctl enable ktix-kdc.service
    systemctl restart ktix-kdc.service
    systemctl --no-pager --lines=5 status ktix-kdc.service || true
fi
