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

// Progress is where a running taskset stands.
type Progress struct {
	Total, Done int
	Failed      int // specs with the verdict failed
	Retrying    int // specs without a verdict that failed a trial
	Running     []RunningSpec
	Workers     int // workers that took the taskset
	WorkerType  string
	Elapsed     time.Duration // since the taskset was created
	// ETA is the estimated time left; ETAKnown is false until rrr knows the
	// parallelism and an estimate for every spec left.
	ETA      time.Duration
	ETAKnown bool
}

// RunningSpec is a spec with a trial running, and for how long.
type RunningSpec struct {
	Spec string
	For  time.Duration
}

// ComputeProgress reads a snapshot (without outputs) at time now, on the
// Redis clock.
//
// The ETA: every spec left needs its estimate (estimate_sec, or else the
// mean duration of this taskset's passed trials), less what its running
// trial has done already; the work left is spread over the live slaves
// (or the running trials when no slave is known), and cannot end before
// the longest single spec left: ETA = max(work left / slaves, longest left).
func ComputeProgress(s *model.Snapshot, now time.Time) Progress {
	p := Progress{Total: len(s.Tasks), WorkerType: s.WorkerType, Workers: len(s.WorkerLogs)}
	if !s.CreatedAt.IsZero() {
		p.Elapsed = max(0, now.Sub(s.CreatedAt.Time))
	}
	var passedSum time.Duration
	passedN := 0
	for _, t := range s.Tasks {
		for _, tr := range t.Trials {
			if tr.Status == schema.StatusPassed && tr.Duration() > 0 {
				passedSum += tr.Duration()
				passedN++
			}
		}
	}
	var mean time.Duration
	if passedN > 0 {
		mean = passedSum / time.Duration(passedN)
	}

	var left, longest time.Duration
	known := true
	for _, t := range s.Tasks {
		if t.Status != "" {
			p.Done++
			if t.Status == schema.StatusFailed {
				p.Failed++
			}
			continue
		}
		var ran time.Duration
		running, failed := false, false
		for _, tr := range t.Trials {
			switch {
			case tr.Status == "" && !tr.StartedAt.IsZero():
				running = true
				ran = max(ran, now.Sub(tr.StartedAt.Time))
			case model.IsTrialFailure(tr.Status):
				failed = true
			}
		}
		if running {
			p.Running = append(p.Running, RunningSpec{Spec: t.Name(), For: max(0, ran)}) // a partition by its name
		}
		if failed {
			p.Retrying++
		}
		est := mean
		if t.EstimateSec != nil {
			est = time.Duration(*t.EstimateSec) * time.Second
		} else if passedN == 0 {
			known = false
		}
		rest := max(0, est-ran)
		left += rest
		longest = max(longest, rest)
	}
	sort.SliceStable(p.Running, func(i, j int) bool { return p.Running[i].For > p.Running[j].For })

	slaves := 0
	for _, sl := range s.Slaves {
		if sl.Alive && sl.Status == "" {
			slaves++
		}
	}
	if slaves == 0 {
		slaves = len(p.Running)
	}
	if known && slaves > 0 {
		p.ETA = max(left/time.Duration(slaves), longest)
		p.ETAKnown = true
	}
	if p.Done == p.Total {
		p.ETA, p.ETAKnown = 0, true
	}
	return p
}

// Phase is where the taskset is: "waiting" for a worker, "setup" on its
// workers, "running" trials.
func (p Progress) Phase() string {
	switch {
	case len(p.Running) > 0 || p.Done > 0:
		return "running"
	case p.Workers == 0:
		return "waiting"
	}
	return "setup"
}

// String is the progress line: done/total, failures, what runs, the ETA.
func (p Progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d done", p.Done, p.Total)
	if p.Failed > 0 {
		fmt.Fprintf(&b, ", %d failed", p.Failed)
	}
	if p.Retrying > 0 {
		fmt.Fprintf(&b, ", %d retrying", p.Retrying)
	}
	switch {
	case len(p.Running) > 0:
		fmt.Fprintf(&b, ", %d running (", len(p.Running))
		for i, r := range p.Running {
			if i == 3 {
				fmt.Fprintf(&b, ", +%d", len(p.Running)-3)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s", r.Spec, fmtDuration(r.For))
		}
		b.WriteString(")")
	case p.Done == 0 && p.Total > 0 && p.Workers == 0:
		fmt.Fprintf(&b, ", waiting for a worker of type %q", p.WorkerType)
	case p.Done == 0 && p.Total > 0:
		fmt.Fprintf(&b, ", setting up on %d worker(s)", p.Workers)
	}
	fmt.Fprintf(&b, ", elapsed %s", fmtDuration(p.Elapsed))
	if p.Done < p.Total {
		if p.ETAKnown {
			fmt.Fprintf(&b, ", ETA %s", fmtDuration(p.ETA))
		} else {
			b.WriteString(", ETA unknown")
		}
	}
	return b.String()
}

// fmtDuration writes a duration for people: 850ms, 4.2s, 1m05s, 2h03m.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// Printer writes progress lines to a terminal (one line, rewritten in
// place) or to a log (a new line when the count of done or failed specs or
// the phase changed, at most once per MinGap, and otherwise every Every).
type Printer struct {
	W      io.Writer
	TTY    bool
	Every  time.Duration // default 10 s
	MinGap time.Duration // default 1 s

	onLine            bool
	printed           bool
	lastAt            time.Time
	lastDone, lastBad int
	lastPhase         string
}

// Update shows p, at time now.
func (pr *Printer) Update(p Progress, now time.Time) {
	line := "rrr: " + logx.Escape(p.String()) // spec names may hold ESC
	if pr.TTY {
		const width = 160
		if r := []rune(line); len(r) > width {
			line = string(r[:width-1]) + "…"
		}
		fmt.Fprintf(pr.W, "\r\x1b[K%s", line)
		pr.onLine = true
		return
	}
	every, gap := pr.Every, pr.MinGap
	if every == 0 {
		every = 10 * time.Second
	}
	if gap == 0 {
		gap = time.Second
	}
	changed := p.Done != pr.lastDone || p.Failed+p.Retrying != pr.lastBad || p.Phase() != pr.lastPhase
	since := now.Sub(pr.lastAt)
	if pr.printed && !(changed && since >= gap) && since < every {
		return
	}
	fmt.Fprintln(pr.W, line)
	pr.printed, pr.lastAt, pr.lastDone, pr.lastBad, pr.lastPhase = true, now, p.Done, p.Failed+p.Retrying, p.Phase()
}

// Say prints a message on a line of its own.
func (pr *Printer) Say(format string, args ...any) {
	pr.Clear()
	fmt.Fprintln(pr.W, "rrr:", logx.Escape(fmt.Sprintf(format, args...)))
}

// Clear removes the progress line of a terminal, before other output.
func (pr *Printer) Clear() {
	if pr.onLine {
		fmt.Fprint(pr.W, "\r\x1b[K")
		pr.onLine = false
	}
}
