#!/usr/bin/env bash
# Batches against `go test ./...` on one machine: a figure of README.md,
# not a test. The suite is golang.org/x/text (48 packages with tests, from
# the Go module proxy), copied into a scratch directory. With the build
# cache warm (one `go test -run '^$' ./...` first), it runs, one after the
# other:
#   1. go test -count=1 ./...                                   (the baseline)
#   2. rrr local --slaves N, one package per trial ({file})
#   3. rrr local --slaves N with batches ({files}), no estimates yet
#   4. the same again, with the estimates of 3
#   5. the same with --batch-target 10s (fewer, bigger batches)
# and prints the wall times, the ratios against 1, and the packages passed.
#   scripts/bench-batch.sh [SLAVES]     (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2}
mod=golang.org/x/text
ver=${BENCH_BATCH_VERSION:-v0.44.0}

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/rrr" ./cmd/rrr
(cd "$work" && go mod init scratch >/dev/null 2>&1 && GOFLAGS=-mod=mod go mod download "$mod@$ver")
cp -r "$(go env GOMODCACHE)/$mod@$ver" "$work/suite"
chmod -R u+w "$work/suite"
cd "$work/suite"
export GOFLAGS=-mod=mod
pkgs=$(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}' ./... | sed "s|^$PWD/||" | sort)
count=$(echo "$pkgs" | wc -l)
echo "bench-batch: $mod@$ver, $count packages with tests, $n slave(s), $(nproc) CPU(s)" >&2
go test -count=1 -run '^$' ./... >/dev/null 2>&1 || true # warm the build cache

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# timed OUT CMD...: runs CMD with its output in OUT; sets $wall and $cpu
# (user + system seconds of CMD and everything below it that was waited
# for), so that a wall time can be told apart from the work done.
TIMEFORMAT='%R %U %S'
timed() {
  local out=$1 t
  shift
  t=$({ time "$@" >"$out" 2>&1; } 2>&1 | tail -1) || true
  wall=$(echo "$t" | awk '{printf "%.1f", $1}')
  cpu=$(echo "$t" | awk '{printf "%.1f", $2 + $3}')
}

timed "$work/gotest.out" go test -count=1 ./...
base=$wall
okpk=$(grep -c '^ok' "$work/gotest.out" || true)
echo "go test ./...:                   ${base}s wall, ${cpu}s CPU on $(nproc) CPU(s), $okpk packages ok"

results=$work/results
run() { # label, trial command, more rrr flags
  # shellcheck disable=SC2086
  timed "$work/rrr.out" "$work/rrr" local --slaves "$n" --results-dir "$results" --format go-test-json --max-trials 1 \
    --taskset-class bench --trial-command "$2" ${3:-} $pkgs
  printf '%-32s %ss wall (%sx go test), %ss CPU, %s\n' "$1:" "$wall" "$(ratio "$wall" "$base")" "$cpu" \
    "$(grep -oE 'succeeded: [0-9]+ specs, [0-9]+ passed|failed: [0-9]+ specs[^,]*, [0-9]+ passed[^,]*(, [0-9]+ failed)?' "$work/rrr.out" | head -1)"
  grep -oE 'batches: [^;]*' "$work/rrr.out" | head -1 | sed 's/^/    /' || true
}
run "rrr local, one package a trial" "go test -count=1 -json {file}"
rm -rf "$results"
run "rrr local, batches (cold)" "go test -count=1 -json {files}"
run "rrr local, batches (estimates)" "go test -count=1 -json {files}"
# Fewer, bigger batches: each `go test` plans its build again.
run "rrr local, batches of 10s" "go test -count=1 -json {files}" "--batch-target 10s"
