package client_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
)

// finished is a failed run: a passes in 60 s on s1; b fails then passes on
// s2 (flaky); c fails three times on s2.
func finished() *model.Snapshot {
	c3 := trial("failed", 40*time.Second, 5*time.Second, "s2")
	code := 1
	c3.ExitCode = &code
	var out []string
	for i := 1; i <= 100; i++ {
		out = append(out, fmt.Sprintf("line %d", i))
	}
	c3.Stdout = strings.Join(out, "\n") + "\n"
	c3.Stderr = "boom\n"
	c3.OutputPath = "box1:/var/rrr/logs/x/c.out"
	c3.Report = []model.Case{
		{Name: "adds", Classname: "Calc", Status: "failed", Message: "expected 2\ngot 3"},
		{Name: "subtracts", Classname: "Calc", Status: "passed"},
	}
	s := snapshot("failed",
		task("a_spec.rb", "passed", est(50), trial("passed", 0, 60*time.Second, "s1")),
		task("b_spec.rb", "passed", nil, trial("failed", 0, 10*time.Second, "s2"), trial("passed", 10*time.Second, 20*time.Second, "s2")),
		task("c_spec.rb", "failed", nil, trial("timeout", 30*time.Second, 5*time.Second, "s2"),
			trial("error", 35*time.Second, 5*time.Second, "s2"), c3),
	)
	s.FinishedAt = at(70 * time.Second)
	return s
}

func TestBalance(t *testing.T) {
	b := client.ComputeBalance(finished(), time.Time{})
	require.Equal(t, 70*time.Second, b.Wall)
	require.Equal(t, 60*time.Second, b.TestWall, "first trial start to last trial end")
	require.Equal(t, 105*time.Second, b.Work, "every trial counts: 60 + 10 + 20 + 3 x 5")
	require.Equal(t, 2, b.Slaves, "slaves seen in trials when none registered")
	require.Equal(t, 60*time.Second, b.Longest)
	require.Equal(t, "a_spec.rb", b.LongestSpec)
	require.Equal(t, 60*time.Second, b.LowerBound, "max(105 s / 2, 60 s)")
	require.InDelta(t, 1.0, b.Efficiency(), 1e-9)

	// four registered slaves: the longest spec still bounds it
	s := finished()
	s.Slaves = make([]model.Slave, 4)
	b = client.ComputeBalance(s, time.Time{})
	require.Equal(t, 4, b.Slaves)
	require.Equal(t, 60*time.Second, b.LowerBound)

	// one slave, three specs of 10 s run with 5 s gaps: the work bounds it
	s = snapshot("succeeded",
		task("a.rb", "passed", nil, trial("passed", 0, 10*time.Second, "s1")),
		task("b.rb", "passed", nil, trial("passed", 15*time.Second, 10*time.Second, "s1")),
		task("c.rb", "passed", nil, trial("passed", 30*time.Second, 10*time.Second, "s1")))
	b = client.ComputeBalance(s, t0.Add(time.Minute))
	require.Equal(t, 30*time.Second, b.LowerBound)
	require.Equal(t, 40*time.Second, b.TestWall)
	require.InDelta(t, 0.75, b.Efficiency(), 1e-9)
	require.Contains(t, b.String(), "work 30s on 1 slave(s); lower bound 30s = max(work/slaves 30s, longest spec 10s a.rb); efficiency 75%")

	// unfinished: wall up to now
	s = finished()
	s.FinishedAt = model.Time{}
	require.Equal(t, 90*time.Second, client.ComputeBalance(s, t0.Add(90*time.Second)).Wall)
}

func TestFinalTrialAndFlaky(t *testing.T) {
	s := finished()
	require.Equal(t, s.Tasks[0].Trials[0].Key, model.FinalTrial(s.Tasks[0]).Key)
	require.Equal(t, s.Tasks[1].Trials[1].Key, model.FinalTrial(s.Tasks[1]).Key, "the passed trial, not the failed one")
	require.Equal(t, s.Tasks[2].Trials[2].Key, model.FinalTrial(s.Tasks[2]).Key, "the last failure")
	require.Nil(t, model.FinalTrial(task("q.rb", "", nil)))
	require.Nil(t, model.FinalTrial(task("r.rb", "", nil, trial("", 0, -1, "s"))), "a running trial has no result")
	require.False(t, model.IsFlaky(s.Tasks[0]))
	require.True(t, model.IsFlaky(s.Tasks[1]))
	require.False(t, model.IsFlaky(s.Tasks[2]), "failed in the end is not flaky")
	cases := []struct {
		name   string
		trials []model.Trial
		flaky  bool
	}{
		{"a timeout, then a pass", []model.Trial{trial("timeout", 0, time.Second, "s"), trial("passed", time.Second, time.Second, "t")}, true},
		{"a failure that ended before the passing duplicate", []model.Trial{trial("failed", 0, 3*time.Second, "s"), trial("passed", time.Second, 3*time.Second, "t")}, true},
		{"a duplicate stopped after the pass", []model.Trial{trial("passed", 0, 2*time.Second, "s"), trial("error", time.Second, 2*time.Second, "t")}, false},
		{"a duplicate failing after the pass", []model.Trial{trial("passed", 0, 2*time.Second, "s"), trial("failed", time.Second, 2*time.Second, "t")}, false},
		{"a lost slave, then a pass", []model.Trial{trial("error", 0, time.Second, "s"), trial("passed", time.Second, time.Second, "t")}, false},
		{"a bad box's discounted failure, then a pass", []model.Trial{discounted(trial("failed", 0, time.Second, "s")), trial("passed", time.Second, time.Second, "t")}, false},
	}
	for _, tc := range cases {
		require.Equal(t, tc.flaky, model.IsFlaky(task("d.rb", "passed", nil, tc.trials...)), tc.name)
	}
}

func discounted(tr model.Trial) model.Trial {
	tr.FastFailure, tr.Discounted = true, "its last 5 trials failed fast"
	return tr
}

// A worker whose circuit breaker tripped is named in the summary, and its
// discounted trials say they do not count.
func TestWriteSummaryNamesAWorkerThatLeftOnItsBreaker(t *testing.T) {
	var buf bytes.Buffer
	s := snapshot("succeeded",
		task("a_spec.rb", "passed", nil, discounted(trial("failed", 0, time.Second, "bad:slave:1")), trial("passed", time.Second, 2*time.Second, "good:slave:1")))
	s.WorkerLogs = []model.WorkerLog{
		{Worker: "rrrspec:worker:bad", BreakerReason: "its last 5 trials failed fast"},
		{Worker: "rrrspec:worker:good"},
	}
	client.WriteSummary(&buf, &client.Outcome{Key: s.Key, Snapshot: s, Verdict: model.VerdictOf(s.Taskset)}, client.SummaryOptions{})
	out := buf.String()
	require.Contains(t, out, "rrr: worker rrrspec:worker:bad left the taskset because its trials failed fast (circuit breaker: its last 5 trials failed fast)")
	require.NotContains(t, out, "worker rrrspec:worker:good left")
	require.NotContains(t, out, "flaky specs")
	require.Contains(t, client.TrialLine(s.Tasks[0].Trials[0]), "(not counted: its worker's circuit breaker tripped)")
}

func TestWriteSummaryOfAFailedRun(t *testing.T) {
	var buf bytes.Buffer
	s := finished()
	client.WriteSummary(&buf, &client.Outcome{Key: s.Key, Snapshot: s, Verdict: model.VerdictOf(s.Taskset)}, client.SummaryOptions{})
	out := buf.String()
	for _, want := range []string{
		"rrr: rrrspec:taskset:x failed: 3 specs, 2 passed, 1 failed, 1 flaky, in 1m10s",
		"failed specs (1):",
		"== c_spec.rb: failed after 3 trial(s)",
		"trial 1: timeout in 5.0s [s2]",
		"trial 3: failed in 5.0s, exit code 1 [s2]",
		"failed test cases (1):",
		"- Calc adds",
		"       expected 2\n       got 3\n",
		"stdout (last 40 of 100 lines):",
		"     line 100\n",
		"   stderr:\n     boom\n",
		"full output: box1:/var/rrr/logs/x/c.out",
		"flaky specs (1), failed then passed:\n  b_spec.rb: failed, passed",
		"slowest specs:\n     1m00s  a_spec.rb\n       20s  b_spec.rb\n      5.0s  c_spec.rb",
		"balance: wall 1m10s (trials 1m00s), work 1m45s on 2 slave(s); lower bound 1m00s",
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "line 60\n", "only the last 40 lines")
	require.Contains(t, out, "line 61\n")
	require.NotContains(t, out, "log of worker", "no worker logs when tests failed")
}

func TestFailedSpecLeavesOutAGoTestJSONStdout(t *testing.T) {
	s := finished()
	c := &s.Tasks[2].Trials[2]
	var buf bytes.Buffer
	client.WriteFailedSpec(&buf, s.Tasks[2], 40)
	require.Contains(t, buf.String(), "stdout (last 40", "a plain stdout is shown")

	c.Format = "go-test-json"
	buf.Reset()
	client.WriteFailedSpec(&buf, s.Tasks[2], 40)
	out := buf.String()
	require.Contains(t, out, "- Calc adds\n       expected 2", "the failed case carries the test's output")
	require.NotContains(t, out, "stdout", "the JSON lines are not repeated")
	require.Contains(t, out, "stderr:\n     boom", "stderr still is")

	c.Report = nil
	buf.Reset()
	client.WriteFailedSpec(&buf, s.Tasks[2], 40)
	require.Contains(t, buf.String(), "stdout (last 40", "without failed cases the stdout is all there is")
}

func TestWriteSummaryOfASetupFailure(t *testing.T) {
	s := snapshot("failed", task("a.rb", "", nil), task("b.rb", "", nil))
	s.StatusReason = "setup command failed on w1: exit status 2"
	s.WorkerLogs = []model.WorkerLog{{Worker: "rrrspec:worker:w1", Log: "rsync done\nbundle: command not found\n"}}
	var buf bytes.Buffer
	o := &client.Outcome{Key: s.Key, Snapshot: s, Verdict: model.VerdictOf(s.Taskset)}
	require.Equal(t, model.Infra, o.Verdict)
	client.WriteSummary(&buf, o, client.SummaryOptions{})
	out := buf.String()
	require.Contains(t, out, "rrrspec:taskset:x failed (setup command failed on w1: exit status 2): 2 specs, 2 not run")
	require.Contains(t, out, "log of worker rrrspec:worker:w1 (rsync, setup):\n  rsync done\n  bundle: command not found")
	require.NotContains(t, out, "balance:", "no trial, no balance")
}

func TestWriteSummaryOfAnInterruptedWait(t *testing.T) {
	s := snapshot("running", task("a.rb", "passed", nil, trial("passed", 0, time.Second, "s")), task("b.rb", "", nil))
	var buf bytes.Buffer
	client.WriteSummary(&buf, &client.Outcome{Key: s.Key, Snapshot: s, Verdict: model.Infra, Note: "wait timed out after 5m0s"}, client.SummaryOptions{Now: t0.Add(time.Minute)})
	require.Contains(t, buf.String(), "rrrspec:taskset:x is running [wait timed out after 5m0s]: 2 specs, 1 passed, 1 not run")

	buf.Reset()
	client.WriteSummary(&buf, &client.Outcome{Key: "k", Verdict: model.Cancelled, Note: "a second signal: stopped at once"}, client.SummaryOptions{})
	require.Equal(t, "rrr: k: a second signal: stopped at once\n", buf.String())
}

// A failure after other specs on its slave names them and rrr bisect; a
// failure first on its slave says it failed alone.
func TestWriteSummaryOfOrder(t *testing.T) {
	var buf bytes.Buffer
	s := finished()
	client.WriteSummary(&buf, &client.Outcome{Key: s.Key, Snapshot: s, Verdict: model.VerdictOf(s.Taskset)}, client.SummaryOptions{})
	out := buf.String()
	// c's first trial (a timeout) came after b's two on s2
	require.Contains(t, out, "   trial 1 ran after 1 other spec(s) on slave s2; try `rrr bisect x c_spec.rb`\n")
	// b failed first on s2, then passed there after nothing else
	require.Contains(t, out, "  b_spec.rb: failed, passed\n    it failed alone, first on its slave (it passed after 0 on slave s2): no spec before it there is to blame\n")
	require.NotContains(t, out, "bisect x a_spec.rb", "a passed: nothing to say")
}
