#!/usr/bin/env bash
# Checks the SPIN model of the task and taskset state machines
# (schema/spin/taskset.pml; docs/model.md says what it proves) in thirteen
# configurations: exhaustive where the state space allows, bit-state beyond,
# and the liveness property under weak fairness on the smallest one. Fails
# on any error, on a search that hits its memory limit, and when the bound
# on trials per task that the code does NOT keep is found kept (the model
# must still find the trace of docs/model.md).
#   scripts/spin.sh          every configuration
#   scripts/spin.sh NAME     one of them (the names below)
set -euo pipefail
cd "$(dirname "$0")/.."
model=$PWD/schema/spin/taskset.pml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | spin -D options | cc options | pan options | expect (ok or fail)
configs=(
  "exhaustive-retries|-DNT=1 -DNA=1 -DMAXT=2 -DDEATHS=0 -DCANCEL=0 -DPERSIST=0 -DHOT=1|-DSAFETY -DNOCLAIM -DCOLLAPSE|-m200000|ok"
  "exhaustive-retries-arbiter|-DNT=1 -DNA=1 -DMAXT=2 -DDEATHS=0 -DCANCEL=0 -DPERSIST=0 -DHOT=0|-DSAFETY -DNOCLAIM -DCOLLAPSE|-m200000|ok"
  "bitstate-faults|-DNT=1 -DNA=1 -DMAXT=1 -DDEATHS=1 -DCANCEL=1|-DSAFETY -DNOCLAIM -DBITSTATE|-m200000 -w24|ok"
  "bitstate-2arbiters|-DNT=1 -DNA=2 -DMAXT=1 -DDEATHS=1 -DCANCEL=1|-DSAFETY -DNOCLAIM -DBITSTATE|-m200000 -w24|ok"
  "exhaustive-maxfail|-DNT=2 -DNA=1 -DMAXT=1 -DDEATHS=0 -DCANCEL=0 -DPERSIST=0 -DHOT=1 -DMAXF=1|-DSAFETY -DNOCLAIM -DCOLLAPSE|-m200000|ok"
  "bitstate-maxfail|-DNT=2 -DNA=1 -DMAXT=1 -DDEATHS=1 -DCANCEL=0 -DMAXF=1|-DSAFETY -DNOCLAIM -DBITSTATE|-m200000 -w24|ok"
  "exhaustive-quarantine|-DNT=2 -DNA=1 -DMAXT=1 -DDEATHS=0 -DCANCEL=0 -DPERSIST=0 -DHOT=1 -DMAXF=1 -DQUAR=1|-DSAFETY -DNOCLAIM -DCOLLAPSE|-m200000|ok"
  "bitstate-quarantine|-DNT=2 -DNA=1 -DMAXT=1 -DDEATHS=1 -DCANCEL=0 -DQUAR=1|-DSAFETY -DNOCLAIM -DBITSTATE|-m200000 -w24|ok"
  "bitstate-2tasks|-DNT=2 -DNA=1 -DMAXT=1 -DDEATHS=1 -DCANCEL=1|-DSAFETY -DNOCLAIM -DBITSTATE|-m200000 -w24|ok"
  "liveness|-DNT=1 -DNA=1 -DMAXT=1 -DDEATHS=0 -DCANCEL=0 -DPERSIST=0 -DHOT=1|-DCOLLAPSE -DNFAIR=3|-a -f -m200000 -N ends|ok"
  "liveness-arbiter|-DNT=1 -DNA=1 -DMAXT=1 -DDEATHS=0 -DCANCEL=0 -DPERSIST=0 -DHOT=0|-DCOLLAPSE -DNFAIR=3|-a -f -m200000 -N ends|ok"
  "liveness-deaths|-DNT=1 -DNA=1 -DMAXT=1 -DDEATHS=1 -DWDEATH=1 -DCANCEL=0|-DBITSTATE -DNFAIR=3|-a -f -m200000 -w24 -N ends|ok"
  "bound|-DNT=1 -DNA=1 -DMAXT=1 -DDEATHS=0 -DCANCEL=0 -DPERSIST=0 -DBOUND=2|-DSAFETY -DNOCLAIM|-m200000|fail"
)

failed=0
for c in "${configs[@]}"; do
  IFS='|' read -r name dopts ccopts panopts expect <<<"$c"
  if [ $# -gt 0 ] && [ "$1" != "$name" ]; then continue; fi
  dir=$work/$name
  mkdir -p "$dir"
  cp "$model" "$dir/"
  (cd "$dir" && spin -a $dopts taskset.pml >spin.out 2>&1) || { cat "$dir/spin.out" >&2; echo "spin: $name: spin -a failed" >&2; exit 1; }
  (cd "$dir" && gcc -O2 -w -DMEMLIM=2048 $ccopts -o pan pan.c) || { echo "spin: $name: cc failed" >&2; exit 1; }
  start=$(date +%s%N)
  (cd "$dir" && nice -n 10 timeout "${SPIN_TIMEOUT:-120}" ./pan $panopts >pan.out 2>&1) || true
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  out=$dir/pan.out
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | tail -1)
  states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$out" | tail -1)
  printf 'spin: %-20s errors %s, %s states stored, %d.%03ds\n' "$name" "${errors:-?}" "${states:-?}" $((ms / 1000)) $((ms % 1000))
  if grep -q 'out of memory\|reached -DMEMLIM' "$out" && [ "$expect" = ok ]; then
    cat "$out" >&2
    echo "spin: $name: the search hit its memory limit (MEMLIM) or did not finish" >&2
    failed=1
    continue
  fi
  if [ -z "$errors" ]; then
    cat "$out" >&2
    echo "spin: $name: pan did not finish" >&2
    failed=1
    continue
  fi
  if [ "$expect" = ok ] && [ "$errors" != 0 ]; then
    cat "$out" >&2
    (cd "$dir" && spin -t -p $dopts taskset.pml 2>&1 | tail -60) >&2 || true
    echo "spin: $name: the model found a violation (trail above)" >&2
    failed=1
  fi
  if [ "$expect" = fail ] && [ "$errors" = 0 ]; then
    echo "spin: $name: expected a trace with more than max_trials+1 trials (docs/model.md); the model no longer finds one: re-check the model and the docs" >&2
    failed=1
  fi
done
exit $failed
