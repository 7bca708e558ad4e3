package client

import (
	"fmt"
	"strings"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// Verdict is what a taskset's state means for the person or CI step
// waiting on it; each verdict has its own exit code.
type Verdict int

// Verdicts, from a taskset's status and counters.
const (
	Succeeded   Verdict = iota // every spec passed (or is pending)
	TestsFailed                // it finished and some spec failed
	Cancelled                  // someone cancelled it, or a signal stopped the wait
	Infra                      // setup failed, the fleet gave up, or the wait timed out
	Running                    // not finished yet
)

// Exit codes of waitfor, start --wait, local and show (README.md). 2 is a
// usage error, decided by the command line before any verdict.
const (
	ExitOK        = 0
	ExitFailed    = 1
	ExitUsage     = 2
	ExitCancelled = 3
	ExitInfra     = 4
	ExitRunning   = 5 // only `rrr show`: the taskset has not finished
)

// ExitCode is the process exit code of v.
func (v Verdict) ExitCode() int {
	switch v {
	case Succeeded:
		return ExitOK
	case TestsFailed:
		return ExitFailed
	case Cancelled:
		return ExitCancelled
	case Running:
		return ExitRunning
	}
	return ExitInfra
}

func (v Verdict) String() string {
	switch v {
	case Succeeded:
		return "succeeded"
	case TestsFailed:
		return "tests failed"
	case Cancelled:
		return "cancelled"
	case Infra:
		return "infrastructure error"
	}
	return "running"
}

// VerdictOf reads the verdict of a taskset. A failed taskset is a test
// failure only when it finished by itself with a spec that failed a test;
// one that was stopped with a reason (its setup failed, slaves kept
// crashing), or whose failed specs only errored (error_count: their trials
// crashed or were lost), is an infrastructure error.
func VerdictOf(ts model.Taskset) Verdict {
	switch ts.Status {
	case schema.StatusSucceeded:
		return Succeeded
	case schema.StatusCancelled:
		return Cancelled
	case schema.StatusFailed:
		byTests := ts.StatusReason == "" || strings.HasPrefix(ts.StatusReason, schema.ReasonMaxFailures)
		if ts.FailedCount > ts.ErrorCount && byTests {
			return TestsFailed
		}
		return Infra
	}
	return Running
}

// TestedNothing says why a taskset that succeeded may have tested nothing
// ("" when it tested something, or when nobody can tell): every final
// trial whose report was read ran no test case at all, or the taskset
// holds fewer tasks than were created (task_count). Trials read by their
// exit code alone (format exit-code) have no cases to count: a taskset of
// only such trials is never said to have tested nothing.
func TestedNothing(s *model.Snapshot) string {
	if s == nil || s.Status != schema.StatusSucceeded {
		return ""
	}
	if s.TaskCount > len(s.Tasks) {
		return fmt.Sprintf("%d of its %d spec files are missing", s.TaskCount-len(s.Tasks), s.TaskCount)
	}
	reports, cases := 0, 0
	for _, t := range s.Tasks {
		tr := model.FinalTrial(t)
		if tr == nil || tr.Format == "" || tr.Format == schema.FormatExitCode {
			continue
		}
		reports++
		cases += tr.Passed + tr.Pending + tr.Failed
	}
	if reports > 0 && cases == 0 {
		return fmt.Sprintf("no test case ran: the reports of all %d spec files hold none (a wrong glob, "+
			"a filter that matched nothing, or a trial command that writes an empty report?)", reports)
	}
	return ""
}

// RequireTests turns the outcome of a taskset that succeeded but tested
// nothing (TestedNothing) into an infrastructure error, and returns why;
// it changes nothing and returns "" otherwise.
func RequireTests(o *Outcome) string {
	if o == nil || o.Verdict != Succeeded {
		return ""
	}
	why := TestedNothing(o.Snapshot)
	if why != "" {
		o.Verdict = Infra
		o.Note = why + "; --require-tests"
	}
	return why
}
