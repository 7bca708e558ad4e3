package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// caseFramework is a test "framework" in sh that speaks go test -json: a
// spec file lists its cases, "NAME SECONDS" a line, and each case sleeps
// that long. {cases} gives it -run RE or -skip RE (pkg/partition's Go
// style) before the spec file.
const caseFramework = `mode=all; list=
case "$1" in -run|-skip) mode=$1; list=$2; shift 2;; esac
# ^(A|B)$ of names without metacharacters: "|A|B|", matched without a fork
list="|${list#^(}"; list="${list%)\$}|"
spec=$1; pkg=${spec#./}
while read -r name secs; do
  case "$mode:$list" in
    -run:*"|$name|"*|all:*) ;;
    -run:*) continue;;
    -skip:*"|$name|"*) continue;;
  esac
  echo "{\"Action\":\"run\",\"Package\":\"$pkg\",\"Test\":\"$name\"}"
  sleep "$secs"
  echo "{\"Action\":\"pass\",\"Package\":\"$pkg\",\"Test\":\"$name\",\"Elapsed\":$secs}"
done < "$spec"
echo "{\"Action\":\"pass\",\"Package\":\"$pkg\",\"Elapsed\":0}"
`

// BenchmarkPartitions runs a suite with one spec file of many cases that
// is longer than work / slaves on 16 slaves (rrr local): a first run, which
// has no estimates and runs it whole, and a second, which splits it by the
// cases the first recorded. It prints the makespans against the bound
// max(work / slaves, longest case).
func BenchmarkPartitions(b *testing.B) {
	const slaves, bigCases, bigCase, smalls, small = 16, 64, 500 * time.Millisecond, 32, 500 * time.Millisecond
	bin := build(b)
	work := bigCases*bigCase + smalls*small
	bound := max(work/slaves, bigCase)
	for range b.N {
		files := map[string]string{"fw.sh": caseFramework}
		var big strings.Builder
		for i := range bigCases {
			fmt.Fprintf(&big, "TestBig%02d %.3f\n", i, bigCase.Seconds())
		}
		files["big.spec"] = big.String()
		for i := range smalls {
			files[fmt.Sprintf("small/s%02d.spec", i)] = fmt.Sprintf("TestSmall %.3f\n", small.Seconds())
		}
		dir := project(b, files)
		results := b.TempDir()
		how := fmt.Sprintf("rrr local --slaves %d; big.spec: %d cases of %s; %d specs of %s; work %s",
			slaves, bigCases, bigCase, smalls, small, work)
		figure(b, "partitions: lower bound max(work/slaves, longest case)", bound.Round(10*time.Millisecond).String(), how)
		for run := 1; run <= 2; run++ {
			code, out, s := runLocalEnv(b, nil, bin, results, "--slaves", fmt.Sprint(slaves), "--dir", dir,
				"--format", "go-test-json", "--trial-command", "sh fw.sh {cases}", "big.spec", "small/*.spec")
			require.Equal(b, 0, code, out)
			require.NotNil(b, s, out)
			first, last, trials, measured := span(s)
			makespan := last.Sub(first)
			what, tasks := "partitions: before (first run: big.spec whole)", len(s.Tasks)
			if run == 2 {
				what = "partitions: after (second run: split by the first run's cases)"
				require.Greater(b, tasks, smalls+1, "the second run splits big.spec:\n%s", out)
			}
			b.ReportMetric(float64(makespan)/float64(bound), fmt.Sprintf("makespan/bound-run%d", run))
			figure(b, what, fmt.Sprintf("%s (%.2fx the bound); %d tasks, %d trials, measured work %s", makespan.Round(10*time.Millisecond),
				float64(makespan)/float64(bound), tasks, trials, measured.Round(100*time.Millisecond)), how)
		}
	}
}
