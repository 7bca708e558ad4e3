package client

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// ShowOptions choose what WriteShow prints beyond the overview.
type ShowOptions struct {
	Verbose    bool // every spec with its trials, worker logs, slaves, the taskset log
	ShowErrors bool // failed and flaky specs with their whole (capped) output
	Now        time.Time
}

// WriteShow writes a taskset for people: an overview, the specs that did
// not pass (every spec with Verbose), and outputs with ShowErrors.
func WriteShow(w io.Writer, s *model.Snapshot, opt ShowOptions) {
	w = logx.EscapeWriter(w) // what tests and names hold, never terminal control
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	v := model.VerdictOf(s.Taskset)
	c := CountSpecs(s)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "taskset\t%s\n", s.Key)
	status := orRunning(s.Status)
	if v != model.Running {
		status += " (" + v.String() + ")"
	}
	if s.StatusReason != "" {
		status += ": " + s.StatusReason
	}
	fmt.Fprintf(tw, "status\t%s\n", status)
	errored := ""
	if c.Errored > 0 {
		errored = fmt.Sprintf(", %d errored (crashed, not a test failure)", c.Errored)
	}
	if c.Quarantined > 0 {
		errored += fmt.Sprintf(", %d failed in quarantine (not failing the taskset)", c.Quarantined)
	}
	fmt.Fprintf(tw, "specs\t%d: %d passed, %d pending, %d failed%s, %d flaky, %d without a verdict, %d not run\n",
		c.Total, c.Passed, c.Pending, c.Failed, errored, c.Flaky, c.Unsettled, c.NotRun)
	created := stamp(s.CreatedAt)
	if !s.FinishedAt.IsZero() {
		created += ", finished " + stamp(s.FinishedAt) + ", wall " + fmtDuration(s.FinishedAt.Sub(s.CreatedAt.Time))
	} else if !s.CreatedAt.IsZero() {
		created += ", running for " + fmtDuration(opt.Now.Sub(s.CreatedAt.Time))
	}
	fmt.Fprintf(tw, "created\t%s by %s\n", created, s.RsyncName)
	cmd := s.TrialCommand
	if s.Runner != "" {
		cmd = "runner: " + s.Runner
	}
	if s.SlaveCommand != "" {
		cmd = "slave command: " + s.SlaveCommand
	}
	fmt.Fprintf(tw, "command\t%s (format %s)\n", cmd, s.ResultFormat)
	if s.SetupCommand != "" {
		fmt.Fprintf(tw, "setup\t%s\n", s.SetupCommand)
	}
	maxw := "no limit"
	if s.MaxWorkers > 0 {
		maxw = fmt.Sprint(s.MaxWorkers)
	}
	fmt.Fprintf(tw, "workers\ttype %s, max %s, %d took it, %d slaves\n", s.WorkerType, maxw, len(s.WorkerLogs), len(s.Slaves))
	fmt.Fprintf(tw, "limits\tmax trials %d, unknown spec timeout %ds, least timeout %ds, class %s\n",
		s.MaxTrials, s.UnknownSpecTimeoutSec, s.LeastTimeoutSec, s.TasksetClass)
	_ = tw.Flush()

	fmt.Fprintln(w)
	listed := 0
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range model.BySpec(s.Tasks) {
		word := taskWord(t)
		if !opt.Verbose && word == "passed" {
			continue
		}
		listed++
		took := ""
		if ft := model.FinalTrial(t); ft != nil && ft.Duration() > 0 {
			took = fmtDuration(ft.Duration())
		}
		if ft := model.FinalTrial(t); ft != nil && ft.BatchSize > 1 {
			took += fmt.Sprintf(" in a batch of %d", ft.BatchSize)
		}
		if t.Parts > 0 {
			took = fmt.Sprintf("in %d partitions", t.Parts)
		}
		ordered := t
		ordered.Trials = trialsInOrder(s, t)
		statuses := trialStatuses(ordered)
		if t.Quarantined != "" {
			statuses += "\tquarantined: " + t.Quarantined
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", word, t.SpecFile, took, statuses)
		if opt.Verbose {
			for i, tr := range trialsInOrder(s, t) {
				fmt.Fprintf(tw, "      trial %d: %s\n", i+1, TrialLine(tr))
			}
		}
	}
	_ = tw.Flush()
	if !opt.Verbose && c.Passed > 0 {
		fmt.Fprintf(w, "  (%d passed specs not listed: --verbose lists every spec and trial)\n", c.Passed-c.Flaky)
	}
	if listed == 0 && opt.Verbose {
		fmt.Fprintln(w, "  (no specs)")
	}

	if opt.ShowErrors {
		for _, t := range model.BySpec(s.Tasks) {
			if t.Status == schema.StatusFailed || model.IsFlaky(t) {
				WriteFailedSpec(w, t, -1)
			}
		}
	}
	if opt.Verbose {
		for _, l := range s.WorkerLogs {
			fmt.Fprintf(w, "\nworker %s: started %s, rsync done %s, setup done %s, left %s\n", l.Worker,
				stamp(l.StartedAt), stamp(l.RsyncFinishedAt), stamp(l.SetupFinishedAt), stamp(l.FinishedAt))
			if strings.TrimSpace(l.Log) != "" {
				writeIndented(w, "  ", l.Log)
			}
		}
		if len(s.Slaves) > 0 {
			fmt.Fprintf(w, "\nslaves:\n")
			for _, sl := range s.Slaves {
				st := sl.Status
				if st == "" {
					st = "running"
					if !sl.Alive {
						st = "lost"
					}
				}
				fmt.Fprintf(w, "  %s (number %d, pid %d): %s\n", sl.Key, sl.Number, sl.Pid, st)
			}
		}
		if strings.TrimSpace(s.Log) != "" {
			fmt.Fprintf(w, "\ntaskset log:\n")
			writeIndented(w, "  ", s.Log)
		}
		if b := ComputeBalance(s, opt.Now); b.Work > 0 {
			fmt.Fprintf(w, "\n%s\n", b)
		}
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "warning: left out: %s\n", p)
	}
}

// taskWord is a task's state in a listing.
// trialsInOrder are the trials of t, a task of model.BySpec: a spec file's
// partitions one after the other, each in its own order.
func trialsInOrder(s *model.Snapshot, t model.Task) []model.Trial {
	if t.Parts == 0 {
		return t.Trials
	}
	var out []model.Trial
	for _, p := range s.Tasks {
		if p.SpecFile == t.SpecFile && p.Partition() != "" {
			out = append(out, p.Trials...)
		}
	}
	return out
}

func taskWord(t model.Task) string {
	switch {
	case model.IsFlaky(t):
		return "flaky"
	case t.Status != "":
		return t.Status
	}
	for _, tr := range t.Trials {
		if tr.Status == "" {
			return "running"
		}
	}
	if len(t.Trials) > 0 {
		return "retrying"
	}
	return "queued"
}

func stamp(t model.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// Active is one active taskset in `rrr actives`.
type Active struct {
	model.Taskset
	Done int `json:"done"`
}

// Actives reads the active tasksets, oldest first.
func (c *Client) Actives(ctx context.Context) ([]Active, error) {
	keys, err := c.Reader.Active(ctx)
	if err != nil {
		return nil, err
	}
	out := []Active{}
	for _, k := range keys {
		ts, err := c.Reader.Taskset(ctx, k)
		if err != nil {
			c.Log.Warn().Err(err).Str("taskset", k).Msg("skipping an unreadable active taskset")
			continue
		}
		out = append(out, Active{Taskset: ts, Done: ts.SucceededCount + ts.FailedCount})
	}
	return out, nil
}

// WriteActives lists active tasksets as a table.
func WriteActives(w io.Writer, as []Active, now time.Time) {
	w = logx.EscapeWriter(w) // what tests and names hold, never terminal control
	if len(as) == 0 {
		fmt.Fprintln(w, "no active tasksets")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASKSET\tBY\tTYPE\tDONE\tFAILED\tAGE")
	for _, a := range as {
		age := "-"
		if !a.CreatedAt.IsZero() {
			age = fmtDuration(now.Sub(a.CreatedAt.Time))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%s\n", a.ID, a.RsyncName, a.WorkerType, a.Done, a.TaskCount, a.FailedCount, age)
	}
	_ = tw.Flush()
}

// Nodes reads the live workers, and counts the dead ones the dispatcher
// has not removed yet.
func (c *Client) Nodes(ctx context.Context) (live []model.WorkerState, dead int, err error) {
	ws, problems, err := c.Reader.Workers(ctx)
	if err != nil {
		return nil, 0, err
	}
	for _, p := range problems {
		c.Log.Warn().Str("problem", p).Msg("skipping an unreadable worker")
	}
	live = []model.WorkerState{}
	for _, w := range ws {
		if w.Alive {
			live = append(live, w)
		} else {
			dead++
		}
	}
	return live, dead, nil
}

// health is a worker's HEALTH column: "ok", or when its circuit breaker
// tripped and why.
func health(w model.Worker) string {
	if w.Unhealthy == "" {
		return "ok"
	}
	at := ""
	if !w.UnhealthyAt.IsZero() {
		at = " since " + w.UnhealthyAt.UTC().Format(time.RFC3339)
	}
	return "UNHEALTHY" + at + ": circuit breaker tripped, " + w.Unhealthy
}

// WriteNodes lists live workers: type, host, slaves, what they do, and
// whether their circuit breaker tripped.
func WriteNodes(w io.Writer, keys schema.Keys, ws []model.WorkerState, dead int) {
	w = logx.EscapeWriter(w) // what tests and names hold, never terminal control
	if len(ws) == 0 {
		fmt.Fprintln(w, "no live workers: start one with `rrr worker` on a build box")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WORKER\tTYPE\tHOST\tSLAVES\tDOING\tHEALTH")
		for _, ws := range ws {
			doing := "idle"
			if ws.Taskset != "" {
				id, ok := keys.TasksetID(ws.Taskset)
				if !ok {
					id = ws.Taskset
				}
				doing = fmt.Sprintf("taskset %s, %d slave(s) running", id, len(ws.ActiveSlaves))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", ws.ID, ws.WorkerType, ws.Host, ws.Slaves, doing, health(ws.Worker))
		}
		_ = tw.Flush()
	}
	if dead > 0 {
		fmt.Fprintf(w, "(%d dead worker(s) not listed: the dispatcher forgets them)\n", dead)
	}
}
