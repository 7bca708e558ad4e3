package client

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// Balance measures how well a run used its slaves.
type Balance struct {
	Wall     time.Duration // created -> finished (or now)
	TestWall time.Duration // first trial started -> last trial finished
	Work     time.Duration // every finished trial's duration, retries and duplicates included
	Slaves   int           // slaves that joined the taskset
	// Longest is the duration of the longest spec (its final trial).
	Longest     time.Duration
	LongestSpec string
	// LowerBound = max(Work / Slaves, Longest): no schedule of this work on
	// these slaves ends sooner.
	LowerBound time.Duration
}

// Efficiency is LowerBound / TestWall: 1 is a perfect schedule.
func (b Balance) Efficiency() float64 {
	if b.TestWall <= 0 {
		return 0
	}
	return float64(b.LowerBound) / float64(b.TestWall)
}

// ComputeBalance measures s at time now (Redis clock) for an unfinished one.
func ComputeBalance(s *model.Snapshot, now time.Time) Balance {
	var b Balance
	end := s.FinishedAt.Time
	if end.IsZero() {
		end = now
	}
	if !s.CreatedAt.IsZero() {
		b.Wall = max(0, end.Sub(s.CreatedAt.Time))
	}
	var first, last time.Time
	slaves := map[string]bool{}
	for _, t := range s.Tasks {
		for _, tr := range t.Trials {
			if tr.Slave != "" {
				slaves[tr.Slave] = true
			}
			if tr.Duration() <= 0 {
				continue
			}
			b.Work += tr.Duration()
			if first.IsZero() || tr.StartedAt.Before(first) {
				first = tr.StartedAt.Time
			}
			if tr.FinishedAt.After(last) {
				last = tr.FinishedAt.Time
			}
		}
		if ft := model.FinalTrial(t); ft != nil && ft.Duration() > b.Longest {
			b.Longest, b.LongestSpec = ft.Duration(), t.SpecFile
		}
	}
	if !first.IsZero() {
		b.TestWall = last.Sub(first)
	}
	b.Slaves = max(len(s.Slaves), len(slaves))
	b.LowerBound = b.Longest
	if b.Slaves > 0 {
		b.LowerBound = max(b.Work/time.Duration(b.Slaves), b.Longest)
	}
	return b
}

// Counts are the verdicts of a taskset's specs.
type Counts struct {
	Total, Passed, Pending, Failed, Flaky, NotRun, Unsettled int
	// Errored specs failed by errors alone (their trials crashed or were
	// lost: model.Task.Verdict); they are not in Failed.
	Errored int
	// Quarantined specs failed (or errored) in quarantine: they are in
	// neither Failed nor Errored, and did not fail the taskset.
	Quarantined int
}

// CountSpecs counts the verdicts of s's tasks. Unsettled specs have no
// verdict but ran (a cancelled or stopped taskset); NotRun never ran.
func CountSpecs(s *model.Snapshot) Counts {
	specs := model.BySpec(s.Tasks)
	c := Counts{Total: len(specs)}
	for _, t := range specs {
		switch v := t.Verdict(); {
		case t.Status == schema.StatusFailed && t.Quarantined != "":
			c.Quarantined++
		case v == schema.StatusError:
			c.Errored++
		case v == schema.StatusPassed:
			c.Passed++
		case v == schema.StatusPending:
			c.Pending++
		case v == schema.StatusFailed:
			c.Failed++
		default:
			if model.FinalTrial(t) == nil {
				c.NotRun++
			} else {
				c.Unsettled++
			}
		}
		if model.IsFlaky(t) {
			c.Flaky++
		}
	}
	return c
}

// SummaryOptions tune WriteSummary.
type SummaryOptions struct {
	// OutputLines is how many last lines of each output stream of a failed
	// trial to print (default 40; negative: all).
	OutputLines int
	// Slowest is how many slowest specs to list (default 5).
	Slowest int
	// Now is the Redis time, for an unfinished taskset.
	Now time.Time
}

// WriteSummary writes what a CI log needs after a run: the verdict, each
// failed spec with its trials and output, the flaky specs, the slowest
// specs and the balance.
func WriteSummary(w io.Writer, o *Outcome, opt SummaryOptions) {
	w = logx.EscapeWriter(w) // what tests and names hold, never terminal control
	if opt.OutputLines == 0 {
		opt.OutputLines = 40
	}
	if opt.Slowest == 0 {
		opt.Slowest = 5
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	s := o.Snapshot
	if s == nil {
		fmt.Fprintf(w, "rrr: %s: %s\n", o.Key, o.Note)
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "rrr: "+Headline(s, o.Verdict, o.Note))
	if s.RerunOf != "" {
		build := ""
		if s.BuildID != "" {
			build = " (build " + s.BuildID + ")"
		}
		fmt.Fprintf(w, "rrr: a rerun of %s%s: only its spec files that did not pass\n", s.RerunOf, build)
	}
	for _, l := range s.WorkerLogs {
		if l.BreakerReason != "" {
			fmt.Fprintf(w, "rrr: worker %s left the taskset because its trials failed fast (circuit breaker: %s); its specs ran on other workers, and those trials do not count toward max_trials\n",
				l.Worker, l.BreakerReason)
		}
	}
	// A reason other than max failures makes the verdict Infra
	// (model.VerdictOf): the worker logs say what went wrong.
	if o.Verdict == model.Infra {
		writeWorkerLogs(w, s, opt.OutputLines)
	}
	var failed, errored, quarantined, flaky []model.Task
	for _, t := range model.BySpec(s.Tasks) {
		switch {
		case t.Status == schema.StatusFailed && t.Quarantined != "":
			quarantined = append(quarantined, t)
		case t.Verdict() == schema.StatusError:
			errored = append(errored, t)
		case t.Status == schema.StatusFailed:
			failed = append(failed, t)
		case model.IsFlaky(t):
			flaky = append(flaky, t)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "\nfailed specs (%d):\n", len(failed))
		for _, t := range failed {
			WriteFailedSpec(w, t, opt.OutputLines)
			writeOrder(w, s, t, "   ")
		}
	}
	if len(errored) > 0 {
		fmt.Fprintf(w, "\nspecs that errored (%d): every trial crashed, was lost or could not run; not a test failure:\n", len(errored))
		for _, t := range errored {
			WriteFailedSpec(w, t, opt.OutputLines)
		}
	}
	if len(quarantined) > 0 {
		fmt.Fprintf(w, "\nquarantined specs that failed (%d); they do not fail the taskset:\n", len(quarantined))
		for _, t := range quarantined {
			WriteFailedSpec(w, t, opt.OutputLines)
		}
	}
	writeCrashes(w, s)
	if len(flaky) > 0 {
		fmt.Fprintf(w, "\nflaky specs (%d), failed then passed:\n", len(flaky))
		for _, t := range flaky {
			fmt.Fprintf(w, "  %s: %s\n", t.SpecFile, trialStatuses(t))
			writeOrder(w, s, t, "    ")
		}
	}
	writeSlowest(w, s, opt.Slowest)
	b := ComputeBalance(s, opt.Now)
	if b.Work > 0 {
		fmt.Fprintf(w, "\n%s\n", b)
	}
}

// Headline is one line: the key, the verdict and the counts.
func Headline(s *model.Snapshot, v model.Verdict, note string) string {
	c := CountSpecs(s)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", s.Key, statusWord(s, v))
	if s.StatusReason != "" {
		fmt.Fprintf(&b, " (%s)", s.StatusReason)
	}
	if note != "" {
		fmt.Fprintf(&b, " [%s]", note)
	}
	fmt.Fprintf(&b, ": %d specs", c.Total)
	parts := []string{}
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(c.Passed, "passed")
	add(c.Pending, "pending")
	add(c.Failed, "failed")
	add(c.Errored, "errored")
	add(c.Quarantined, "failed in quarantine")
	add(c.Flaky, "flaky")
	add(c.Unsettled, "without a verdict")
	add(c.NotRun, "not run")
	if len(parts) > 0 {
		b.WriteString(", " + strings.Join(parts, ", "))
	}
	if !s.FinishedAt.IsZero() && !s.CreatedAt.IsZero() {
		fmt.Fprintf(&b, ", in %s", fmtDuration(s.FinishedAt.Sub(s.CreatedAt.Time)))
	}
	return b.String()
}

func statusWord(s *model.Snapshot, v model.Verdict) string {
	switch {
	case v == model.Running && s.Status == schema.StatusRunning:
		return "is running"
	case v == model.Infra && s.Status == schema.StatusSucceeded:
		return "succeeded" // but tested nothing: RequireTests's note says so
	case v == model.Infra && s.Status != schema.StatusFailed:
		return "is " + orRunning(s.Status)
	case v == model.Infra && s.StatusReason == "":
		return "ended in error" // its failed specs only errored
	}
	return s.Status
}

func orRunning(status string) string {
	if status == "" {
		return "being created"
	}
	return status
}

// trialStatuses lists a task's trial statuses in order: "failed, passed".
func trialStatuses(t model.Task) string {
	ss := make([]string, 0, len(t.Trials))
	for _, tr := range t.Trials {
		st := tr.Status
		if st == "" {
			st = "running"
		}
		ss = append(ss, st)
	}
	return strings.Join(ss, ", ")
}

// WriteFailedSpec writes a failed spec: a line per trial, then the failed
// test cases and the output of its last trial.
func WriteFailedSpec(w io.Writer, t model.Task, lines int) {
	if t.Verdict() == schema.StatusError {
		fmt.Fprintf(w, "\n== %s: error: %d trial(s), none ran to a test result (crashed or lost)\n", t.SpecFile, len(t.Trials))
	} else {
		fmt.Fprintf(w, "\n== %s: failed after %d trial(s)\n", t.SpecFile, len(t.Trials))
	}
	if t.Parts > 0 {
		fmt.Fprintf(w, "   ran in %d partitions of its cases (docs/partitions.md)\n", t.Parts)
	}
	if t.Quarantined != "" {
		fmt.Fprintf(w, "   quarantined: %s\n", t.Quarantined)
	}
	if t.Error != "" {
		fmt.Fprintf(w, "   %s\n", t.Error)
	}
	for i, tr := range t.Trials {
		fmt.Fprintf(w, "   trial %d: %s\n", i+1, TrialLine(tr))
	}
	ft := model.FinalTrial(t)
	if ft == nil {
		return
	}
	var failures []model.Case
	for _, c := range ft.Report {
		if c.Status == schema.StatusFailed {
			failures = append(failures, c)
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "   failed test cases (%d):\n", len(failures))
		for i, c := range failures {
			if i == 10 {
				fmt.Fprintf(w, "     ... and %d more (rrr show --show-errors)\n", len(failures)-10)
				break
			}
			fmt.Fprintf(w, "   - %s\n", caseName(c))
			if c.Message != "" {
				writeIndented(w, "       ", tail(c.Message, 20))
			}
		}
	}
	for _, stream := range []struct{ name, text string }{{"stdout", ft.Stdout}, {"stderr", ft.Stderr}} {
		text := strings.TrimRight(stream.text, "\n")
		if text == "" {
			continue
		}
		// go test -json writes its report on stdout: machine lines whose
		// words the failed cases above already carry.
		if stream.name == "stdout" && ft.Format == schema.FormatGoTestJSON && len(failures) > 0 {
			continue
		}
		n := strings.Count(text, "\n") + 1
		if lines < 0 || n <= lines {
			fmt.Fprintf(w, "   %s:\n", stream.name)
			writeIndented(w, "     ", text)
		} else {
			fmt.Fprintf(w, "   %s (last %d of %d lines):\n", stream.name, lines, n)
			writeIndented(w, "     ", tail(text, lines))
		}
	}
	if ft.OutputPath != "" {
		fmt.Fprintf(w, "   full output: %s\n", ft.OutputPath)
	}
}

// writeOrder says, for a failed or flaky spec, whether a failure came
// after other specs on its slave (and how to look for the one that makes
// it fail: rrr bisect), or when it failed alone, first on its slave.
func writeOrder(w io.Writer, s *model.Snapshot, t model.Task, indent string) {
	passed := ""
	if ft := model.FinalTrial(t); ft != nil && t.Status == schema.StatusPassed {
		if slave, before := model.RanBefore(s, ft.Key); slave != "" {
			passed = fmt.Sprintf(" (it passed after %d on slave %s)", len(before), slave)
		}
	}
	if o, ok := model.SuspectOrder(s, t); ok {
		id := s.ID
		if id == "" {
			id = s.Key
		}
		fmt.Fprintf(w, "%strial %d ran after %d other spec(s) on slave %s%s; try `rrr bisect %s %s`\n",
			indent, o.Index+1, len(o.Before), o.Slave, passed, id, t.SpecFile)
		return
	}
	for _, tr := range t.Trials {
		if tr.Status == schema.StatusFailed || tr.Status == schema.StatusTimeout {
			fmt.Fprintf(w, "%sit failed alone, first on its slave%s: no spec before it there is to blame\n", indent, passed)
			return
		}
	}
}

// TrialLine describes one trial: status, duration, slave and why.
func TrialLine(tr model.Trial) string {
	var b strings.Builder
	st := tr.Status
	if st == "" {
		st = "running"
	}
	if p := model.PartOf(tr.Key); p != "" {
		b.WriteString("partition " + p + ": ")
	}
	b.WriteString(st)
	if d := tr.Duration(); d > 0 {
		fmt.Fprintf(&b, " in %s", fmtDuration(d))
	}
	if tr.BatchSize > 1 {
		fmt.Fprintf(&b, " (batch %s of %d spec files)", tr.Batch, tr.BatchSize)
	}
	if tr.Passed+tr.Pending+tr.Failed > 0 {
		fmt.Fprintf(&b, " (%d passed, %d pending, %d failed)", tr.Passed, tr.Pending, tr.Failed)
	}
	if tr.ExitCode != nil {
		fmt.Fprintf(&b, ", exit code %d", *tr.ExitCode)
	}
	if tr.Signal != "" {
		fmt.Fprintf(&b, ", killed by %s", tr.Signal)
	}
	if tr.Error != "" {
		fmt.Fprintf(&b, ": %s", tr.Error)
	}
	if tr.PartitionNote != "" {
		fmt.Fprintf(&b, "; cases: %s", tr.PartitionNote)
	}
	if tr.Discounted != "" {
		b.WriteString(" (not counted: its worker's circuit breaker tripped)")
	}
	if tr.Slave != "" {
		fmt.Fprintf(&b, " [%s]", tr.Slave)
	}
	return b.String()
}

func caseName(c model.Case) string {
	if c.Classname != "" && !strings.HasPrefix(c.Name, c.Classname) {
		return c.Classname + " " + c.Name
	}
	return c.Name
}

func writeIndented(w io.Writer, indent, text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(w, "%s%s\n", indent, l)
	}
}

// tail returns the last n lines of text.
func tail(text string, n int) string {
	text = strings.TrimRight(text, "\n")
	if n < 0 {
		return text
	}
	ls := strings.Split(text, "\n")
	if len(ls) <= n {
		return text
	}
	return strings.Join(ls[len(ls)-n:], "\n")
}

func writeWorkerLogs(w io.Writer, s *model.Snapshot, lines int) {
	for _, l := range s.WorkerLogs {
		if strings.TrimSpace(l.Log) == "" {
			continue
		}
		fmt.Fprintf(w, "\nlog of worker %s (rsync, setup):\n", l.Worker)
		writeIndented(w, "  ", tail(l.Log, lines))
	}
	if strings.TrimSpace(s.Log) != "" {
		fmt.Fprintf(w, "\ntaskset log:\n")
		writeIndented(w, "  ", tail(s.Log, lines))
	}
}

// SpecTime is how long a spec took: its final trial.
type SpecTime struct {
	Spec string
	Took time.Duration
}

// Slowest returns the n specs whose final trial took longest.
func Slowest(s *model.Snapshot, n int) []SpecTime {
	var out []SpecTime
	for _, t := range s.Tasks {
		if ft := model.FinalTrial(t); ft != nil && ft.Duration() > 0 {
			out = append(out, SpecTime{t.Name(), ft.Duration()}) // a partition is a trial of its own
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Took > out[j].Took })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func writeSlowest(w io.Writer, s *model.Snapshot, n int) {
	slow := Slowest(s, n)
	if len(slow) == 0 {
		return
	}
	fmt.Fprintf(w, "\nslowest specs:\n")
	for _, st := range slow {
		fmt.Fprintf(w, "  %8s  %s\n", fmtDuration(st.Took), st.Spec)
	}
}

// String is the balance line of the summary.
func (b Balance) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "balance: wall %s (trials %s), work %s on %d slave(s); lower bound %s = max(work/slaves %s, longest spec %s",
		fmtDuration(b.Wall), fmtDuration(b.TestWall), fmtDuration(b.Work), b.Slaves, fmtDuration(b.LowerBound),
		fmtDuration(b.Work/time.Duration(max(1, b.Slaves))), fmtDuration(b.Longest))
	if b.LongestSpec != "" {
		sb.WriteString(" " + b.LongestSpec)
	}
	sb.WriteString(")")
	if e := b.Efficiency(); e > 0 {
		fmt.Fprintf(&sb, "; efficiency %.0f%% (lower bound / trials' wall time)", 100*e)
	}
	return sb.String()
}

// writeCrashes names, for every slave or runner that died under a trial,
// the spec it was running, whatever became of the spec after.
func writeCrashes(w io.Writer, s *model.Snapshot) {
	var lines []string
	for _, t := range s.Tasks {
		for _, tr := range t.Trials {
			if tr.Crashed == "" {
				continue
			}
			lines = append(lines, fmt.Sprintf("  %s: its %s died under it (%s) [%s]", t.SpecFile, tr.Crashed, tr.Error, tr.Slave))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\nslaves or runners that died while running a spec (%d):\n", len(lines))
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}
