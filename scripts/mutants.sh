#!/usr/bin/env bash
# Mutation testing of core's verification path against the conformance vectors and the
# tests .cargo/mutants.toml names (TESTING.md says which file each counts). Installs
# cargo-mutants when it is missing. Takes over an hour on two cores, so it is not part
# of scripts/test-all.sh; run it after changing core or the vectors, and update the
# figure and the missed list in TESTING.md.
#
#   bash scripts/mutants.sh            # every mutant of the files in .cargo/mutants.toml
#   bash scripts/mutants.sh --iterate  # only those not caught by the previous run
#   bash scripts/mutants.sh --re 'core/src/printed\.rs'  # one file's mutants only
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
out="${MUTANTS_OUT:-target/mutants}"
mkdir -p "$out"
status=0
cargo mutants -p citycode --output "$out" "$@" || status=$?
# Exit 2 means some mutants were missed: the summary below says which.
caught=$(wc -l < "$out/mutants.out/caught.txt")
missed=$(wc -l < "$out/mutants.out/missed.txt")
timeouts=$(wc -l < "$out/mutants.out/timeout.txt")
previously=0
[ -f "$out/mutants.out/previously_caught.txt" ] && previously=$(wc -l < "$out/mutants.out/previously_caught.txt")
viable=$((caught + previously + missed + timeouts))
echo "caught $((caught + previously + timeouts)) of $viable viable mutants ($(( (caught + previously + timeouts) * 1000 / viable / 10 )).$(( (caught + previously + timeouts) * 1000 / viable % 10 ))%); missed:"
cat "$out/mutants.out/missed.txt"
[ "$status" -eq 0 ] || [ "$status" -eq 2 ]
