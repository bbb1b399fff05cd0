#!/usr/bin/env bash
# The issuing service's tests (citycode-issuer) against SQLite and a real PostgreSQL:
# installs Debian's postgresql when its binaries are missing, initialises a cluster in a
# temp dir on a random loopback port (as the postgres user when run as root: initdb
# refuses root), runs the tests with CITYCODE_TEST_POSTGRES pointing at it, and stops it.
# The token-key tests (tests/token.rs) need SoftHSM2, installed here when missing; each
# makes its own token directory under a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v softhsm2-util >/dev/null; then
    apt-get update -qq && apt-get install -y -qq softhsm2 >/dev/null
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

dir=$(mktemp -d)
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    as_pg=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
    "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT
"${as_pg[@]}" "$bin/initdb" -A trust -U postgres --no-sync -D "$dir/data" >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -w -D "$dir/data" -l "$dir/log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null

export CITYCODE_TEST_POSTGRES="host=127.0.0.1 port=$port user=postgres"
cargo test --locked -p citycode-issuer
# The demo's issuing step, through the service (a separate command: the service's
# dependencies would make `cargo run --example city_day` a heavy build).
cargo run --quiet --locked -p citycode-issuer -- demo | grep -c '"decision":"accept"' | grep -qx 2
