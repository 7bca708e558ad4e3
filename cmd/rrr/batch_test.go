package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// batchRunner is a trial command for several spec files at once: one JUnit
// report with a case per file (file="./t/x.sh"). A file saying FAIL fails;
// CRASH kills the batch it is in (alone it passes); STRAY, in a batch,
// adds a failed case of a file outside the batch.
const batchRunner = `report=$1; shift
n=$#
for f in "$@"; do
  if grep -q CRASH "$f" && [ $n -gt 1 ]; then kill -KILL $$; fi
done
{
  echo '<testsuite>'
  for f in "$@"; do
    if grep -q FAIL "$f"; then
      echo "<testcase name=\"t\" file=\"$f\"><failure message=\"boom\"/></testcase>"
    else
      echo "<testcase name=\"t\" file=\"$f\" time=\"0.01\"/>"
    fi
    if grep -q STRAY "$f" && [ $n -gt 1 ]; then
      echo "<testcase name=\"x\" file=\"./elsewhere.sh\"><failure message=\"stray\"/></testcase>"
    fi
  done
  echo '</testsuite>'
} > "$report"
for f in "$@"; do if grep -q FAIL "$f"; then exit 1; fi; done
exit 0
`

// batchSuite is a project of 9 spec files t/a.sh .. t/i.sh, largest
// first (the order of a first run), with the given contents.
func batchSuite(t *testing.T, special map[string]string) string {
	files := map[string]string{"run.sh": batchRunner}
	for i, name := range strings.Split("abcdefghi", "") {
		text := special[name] + "\n" + strings.Repeat("#", 100*(9-i)) + "\n"
		files["t/"+name+".sh"] = text
	}
	return project(t, files)
}

func TestLocalBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	bin := build(t)
	args := func(dir string) []string {
		return []string{"--slaves", "1", "--max-trials", "2", "--dir", dir, "--format", "junit",
			"--trial-command", "sh run.sh {report} {files}", "t/*.sh"}
	}

	t.Run("each spec of a batch has its own verdict; a failed one is retried alone", func(t *testing.T) {
		dir := batchSuite(t, map[string]string{"e": "FAIL"})
		report := filepath.Join(t.TempDir(), "junit.xml")
		code, out, s := runLocal(t, bin, t.TempDir(), append([]string{"--junit", report}, args(dir)...)...)
		require.Equal(t, 1, code, out)
		require.NotNil(t, s, out)
		require.Contains(t, out, "of 3 spec files)", "the summary says the failed spec's first trial ran in a batch")
		xml, err := os.ReadFile(report)
		require.NoError(t, err)
		require.Equal(t, 9, strings.Count(string(xml), "<testsuite "), "one suite per spec file")
		require.Equal(t, 8, strings.Count(string(xml), `name="rrr.batch"`), "the 8 that passed in a batch say so; e.sh's final trial ran alone")
		require.Contains(t, out, "batches: up to 3 spec files")
		require.Equal(t, 8, s.SucceededCount, out)
		require.Equal(t, 1, s.FailedCount, out)
		for _, task := range s.Tasks {
			require.NotEmpty(t, task.Trials, task.SpecFile)
			first := task.Trials[0]
			require.Equal(t, 3, first.BatchSize, "%s ran in a batch of 3 (9 specs, 1 slave)", task.SpecFile)
			require.NotEmpty(t, first.Batch)
			require.Positive(t, first.BatchShareSec)
			require.Len(t, first.Report, 1, "%s: its own case only", task.SpecFile)
			if task.SpecFile == "t/e.sh" {
				require.Equal(t, "failed", task.Status)
				require.Len(t, task.Trials, 2)
				require.Equal(t, "failed", first.Status)
				require.Empty(t, task.Trials[1].Batch, "the retry of a spec that failed in a batch runs alone")
				continue
			}
			require.Equal(t, "passed", task.Status, task.SpecFile)
			require.Len(t, task.Trials, 1, "%s passed in its batch", task.SpecFile)
		}
		// d and f shared the batch of e, and passed there.
		require.Equal(t, taskOf(s, "t/e.sh").Trials[0].Batch, taskOf(s, "t/d.sh").Trials[0].Batch)
	})

	t.Run("a batch that crashes or whose report names a file outside it: each spec is retried alone", func(t *testing.T) {
		dir := batchSuite(t, map[string]string{"b": "CRASH", "h": "STRAY"})
		code, out, s := runLocal(t, bin, t.TempDir(), args(dir)...)
		require.Equal(t, 0, code, out)
		require.NotNil(t, s, out)
		require.Equal(t, 9, s.SucceededCount, out)
		for _, spec := range []string{"t/a.sh", "t/b.sh", "t/c.sh", "t/g.sh", "t/h.sh", "t/i.sh"} {
			task := taskOf(s, spec)
			require.Equal(t, "passed", task.Status, spec)
			require.Len(t, task.Trials, 2, spec)
			first, second := task.Trials[0], task.Trials[1]
			require.Equal(t, "error", first.Status, spec)
			require.Equal(t, 3, first.BatchSize, spec)
			want := "crashed"
			if spec >= "t/g.sh" {
				want = "name no spec file of the batch"
			}
			require.Contains(t, first.Error, want, spec)
			require.Contains(t, first.Error, "retried alone", spec)
			require.Equal(t, "passed", second.Status, spec)
			require.Empty(t, second.Batch, spec)
		}
		for _, spec := range []string{"t/d.sh", "t/e.sh", "t/f.sh"} {
			require.Len(t, taskOf(s, spec).Trials, 1, spec)
		}
	})

	t.Run("{files} is refused with a format that cannot tell the files apart, or inside a word", func(t *testing.T) {
		dir := batchSuite(t, nil)
		for _, tc := range []struct{ cmd, format, want string }{
			{"sh run.sh {report} {files}", "exit-code", "only a report that names the file"},
			{"sh run.sh --x={files}", "junit", "must be a word of its own"},
			{"sh run.sh {file} {files}", "junit", "not both"},
		} {
			code, out, _ := runLocal(t, bin, t.TempDir(), "--dir", dir, "--format", tc.format, "--trial-command", tc.cmd, "t/*.sh")
			require.Equal(t, 2, code, out)
			require.Contains(t, out, tc.want, fmt.Sprint(tc))
		}
	})
}
