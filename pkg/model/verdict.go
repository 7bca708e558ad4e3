package model

import (
	"strings"

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
// crashed or were lost), is an infrastructure error. Quarantined specs
// that failed (quarantined_failed_count) count for neither.
func VerdictOf(ts Taskset) Verdict {
	switch ts.Status {
	case schema.StatusSucceeded:
		return Succeeded
	case schema.StatusCancelled:
		return Cancelled
	case schema.StatusFailed:
		byTests := ts.StatusReason == "" || strings.HasPrefix(ts.StatusReason, schema.ReasonMaxFailures)
		// Quarantined failures fail nothing; errors are infrastructure.
		if ts.FailedCount-ts.QuarantinedFailedCount > ts.ErrorCount && byTests {
			return TestsFailed
		}
		return Infra
	}
	return Running
}
