#!/usr/bin/env bash
# Throughput and latency of the verify server under concurrent load on loopback, with
# the in-memory and the Redis replay store, and its CPU time per code beside the
# in-process Verifier::verify on the same codes (BENCHMARKS.md). Not part of the test run.
#   bash scripts/bench-server.sh            # N=250000 codes, 10 s per store, 32 connections
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-250000}"; SECS="${SECS:-10}"; CONNS="${CONNS:-32}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
cargo build --quiet --release --locked -p citycode-verify-server --example load_fixture --bin citycode-verify-server
dir=target/bench-server
rm -rf "$dir" && mkdir -p "$dir"
baseline=$(target/release/examples/load_fixture "$dir" "$N")
root=$(cat "$dir/root.hex")
tck=$(getconf CLK_TCK)
echo "in-process verify (one thread, same codes): ${baseline} us/code"

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {
  local label=$1; shift
  local port=$((20000 + RANDOM % 20000))
  target/release/citycode-verify-server --root-alg ed25519 --root-key "$root" --scene metro_gate \
    --lists-dir "$dir/lists" --list-state-file "$dir/$label-list-state.json" \
    --listen "127.0.0.1:$port" "$@" 2>"$dir/$label.log" &
  local pid=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { echo "$label: not ready"; cat "$dir/$label.log"; kill "$pid"; return 1; }
  local c0; c0=$(cpu "$pid")
  BODIES="$dir/bodies.txt" wrk -t2 -c"$CONNS" -d"${SECS}s" -s scripts/bench-server.lua "http://127.0.0.1:$port/" > "$dir/$label.wrk"
  local c1; c1=$(cpu "$pid")
  local accepted; accepted=$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^citycode_verdicts_total\{outcome="accept"\}/ {print $2}')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local line; line=$(grep '^RESULT' "$dir/$label.wrk")
  local requests secs p50 p99
  requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line"); secs=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<<"$line")
  p50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$line"); p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$line")
  awk -v l="$label" -v r="$requests" -v s="$secs" -v a="${accepted:-0}" -v p50="$p50" -v p99="$p99" -v c="$((c1 - c0))" -v t="$tck" -v b="$baseline" \
    'BEGIN { us = c / t * 1e6 / r; printf "%-8s %8.0f codes/s  p50 %6.2f ms  p99 %6.2f ms  accepted %d/%d  server CPU %.1f us/code = %.2fx in-process\n", l, r / s, p50 / 1000, p99 / 1000, a, r, us, us / b }'
}

run memory
port=$((40000 + RANDOM % 20000))
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null &
redis=$!
trap 'kill $redis 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" set citycode:replay:epoch bench:0 >/dev/null
run redis --redis "redis://127.0.0.1:$port/"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $CONNS connections, wrk 2 threads on the same cores"
