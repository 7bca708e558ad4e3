package client_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
)

func TestComputeProgress(t *testing.T) {
	now := t0.Add(100 * time.Second)
	s := snapshot("running",
		task("done_spec.rb", "passed", est(10), trial("passed", 10*time.Second, 20*time.Second, "s1")),
		task("bad_spec.rb", "failed", nil, trial("failed", 10*time.Second, 5*time.Second, "s2")),
		// running for 30 s with an estimate of 50 s: 20 s left
		task("slow_spec.rb", "", est(50), trial("", 70*time.Second, -1, "s1")),
		// failed once, running again for 10 s without an estimate: the mean
		// of passed trials (20 s) stands in: 10 s left
		task("flaky_spec.rb", "", nil, trial("failed", 20*time.Second, 5*time.Second, "s2"), trial("", 90*time.Second, -1, "s2")),
		// queued, estimate 40 s
		task("queued_spec.rb", "", est(40)),
	)
	s.WorkerLogs = []model.WorkerLog{{Worker: "w1"}}
	s.Slaves = []model.Slave{{Key: "s1", Alive: true}, {Key: "s2", Alive: true}, {Key: "dead", Alive: false}}

	p := client.ComputeProgress(s, now)
	require.Equal(t, 5, p.Total)
	require.Equal(t, 2, p.Done)
	require.Equal(t, 1, p.Failed)
	require.Equal(t, 1, p.Retrying)
	require.Equal(t, []client.RunningSpec{{"slow_spec.rb", 30 * time.Second}, {"flaky_spec.rb", 10 * time.Second}}, p.Running)
	require.Equal(t, 100*time.Second, p.Elapsed)
	// left: 20 + 10 + 40 = 70 s over 2 live slaves = 35 s; the longest left is 40 s
	require.True(t, p.ETAKnown)
	require.Equal(t, 40*time.Second, p.ETA)

	line := p.String()
	for _, want := range []string{"2/5 done", "1 failed", "1 retrying", "2 running (slow_spec.rb 30s, flaky_spec.rb 10s)", "elapsed 1m40s", "ETA 40s"} {
		require.Contains(t, line, want)
	}

	// with more slaves the work dominates: 70 s / 1 slave
	s.Slaves = []model.Slave{{Key: "s1", Alive: true}}
	require.Equal(t, 70*time.Second, client.ComputeProgress(s, now).ETA)
}

func TestProgressETAUnknownAndPhases(t *testing.T) {
	s := snapshot("running", task("a.rb", "", nil), task("b.rb", "", est(5)))
	p := client.ComputeProgress(s, t0.Add(3*time.Second))
	require.False(t, p.ETAKnown, "no estimate, no passed trial, no slave")
	require.Contains(t, p.String(), `waiting for a worker of type "default"`)
	require.Contains(t, p.String(), "ETA unknown")

	s.WorkerLogs = []model.WorkerLog{{Worker: "w1"}, {Worker: "w2"}}
	require.Contains(t, client.ComputeProgress(s, t0).String(), "setting up on 2 worker(s)")

	done := snapshot("succeeded", task("a.rb", "passed", nil, trial("passed", 0, time.Second, "s")))
	p = client.ComputeProgress(done, t0.Add(5*time.Second))
	require.Equal(t, "1/1 done, elapsed 5.0s", p.String())
}

func TestRunningListIsShortened(t *testing.T) {
	var tasks []model.Task
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		tasks = append(tasks, task(n+".rb", "", est(1), trial("", 0, -1, "s")))
	}
	line := client.ComputeProgress(snapshot("running", tasks...), t0.Add(time.Second)).String()
	require.Contains(t, line, "5 running (a.rb 1.0s, b.rb 1.0s, c.rb 1.0s, +2)")
}

func TestPrinterOnALogPrintsOnChangeOrEveryTenSeconds(t *testing.T) {
	var buf bytes.Buffer
	pr := &client.Printer{W: &buf}
	p := client.Progress{Total: 10}
	lines := func() int { return strings.Count(buf.String(), "\n") }

	pr.Update(p, t0)
	require.Equal(t, 1, lines(), "the first update prints")
	pr.Update(p, t0.Add(500*time.Millisecond))
	require.Equal(t, 1, lines(), "nothing changed")
	p.Done = 1
	pr.Update(p, t0.Add(800*time.Millisecond))
	require.Equal(t, 1, lines(), "a change within a second of the last line waits")
	pr.Update(p, t0.Add(1200*time.Millisecond))
	require.Equal(t, 2, lines(), "then it prints")
	for i := 2; i < 10; i++ {
		pr.Update(p, t0.Add(time.Duration(i)*time.Second))
	}
	require.Equal(t, 2, lines(), "no change, no line for ten seconds")
	pr.Update(p, t0.Add(11300*time.Millisecond))
	require.Equal(t, 3, lines(), "a line every ten seconds anyway")
	p.Retrying = 1
	pr.Update(p, t0.Add(12500*time.Millisecond))
	require.Equal(t, 4, lines(), "a new failure is a change")
	require.NotContains(t, buf.String(), "\r", "no terminal control on a log")
	pr.Say("hello %d", 1)
	require.True(t, strings.HasSuffix(buf.String(), "rrr: hello 1\n"))
}

func TestPrinterOnALogPrintsPhaseChanges(t *testing.T) {
	var buf bytes.Buffer
	pr := &client.Printer{W: &buf}
	p := client.Progress{Total: 10}
	pr.Update(p, t0)
	p.Workers = 1
	pr.Update(p, t0.Add(2*time.Second))
	p.Running = []client.RunningSpec{{Spec: "a.rb"}}
	pr.Update(p, t0.Add(4*time.Second))
	p.Running = append(p.Running, client.RunningSpec{Spec: "b.rb"})
	pr.Update(p, t0.Add(6*time.Second))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 3, "waiting, setting up, running; one more running spec is no change")
	require.Contains(t, lines[0], "waiting for a worker")
	require.Contains(t, lines[1], "setting up on 1 worker(s)")
	require.Contains(t, lines[2], "1 running (a.rb")
}

func TestPrinterOnATerminalRewritesOneLine(t *testing.T) {
	var buf bytes.Buffer
	pr := &client.Printer{W: &buf, TTY: true}
	pr.Update(client.Progress{Total: 2, WorkerType: "x"}, t0)
	pr.Update(client.Progress{Total: 2, Done: 1}, t0.Add(10*time.Millisecond))
	require.Equal(t, "\r\x1b[Krrr: 0/2 done, waiting for a worker of type \"x\", elapsed 0ms, ETA unknown"+
		"\r\x1b[Krrr: 1/2 done, elapsed 0ms, ETA unknown", buf.String())
	pr.Say("warning")
	require.True(t, strings.HasSuffix(buf.String(), "ETA unknown\r\x1b[Krrr: warning\n"), "a message clears the line first")
}

// A spec name can hold ESC: the progress line shows it escaped, and keeps
// only its own control sequence (issue 19, item 11).
func TestPrinterEscapesSpecNames(t *testing.T) {
	var buf bytes.Buffer
	pr := &client.Printer{W: &buf, TTY: true}
	pr.Update(client.Progress{Total: 1, Workers: 1, Running: []client.RunningSpec{{Spec: "x\x1b[2J.sh", For: time.Second}}}, t0)
	pr.Say("about %s", "y\x00.sh")
	require.Equal(t, 2, strings.Count(buf.String(), "\x1b"), "the two line clears alone: %q", buf.String())
	require.Contains(t, buf.String(), `x\x1b[2J.sh`)
	require.Contains(t, buf.String(), `rrr: about y\x00.sh`)
}
