#!/usr/bin/env bash
# Randomized fault runs (cmd/rrr/chaos_test.go, TestChaos): RUNS runs
# (default 100), each a real fleet (redis-server with an append-only file,
# rrr server, or in half the runs the dispatcher, two arbiters and the
# persister as processes of their own; 3 workers x 2 slaves) on a generated suite of passing,
# failing, flaky, slow and hanging specs, with 1-3 faults drawn from a
# seeded generator: kill -9 of a slave, a trial, a worker's process group
# (restarted), the server or one of its loops (an arbiter, the persister,
# the dispatcher; restarted), redis-server (restarted on its AOF),
# a SIGSTOP/SIGCONT of a worker or of redis-server for longer than the
# heartbeat TTL, a cancel. TestFault's checker judges each run. Prints runs,
# faults by kind, violations, time per run, and the seed of each failing
# run with the command that replays it.
#   scripts/chaos.sh            100 runs from a random seed
#   SEED=42 scripts/chaos.sh 20 runs of seeds 42..61
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need redis-server redis-server
need rsync rsync
export RRR_REQUIRE_REDIS=1
export RRR_TEST_CHAOS_RUNS=${1:-100}
export RRR_TEST_CHAOS_SEED=${SEED:-$(( (RANDOM << 15 | RANDOM) % 1000000 + 1 ))}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "chaos: $RRR_TEST_CHAOS_RUNS run(s) from seed $RRR_TEST_CHAOS_SEED, $(nproc) CPU(s)" >&2
start=$(date +%s)
status=0
# go test's own -timeout stops a hung run (and the harness kills its processes).
go test -count=1 -timeout "$(( RRR_TEST_CHAOS_RUNS * 3 + 10 ))m" -run '^TestChaos$' -v ./cmd/rrr >"$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))
runs=$(grep -cE '^    --- (PASS|FAIL): TestChaos/' "$log" || true)
failed=$(grep -cE '^    --- FAIL: TestChaos/' "$log" || true)
echo "runs: $runs  violations: $failed  wall: ${elapsed}s"
echo "runs by mode: $(grep -oE 'CHAOS seed=[0-9]+ mode=[a-z]+' "$log" | sed -E 's/.*mode=//' | sort | uniq -c | awk '{printf "%s %s  ", $1, $2}')"
echo "faults by kind (injected; a fault drawn after the taskset ended is not):"
grep -oE 'CHAOS fault [a-z-]+ injected' "$log" | awk '{print $3}' | sort | uniq -c | sed 's/^/  /' || true
echo "time per run (fleet start to checked):"
grep -oE 'CHAOS ok seed=[0-9]+ .* in [0-9.]+m?s' "$log" | sed -E 's/.* in //' |
  awk '{v=$1; if (v ~ /ms$/) {sub(/ms$/,"",v); v/=1000} else if (v ~ /m/) {split(v,a,"m"); sub(/s$/,"",a[2]); v=a[1]*60+a[2]} else sub(/s$/,"",v);
        v+=0; n++; s+=v; if (v>m) m=v} END {if (n) printf "  mean %.1fs, max %.1fs over %d passing run(s)\n", s/n, m, n}'
grep -E 'CHAOS FAILED' "$log" | sed -E 's/^\s+chaos_test.go:[0-9]+: /  /' || true
if [ "$status" -ne 0 ]; then
  echo "failed; the full log: (see above for the seeds)" >&2
  cat "$log" >&2
fi
exit "$status"
