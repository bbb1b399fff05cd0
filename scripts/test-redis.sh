#!/usr/bin/env bash
# The shared replay store against real Redis processes on loopback (SPEC.md §9.1): one
# Redis, a primary with a replica, Sentinel (redis-server --sentinel) and a three-shard
# Redis Cluster. Every test starts the topology it needs, since most kill, pause,
# restart, flush or fail over what they start: ports the OS picks, files in a directory
# under $CITYCODE_REDIS_TMP, pid files there. This script installs redis-server if it
# is missing, makes that directory, runs the tests, and on exit stops whatever a failed
# test left running (only processes whose working directory is under it) and removes it.
#   bash scripts/test-redis.sh
# `--install-only` stops after the install and version check: scripts/test-all.sh runs
# these tests in its workspace step (each test stops its processes when its handles drop).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi
major=$(redis-server --version | sed -n 's/.* v=\([0-9]*\)\..*/\1/p')
if [ "${major:-0}" -lt 7 ]; then
  echo "redis-server 7 or later is needed (multi-part AOF, INFO in scripts); found: $(redis-server --version)"
  exit 1
fi

[ "${1:-}" = --install-only ] && exit 0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/citycode-redis.XXXXXX")
cleanup() {
  local f pid
  while IFS= read -r -d '' f; do
    pid=$(cat "$f" 2>/dev/null || true)
    case "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" in
      "$tmp"/*) kill -CONT "$pid" 2>/dev/null || true; kill -KILL "$pid" 2>/dev/null || true ;;
    esac
  done < <(find "$tmp" -name '*.pid' -print0 2>/dev/null)
  rm -rf "$tmp"
}
trap cleanup EXIT
export CITYCODE_REDIS_TMP="$tmp"

cargo test --locked -p citycode --features redis \
  --test redis --test redis_loss --test redis_deadline --test redis_sentinel --test redis_cluster
