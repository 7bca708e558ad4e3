package model_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
)

func TestVerdictAndExitCode(t *testing.T) {
	cases := []struct {
		name    string
		ts      model.Taskset
		verdict model.Verdict
		code    int
	}{
		{"succeeded", model.Taskset{Status: "succeeded"}, model.Succeeded, 0},
		{"tests failed", model.Taskset{Status: "failed", FailedCount: 2}, model.TestsFailed, 1},
		{"cancelled", model.Taskset{Status: "cancelled", FailedCount: 1}, model.Cancelled, 3},
		{"setup failed: no failed spec", model.Taskset{Status: "failed", StatusReason: "setup failed"}, model.Infra, 4},
		{"failed with a reason despite failed specs", model.Taskset{Status: "failed", FailedCount: 1, StatusReason: "slaves keep crashing"}, model.Infra, 4},
		{"failed, no reason, no failed spec", model.Taskset{Status: "failed"}, model.Infra, 4},
		{"failed specs only errored", model.Taskset{Status: "failed", FailedCount: 2, ErrorCount: 2}, model.Infra, 4},
		{"one spec failed a test, one errored", model.Taskset{Status: "failed", FailedCount: 2, ErrorCount: 1}, model.TestsFailed, 1},
		{"running", model.Taskset{Status: "running"}, model.Running, 5},
		{"being created", model.Taskset{Status: ""}, model.Running, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := model.VerdictOf(tc.ts)
			require.Equal(t, tc.verdict, v)
			require.Equal(t, tc.code, v.ExitCode())
		})
	}
}
