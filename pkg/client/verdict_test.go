package client_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
)

func TestTestedNothing(t *testing.T) {
	trial := func(format string, passed, pending, failed int) model.Trial {
		return model.Trial{Status: "passed", Format: format, Passed: passed, Pending: pending, Failed: failed,
			FinishedAt: model.Time{Time: time.Unix(10, 0)}}
	}
	snap := func(status string, taskCount int, trials ...model.Trial) *model.Snapshot {
		s := &model.Snapshot{Taskset: model.Taskset{Key: "rrr:taskset:x", Status: status, TaskCount: taskCount}}
		for i, tr := range trials {
			s.Tasks = append(s.Tasks, model.Task{SpecFile: fmt.Sprintf("s%d", i), Status: "passed", Trials: []model.Trial{tr}})
		}
		return s
	}
	cases := []struct {
		name string
		s    *model.Snapshot
		want string // "" or a part of the reason
	}{
		{"cases ran", snap("succeeded", 2, trial("junit", 0, 0, 0), trial("junit", 3, 0, 0)), ""},
		{"only skipped cases: they ran", snap("succeeded", 1, trial("junit", 0, 2, 0)), ""},
		{"every report empty", snap("succeeded", 2, trial("junit", 0, 0, 0), trial("rspec-json", 0, 0, 0)), "no test case ran: the reports of all 2 spec files"},
		{"exit codes only: nobody can tell", snap("succeeded", 2, trial("exit-code", 0, 0, 0), trial("exit-code", 0, 0, 0)), ""},
		{"empty reports beside exit codes", snap("succeeded", 2, trial("exit-code", 0, 0, 0), trial("junit", 0, 0, 0)), "all 1 spec files"},
		{"tasks missing", snap("succeeded", 3, trial("junit", 1, 0, 0)), "2 of its 3 spec files are missing"},
		{"failed: its own verdict", snap("failed", 1, trial("junit", 0, 0, 0)), ""},
		{"cancelled", snap("cancelled", 1, trial("junit", 0, 0, 0)), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			why := client.TestedNothing(tc.s)
			o := &client.Outcome{Key: tc.s.Key, Snapshot: tc.s, Verdict: model.VerdictOf(tc.s.Taskset)}
			before := o.Verdict
			require.Equal(t, why, client.RequireTests(o))
			if tc.want == "" {
				require.Empty(t, why)
				require.Equal(t, before, o.Verdict, "RequireTests changes nothing")
				return
			}
			require.Contains(t, why, tc.want)
			require.Equal(t, model.Infra, o.Verdict)
			require.Equal(t, 4, o.Verdict.ExitCode())
			require.Contains(t, client.Headline(tc.s, o.Verdict, o.Note), "succeeded ["+why)
		})
	}
}
