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

secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b - a) / 1e9}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

t0=$(date +%s%N)
go test -count=1 ./... >"$work/gotest.out" 2>&1 || true
t1=$(date +%s%N)
base=$(secs "$t0" "$t1")
okpk=$(grep -c '^ok' "$work/gotest.out" || true)
echo "go test ./...:                   ${base}s wall, $okpk packages ok"

results=$work/results
run() { # label, trial command, more rrr flags
  local s e w
  s=$(date +%s%N)
  # shellcheck disable=SC2086
  "$work/rrr" local --slaves "$n" --results-dir "$results" --format go-test-json --max-trials 1 \
    --taskset-class bench --trial-command "$2" ${3:-} $pkgs >"$work/rrr.out" 2>&1 || true
  e=$(date +%s%N)
  w=$(secs "$s" "$e")
  printf '%-32s %ss wall (%sx go test), %s\n' "$1:" "$w" "$(ratio "$w" "$base")" \
    "$(grep -oE 'succeeded: [0-9]+ specs, [0-9]+ passed|failed: [0-9]+ specs[^,]*, [0-9]+ passed[^,]*(, [0-9]+ failed)?' "$work/rrr.out" | head -1)"
  grep -oE 'batches: [^;]*' "$work/rrr.out" | head -1 | sed 's/^/    /' || true
}
run "rrr local, one package a trial" "go test -count=1 -json {file}"
rm -rf "$results"
run "rrr local, batches (cold)" "go test -count=1 -json {files}"
run "rrr local, batches (estimates)" "go test -count=1 -json {files}"
# Fewer, bigger batches: each `go test` plans its build again.
run "rrr local, batches of 10s" "go test -count=1 -json {files}" "--batch-target 10s"
