#!/usr/bin/env bash
# rrr local --runner pytest against pytest-xdist on one machine: a figure of
# README.md, not a test. The suite is NetworkX's own tests as Debian ships
# them (python3-networkx, 2.8.8 on bookworm: 253 test files), copied into a
# scratch project so that the copy is what the tests import. Runs, on 2
# workers each, one after the other:
#   1. pytest -n 2 --dist loadfile networkx        (pytest-xdist)
#   2. rrr local --slaves 2 --runner pytest 'networkx/**/test_*.py'   (no estimates yet)
#   3. the same again                               (with the estimates of 2)
# and prints the wall times, the ratios rrr/xdist and the passed counts.
# Several minutes on 2 CPUs.
#   scripts/bench-xdist.sh [SLAVES]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_path python3-networkx /usr/lib/python3/dist-packages/networkx
need_path python3-pytest-xdist /usr/lib/python3/dist-packages/xdist
n=${1:-2}
py=/usr/bin/python3 # Debian's, which has pytest, xdist and networkx

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/rrr" ./cmd/rrr
mkdir -p "$work/suite"
cp -r /usr/lib/python3/dist-packages/networkx "$work/suite/"
find "$work/suite" -name __pycache__ -prune -exec rm -rf {} +
files=$(find "$work/suite/networkx" -name 'test_*.py' | wc -l)
export PYTEST_ADDOPTS="-p no:cacheprovider"
# The pytest of the rrr adapter is the one on PATH: Debian's.
export PATH="/usr/bin:$PATH"

# timed CMD...: runs CMD, sets $wall and $cpu (user + system seconds of CMD
# and everything below it that was waited for: slaves, runners, trials).
TIMEFORMAT='%R %U %S'
timed() {
  local t
  t=$({ time "$@" >"$out" 2>&1; } 2>&1 | tail -1) || true
  wall=$(echo "$t" | awk '{print $1}')
  cpu=$(echo "$t" | awk '{print $2 + $3}')
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
cd "$work/suite"
out="$work/xdist.log" timed "$py" -m pytest -n "$n" --dist loadfile -q networkx
xdist=$wall xcpu=$cpu
xsum=$(tail -1 "$work/xdist.log")

runs=()
cpus=()
sums=()
for run in 1 2; do
  out="$work/rrr$run.log" timed "$work/rrr" local --slaves "$n" --runner pytest --results-dir "$work/results" 'networkx/**/test_*.py'
  runs+=("$wall")
  cpus+=("$cpu")
  sums+=("$(grep -E 'rrr: .*(succeeded|failed):' "$work/rrr$run.log" | tail -1)")
done

cases() { # passed/failed/skipped cases of an rrr run, from its results
  local id
  id=$(grep -o 'rrr show --results-dir [^ ]* [^ )]*' "$1" | awk '{print $NF}')
  "$work/rrr" show --results-dir "$work/results" --json "$id" 2>/dev/null | "$py" -c '
import json, sys
s = json.load(sys.stdin)
p = f = k = 0
for t in s["tasks"]:
    tr = [x for x in t["trials"] if x["status"] in ("passed", "pending", "failed")]
    if tr:
        last = tr[-1]
        p += last["passed"]; f += last["failed"]; k += last["pending"]
print("%d passed, %d failed, %d pending (skipped) cases" % (p, f, k))'
}

echo "suite: NetworkX $("$py" -c 'import networkx; print(networkx.__version__)') tests (Debian python3-networkx), $files test files; $(nproc) CPU(s); $n workers"
echo "load average before and after: $load0 / $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| run | wall | wall / xdist | CPU (user+sys) | outcome |\n|---|---|---|---|---|\n'
printf '| pytest -n %s --dist loadfile | %.1f s | 1.00 | %.1f s | %s |\n' "$n" "$xdist" "$xcpu" "$xsum"
for i in 0 1; do
  printf '| rrr local --slaves %s --runner pytest, run %d | %.1f s | %.2f | %.1f s | %s; %s |\n' "$n" $((i + 1)) "${runs[$i]}" \
    "$(echo "${runs[$i]} / $xdist" | bc -l)" "${cpus[$i]}" "${sums[$i]#rrr: }" "$(cases "$work/rrr$((i + 1)).log")"
done
