#!/usr/bin/env bash
# Fault injection, end to end, the long version: a suite of SPECS spec
# files (default 600) runs on a real fleet (redis-server with an
# append-only file, rrr server, 2 workers x 3 slaves) while one thing is
# killed in the middle: a slave, a worker's whole process group (early, and
# in the tail), the server (restarted), redis-server (restarted on its
# append-only file); or the taskset is cancelled from another process. Each
# case runs ROUNDS times (default 3). After each: the taskset ends by
# itself with the verdict of a clean run, every spec has exactly one final
# status, the counters match, nothing is left running, the results are
# stored. `scripts/test.sh` runs the same cases once on 160 specs.
#   scripts/fault.sh                 600 specs, 3 rounds
#   SPECS=200 ROUNDS=10 scripts/fault.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need redis-server redis-server
need rsync rsync
export RRR_REQUIRE_REDIS=1
export RRR_TEST_FAULT_SPECS=${SPECS:-600} RRR_TEST_FAULT_ROUNDS=${ROUNDS:-3}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "fault cases: $RRR_TEST_FAULT_SPECS specs, $RRR_TEST_FAULT_ROUNDS round(s) each, $(nproc) CPU(s)" >&2
status=0
go test -count=1 -timeout 60m -run '^TestFault$' -v ./cmd/rrr >"$log" 2>&1 || status=$?
# The figures each case logged (recovery times, outages), then the verdict.
grep -E '^\s+fault_test.go:[0-9]+: FAULT ' "$log" | sed -E 's/^\s+fault_test.go:[0-9]+: FAULT /  /' || true
grep -E '^(--- |    --- )(PASS|FAIL)|^(ok|FAIL)\s' "$log" || true
if [ "$status" -ne 0 ]; then
  echo "failed; the full log:" >&2
  cat "$log" >&2
fi
exit "$status"
