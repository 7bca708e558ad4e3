#!/usr/bin/env bash
# The benchmarks of README.md: figures, not pass or fail. Each runs real
# processes (rrr server, rrr worker, slaves, trials) on a redis-server of its
# own, once, and the script prints a table of what they measured:
#   - coordination: no-op trials on 1 worker x 8 slaves (trials per second,
#     Redis requests and commands per trial);
#   - balance: 200 specs of sleeping cases, heavy-tailed (4 minutes of work), on
#     4 workers x 4 slaves, run twice (without, then with estimates), against
#     the lower bound and two static splits of the same durations;
#   - scale: a taskset of 100,000 spec files (creation, memory per task), and
#     300 simulated slaves draining it against rrr server (nothing lost);
#   - fleet: 1,000 simulated slaves on one Redis (goroutines making the two
#     calls of rrr slave), draining 100,000 tasks and then finishing one
#     trial a second each (trials/s, Redis CPU, settle latency);
#   - runner: 40 files of a framework whose start-up costs 1 s on rrr local
#     with 2 slaves, as plain trials and in a persistent runner (time per
#     trial, wall);
#   - partitions: one spec file of 64 cases and 32 short specs on rrr local
#     with 16 slaves, run twice (whole, then split by the first run's
#     cases), against max(work / slaves, longest case).
# About 7 minutes on 2 CPUs.
#   scripts/bench.sh                  all six
#   scripts/bench.sh Balance          one (a regular expression of go test -bench)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need redis-server redis-server
need rsync rsync
export RRR_REQUIRE_REDIS=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -count=1 -timeout 30m -run '^$' -bench "${1:-.}" -benchtime 1x ./cmd/rrr >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  cat "$log" >&2
  exit "$status"
fi
cpu=$(grep -m1 '^cpu:' "$log" | sed 's/^cpu: //')
echo "machine: $(nproc) CPU(s), ${cpu:-unknown CPU}; $(redis-server --version | grep -o 'v=[0-9.]*' | sed 's/v=/redis /'); $(go version | cut -d' ' -f3)"
echo
echo "| figure | value | how |"
echo "|---|---|---|"
grep -E 'FIGURE \| ' "$log" | sed -E 's/^.*FIGURE \| /| /; s/$/ |/'
echo
echo "benchmark lines (go test -bench):"
grep -E '^Benchmark' "$log"
