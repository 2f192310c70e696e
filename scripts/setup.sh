#!/usr/bin/env bash
# Installs what building and testing libktix needs; safe to run again (it installs only what is
# missing). Runs unattended: no prompts, no standard input needed.
#
#   Debian packages: libssl-dev pkg-config (OpenSSL for the crypto), krb5-kdc krb5-user
#                    krb5-admin-server libkrb5-dev (MIT krb5, the interoperability peer),
#                    valgrind, postgresql (the server the PostgreSQL store's tests start
#                    throwaway clusters of), systemd (systemd-analyze, which checks
#                    contrib/systemd's unit), apache2-bin libapache2-mod-auth-gssapi curl (the
#                    unmodified GSS-API programs the drop-in libgssapi_krb5.so.2 is tested under,
#                    with PostgreSQL), and python3-venv when the system python3 cannot make a venv.
#   cbindgen:        the pinned version that generates include/ktix.h (cargo install).
set -euo pipefail
cd "$(dirname "$0")/.."

CBINDGEN_VERSION=0.29.4
export DEBIAN_FRONTEND=noninteractive

log() { printf 'setup: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
    else
        log "need root to run: $*" >&2
        exit 1
    fi
}

packages=(libssl-dev pkg-config krb5-kdc krb5-user krb5-admin-server libkrb5-dev valgrind postgresql systemd
    apache2-bin libapache2-mod-auth-gssapi curl)
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    # Keep package scripts from starting daemons (krb5kdc, kadmind): the tests start their own.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        trap 'as_root rm -f '"$policy" EXIT
    fi
    as_root apt-get update -q </dev/null
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
else
    log "Debian packages present"
fi

if ! command -v cargo >/dev/null 2>&1; then
    log "cargo is not on PATH; install the Rust toolchain first" >&2
    exit 1
fi
for component in fmt clippy; do
    if ! cargo "$component" --version >/dev/null 2>&1; then
        log "cargo $component is missing (rustup component add $([ $component = fmt ] && echo rustfmt || echo clippy))" >&2
        exit 1
    fi
done

if cbindgen --version 2>/dev/null | grep -qx "cbindgen $CBINDGEN_VERSION"; then
    log "cbindgen $CBINDGEN_VERSION present"
else
    log "installing cbindgen $CBINDGEN_VERSION"
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked </dev/null
fi
