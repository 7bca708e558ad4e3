package client

import (
	"fmt"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

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
	if o == nil || o.Verdict != model.Succeeded {
		return ""
	}
	why := TestedNothing(o.Snapshot)
	if why != "" {
		o.Verdict = model.Infra
		o.Note = why + "; --require-tests"
	}
	return why
}
