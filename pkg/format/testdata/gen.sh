#!/usr/bin/env bash
# Regenerates the result-format samples with the real tools, from the tiny
# suites in src/ (each passes, fails and skips on purpose):
#   rspec + rspec_junit_formatter (Debian: ruby-rspec ruby-rspec-junit-formatter)
#   pytest (python3-pytest), go, perl + prove (Test::More).
# Run it from anywhere, or: go generate ./pkg/format
# The tests check exact counts and messages: after regenerating, run
# go test ./pkg/format and look at what changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$here/src/." "$work/"
pytest=$(command -v pytest-3 || command -v pytest)

# Every run below exits non-zero: the samples fail on purpose.
cd "$work/rspec"
rspec --format json --out "$here/rspec.json" spec/sample_spec.rb >/dev/null || true
rspec --format json --out "$here/rspec-load-error.json" spec/broken_spec.rb >/dev/null 2>&1 || true
rspec --require rspec_junit_formatter --format RspecJunitFormatter --out "$here/rspec-junit.xml" \
  spec/sample_spec.rb >/dev/null || true

cd "$work/pytest"
"$pytest" -q -p no:cacheprovider --junitxml="$here/pytest.xml" test_sample.py >/dev/null || true

cd "$work/gotest"
export GOWORK=off GOTOOLCHAIN=local GOFLAGS=
for pkg in ok broken crash; do
  go test -json -count=1 "./$pkg" >"$here/gotest-$pkg.json" 2>/dev/null || true
done

cd "$work/tap"
for t in sample bail died; do
  perl "t/$t.t" >"$here/tap-$t.tap" 2>/dev/null || true
done
prove -v --merge t/sample.t >"$here/prove-sample.txt" 2>/dev/null || true
