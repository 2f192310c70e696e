#!/usr/bin/env bash
# Installs the prerequisites, then runs the embedded demo: `ktix demo` narrates the whole flow
# (KDC, login, service ticket, AP-REQ/AP-REP) on a loopback realm of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo run --release --quiet -p ktix-cli -- demo "$@"
