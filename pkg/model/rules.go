package model

import "github.com/rrr-dev/rrr/schema"

// The domain rules read from trials and tasks: what counts as a failure,
// which trial stands for a task, what is flaky. The client, the JUnit
// report, the dashboard and the arbiter all ask here, so that they agree.

// IsTrialFailure reports whether a trial status counts against max_trials.
// It mirrors is_trial_failure in schema/lua/lib.lua, which settles tasks
// inside Redis: change both together.
func IsTrialFailure(status string) bool {
	return status == schema.StatusFailed || status == schema.StatusError || status == schema.StatusTimeout
}

// FinalTrial is the trial that stands for the task: the first passed one
// of a passed task, the first pending one of a pending task, else the last
// finished one; nil when no trial finished.
func FinalTrial(t Task) *Trial {
	want := ""
	switch t.Status {
	case schema.StatusPassed, schema.StatusPending:
		want = t.Status
	}
	var last *Trial
	for i := range t.Trials {
		tr := &t.Trials[i]
		if want != "" && tr.Status == want {
			return tr
		}
		if tr.Status != "" {
			last = tr
		}
	}
	return last
}

// FlakyTrials are the trials that make a task flaky: those that failed or
// timed out before the trial that passed it ended. A trial that could not
// run (error) says nothing about the test, nor does one a bad box's
// circuit breaker discounted, and a duplicate stopped after the verdict
// (the taskset ended) is no failure of it.
func FlakyTrials(t Task) []Trial {
	if t.Status != schema.StatusPassed && t.Status != schema.StatusPending {
		return nil
	}
	ft := FinalTrial(t)
	if ft == nil {
		return nil
	}
	var out []Trial
	for _, tr := range t.Trials {
		if (tr.Status == schema.StatusFailed || tr.Status == schema.StatusTimeout) && tr.Discounted == "" && !tr.FinishedAt.After(ft.FinishedAt.Time) {
			out = append(out, tr)
		}
	}
	return out
}

// IsFlaky reports whether a task failed, then passed (see FlakyTrials).
func IsFlaky(t Task) bool { return len(FlakyTrials(t)) > 0 }
