#!/usr/bin/env bash
# The test command of README.md: installs what the tests need when it is
# missing (redis-server, redis-sentinel, openssl, rsync; ruby-rspec and python3-pytest for the result
# format samples; ruby-redis for the original client's test; chromium for the
# dashboard's browser test), then checks formatting, vets, and runs every test: with
# -race on the packages with concurrency, the end-to-end tests (with the
# short fault-injection cases and 2 randomized fault runs; scripts/fault.sh
# and scripts/chaos.sh run the long ones) once, with the SPIN model
# (scripts/spin.sh) beside them.
#   scripts/test.sh            everything
#   scripts/test.sh -short     skip the slow end-to-end cases
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
need redis-server redis-server
need redis-sentinel redis-sentinel # the Sentinel failover test (cmd/rrr/failover_test.go)
need openssl openssl # certificates of the TLS tests (pkg/redistest/tls.go)
need rsync rsync
need ruby-rspec rspec
need python3-pytest pytest-3 pytest
need spin spin # the model checker of scripts/spin.sh (schema/spin/taskset.pml)
need gcc gcc # spin compiles its verifier (pan.c) with it
need chromium chromium # headless, for the dashboard's browser test (cmd/rrr/web_test.go)
need_ruby_lib ruby-redis redis # the original RRRSpec client's Redis library, for its compatibility test
export RRR_REQUIRE_REDIS=1 # a missing redis-server fails the tests instead of skipping them
export RRR_REQUIRE_CHROMIUM=1 # and so does a missing chromium

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...

# Unit and loop tests with the race detector; the end-to-end tests in
# cmd/rrr start real processes and run once, without it.
go test -race -count=1 "$@" $(go list ./... | grep -v '/cmd/rrr$')

# The SPIN model of the task and taskset state machines (docs/model.md),
# at the lowest priority beside the end-to-end tests, which mostly wait on
# their processes: about 100 s of CPU that would otherwise add to the wall
# (each search may take up to 10 minutes of wall there: SPIN_TIMEOUT).
spinlog=$(mktemp)
SPIN_TIMEOUT=${SPIN_TIMEOUT:-600} nice -n 19 scripts/spin.sh >"$spinlog" 2>&1 &
spin=$!
e2e=0
go test -count=1 -timeout 20m "$@" ./cmd/rrr || e2e=$?
spinstatus=0
wait "$spin" || spinstatus=$?
cat "$spinlog"
rm -f "$spinlog"
if [ "$spinstatus" -ne 0 ]; then
  echo "scripts/spin.sh failed (exit $spinstatus)" >&2
fi
if [ "$e2e" -ne 0 ] || [ "$spinstatus" -ne 0 ]; then
  exit 1
fi
