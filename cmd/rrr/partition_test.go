package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
)

// goPartitionSuite is a Go module with a package "big" of the given tests
// (each sleeps a little, so that the package is the suite's longest spec)
// and a package "small" of one quick test.
func goPartitionSuite(t *testing.T, tests []string) string {
	dir := project(t, map[string]string{
		"go.mod":              "module example.com/parts\n\ngo 1.21\n",
		"small/small_test.go": "package small\n\nimport \"testing\"\n\nfunc TestSmall(t *testing.T) {}\n",
	})
	writeBigTests(t, dir, tests)
	return dir
}

func writeBigTests(t *testing.T, dir string, tests []string) {
	var b strings.Builder
	b.WriteString("package big\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n")
	for _, name := range tests {
		fmt.Fprintf(&b, "\nfunc %s(t *testing.T) { time.Sleep(200 * time.Millisecond) }\n", name)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "big"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big", "big_test.go"), []byte(b.String()), 0o644))
}

func TestLocalPartitions(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	bin := build(t)
	tests := []string{"TestA", "TestB", "TestC", "TestD", "TestE", "TestF"}
	dir := goPartitionSuite(t, tests)
	results := t.TempDir() // shared: the first run's cases split the second's
	gocache := []string{"GOCACHE=" + filepath.Join(results, "gocache"), "GOFLAGS=-count=1"}
	args := func(extra ...string) []string {
		return append(append([]string{"--slaves", "2", "--max-trials", "1", "--dir", dir, "--format", "go-test-json",
			"--partition-target", "0.3s", "--trial-command", "go test -json {cases}"}, extra...), "big", "small")
	}
	run := func(extra ...string) (int, string, *model.Snapshot) {
		code, out, s := runLocalEnv(t, gocache, bin, results, args(extra...)...)
		require.NotNil(t, s, out)
		return code, out, s
	}

	// First run: nothing known, each package runs whole and its cases are recorded.
	code, out, s := run()
	require.Equal(t, 0, code, out)
	require.Len(t, s.Tasks, 2, out)
	require.NotContains(t, out, "partitions:")

	// Second run: big is longer than the target and runs in partitions.
	report := filepath.Join(t.TempDir(), "junit.xml")
	code, out, s = run("--junit", report)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "partitions: 1 spec file(s) longer than 0.3s run in")
	var parts []model.Task
	seen := map[string]int{}
	for _, task := range s.Tasks {
		if task.SpecFile == "big" {
			require.NotEmpty(t, task.Partition(), "every task of big is a partition: %s", task.Key)
			parts = append(parts, task)
		} else {
			require.Empty(t, task.Partition(), task.Key)
		}
		require.Equal(t, "passed", task.Status, task.Key)
		for _, c := range client0(task).Report {
			if task.SpecFile == "big" {
				seen[c.Name]++
			}
		}
		require.Empty(t, client0(task).PartitionNote, "the cases that ran are the planned ones: %s", task.Key)
	}
	require.GreaterOrEqual(t, len(parts), 2, out)
	require.NotNil(t, s.Partitions[parts[0].Name()], "the taskset says what each partition runs")
	for _, name := range tests {
		require.Equal(t, 1, seen[name], "%s ran in exactly one partition: %v", name, seen)
	}
	xml, err := os.ReadFile(report)
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(string(xml), "<testsuite "), "one suite per spec file:\n%s", xml)
	require.Contains(t, string(xml), fmt.Sprintf(`<property name="rrr.partitions" value="%d">`, len(parts)))
	require.Equal(t, len(tests), strings.Count(string(xml), `classname="example.com/parts/big"`), "big's suite has all its cases")
	show := spawn(t, bin, "show", "--results-dir", results, "--verbose", s.ID)
	require.Equal(t, 0, show.exit(t, 30*time.Second), show.stderr.String())
	require.Contains(t, show.stdout.String(), fmt.Sprintf("in %d partitions", len(parts)), show.stdout.String())
	require.Equal(t, 1, strings.Count(show.stdout.String(), "  passed  big "), "one line for big:\n%s", show.stdout.String())
	require.Contains(t, show.stdout.String(), fmt.Sprintf("trial 1: partition p1of%d: passed", len(parts)), "--verbose names each trial's partition")

	// Third run: the cases changed since the second. A partition whose
	// cases are all gone ran nothing, which is an error, not a pass; the
	// new cases run in the partition that takes the rest, and say so.
	writeBigTests(t, dir, []string{"TestX", "TestY"})
	code, out, s = run()
	require.Equal(t, 4, code, "partitions that matched no case are errors:\n%s", out)
	require.Contains(t, out, "matched no case of big")
	var rest *model.Trial
	for _, task := range s.Tasks {
		if p := s.Partitions[task.Name()]; p.Rest {
			rest = client0(task)
		}
	}
	require.NotNil(t, rest, out)
	require.Equal(t, "passed", rest.Status, out)
	require.Contains(t, rest.PartitionNote, "TestX, TestY", "the new cases ran, and the trial says they were not planned")
	require.Contains(t, out, "cases: ", "the summary shows the note")
}

// client0 is a task's first trial.
func client0(t model.Task) *model.Trial {
	if len(t.Trials) == 0 {
		return &model.Trial{}
	}
	return &t.Trials[0]
}

func TestLocalPartitionsPytest(t *testing.T) {
	for _, tc := range []struct{ name, how string }{
		{"trial command", "--trial-command=pytest -q -p no:cacheprovider --junitxml {report} {cases}"},
		{"runner", "--runner=pytest -q -p no:cacheprovider"},
	} {
		t.Run(tc.name, func(t *testing.T) { testLocalPartitionsPytest(t, tc.how) })
	}
}

// testLocalPartitionsPytest runs a long pytest file twice: whole, then in
// partitions of its node ids, with how (a trial command of {cases}, or
// the pytest runner, which is handed each partition's cases).
func testLocalPartitionsPytest(t *testing.T, how string) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	if _, err := exec.LookPath("pytest"); err != nil {
		t.Skip("pytest is not installed")
	}
	bin := build(t)
	dir := project(t, map[string]string{
		"tests/test_big.py": "import time\n\ndef test_a(): time.sleep(0.2)\n\ndef test_b(): time.sleep(0.2)\n\n" +
			"class TestK:\n    def test_c(self): time.sleep(0.2)\n\n    def test_d(self): time.sleep(0.2)\n",
		"tests/test_small.py": "def test_s(): pass\n",
	})
	results := t.TempDir()
	args := []string{"--slaves", "2", "--max-trials", "1", "--dir", dir, "--format", "junit", "--partition-target", "0.3s",
		how, "tests/test_*.py"}
	code, out, _ := runLocal(t, bin, results, args...)
	require.Equal(t, 0, code, out)
	code, out, s := runLocal(t, bin, results, args...)
	require.Equal(t, 0, code, out)
	require.NotNil(t, s, out)
	seen := map[string]int{}
	parts := 0
	for _, task := range s.Tasks {
		if task.SpecFile != "tests/test_big.py" {
			continue
		}
		require.NotEmpty(t, task.Partition(), "every task of the long file is a partition: %s", task.Key)
		parts++
		require.Equal(t, "passed", task.Status, task.Key)
		require.Empty(t, client0(task).PartitionNote, task.Key)
		for _, c := range client0(task).Report {
			seen[c.Classname+"."+c.Name]++
		}
	}
	require.GreaterOrEqual(t, parts, 2, out)
	require.Equal(t, map[string]int{"tests.test_big.test_a": 1, "tests.test_big.test_b": 1,
		"tests.test_big.TestK.test_c": 1, "tests.test_big.TestK.test_d": 1}, seen, "each case ran in one partition, by its node id")
}

// RSpec files split by example ids; an example added since the cases were
// known runs in the rest partition, which excludes the others' examples.
func TestLocalPartitionsRSpec(t *testing.T) {
	for _, tc := range []struct{ name, how string }{
		{"trial command", "--trial-command=rspec --format json --out {report} {cases}"},
		{"runner", "--runner=rspec"},
	} {
		t.Run(tc.name, func(t *testing.T) { testLocalPartitionsRSpec(t, tc.how) })
	}
}

func testLocalPartitionsRSpec(t *testing.T, how string) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	if _, err := exec.LookPath("rspec"); err != nil {
		t.Skip("rspec is not installed")
	}
	bin := build(t)
	big := func(extra string) string {
		return "RSpec.describe 'big' do\n  it('a') { sleep 0.2 }\n  it('b') { sleep 0.2 }\n" +
			"  context 'k' do\n    it('c') { sleep 0.2 }\n    it('d') { sleep 0.2 }\n  end\n" + extra + "end\n"
	}
	dir := project(t, map[string]string{
		"spec/big_spec.rb":   big(""),
		"spec/small_spec.rb": "RSpec.describe('small') { it('s') {} }\n",
	})
	results := t.TempDir()
	args := []string{"--slaves", "2", "--max-trials", "1", "--dir", dir, "--format", "rspec-json", "--partition-target", "0.3s",
		how, "spec/*_spec.rb"}
	ran := func(s *model.Snapshot) (map[string]int, int) {
		seen, parts := map[string]int{}, 0
		for _, task := range s.Tasks {
			if task.SpecFile != "spec/big_spec.rb" {
				continue
			}
			require.NotEmpty(t, task.Partition(), "every task of the long file is a partition: %s", task.Key)
			parts++
			require.Equal(t, "passed", task.Status, task.Key)
			for _, c := range client0(task).Report {
				seen[c.Name]++
			}
		}
		return seen, parts
	}
	code, out, _ := runLocal(t, bin, results, args...)
	require.Equal(t, 0, code, out)
	code, out, s := runLocal(t, bin, results, args...)
	require.Equal(t, 0, code, out)
	seen, parts := ran(s)
	require.GreaterOrEqual(t, parts, 2, out)
	require.Equal(t, map[string]int{"big a": 1, "big b": 1, "big k c": 1, "big k d": 1}, seen, "each example ran in one partition")
	for _, task := range s.Tasks {
		require.Empty(t, client0(task).PartitionNote, task.Key)
	}

	// An example new since the cases were known: the rest partition runs it.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "spec/big_spec.rb"), []byte(big("  it('e') { sleep 0.2 }\n")), 0o644))
	code, out, s = runLocal(t, bin, results, args...)
	require.Equal(t, 0, code, out)
	seen, _ = ran(s)
	require.Equal(t, map[string]int{"big a": 1, "big b": 1, "big k c": 1, "big k d": 1, "big e": 1}, seen,
		"the new example ran once, in the rest partition")
}
