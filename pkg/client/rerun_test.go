package client_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

func TestRerunOf(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.sh", "b.sh", "c.sh", "d.sh", "e.sh"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	ran := []model.Trial{{Status: "error", FinishedAt: model.Time{Time: time.Unix(1, 0)}}}
	s := &model.Snapshot{Taskset: model.Taskset{Key: "rrr:taskset:x", Status: "failed"}, Tasks: []model.Task{
		{SpecFile: "a.sh", Status: "passed"},
		{SpecFile: "b.sh", Status: "failed"},
		{SpecFile: "c.sh", Status: "failed", FailureKind: schema.FailureError},
		{SpecFile: "d.sh"},                      // never ran (stopped by max failures)
		{SpecFile: "e.sh", Trials: ran},         // ran, no verdict
		{SpecFile: "gone.sh", Status: "failed"}, // deleted since
		{SpecFile: "p.sh", Status: "pending"},
	}}
	r, err := client.RerunOf(s, dir)
	require.NoError(t, err)
	require.Equal(t, []string{"b.sh", "c.sh", "d.sh", "e.sh"}, r.Specs)
	require.Equal(t, []string{"gone.sh"}, r.Missing)
	require.Equal(t, 2, r.Skipped)
	require.Equal(t, "2 failed, 1 errored, 1 not run, 1 without a verdict", r.Why)
	require.Contains(t, r.String(), "4 spec file(s) that did not pass there")
	require.Contains(t, r.String(), "1 no longer in the project are skipped too: gone.sh")

	s.Status = "running"
	_, err = client.RerunOf(s, dir)
	require.ErrorIs(t, err, client.ErrStillRunning)
}

func TestInherit(t *testing.T) {
	old := model.Taskset{TrialCommand: "sh {file}", SetupCommand: "make", ResultFormat: "tap", MaxTrials: 1,
		TasksetClass: "ci", WorkerType: "big", UnknownSpecTimeoutSec: 60, LeastTimeoutSec: 5, MaxFailures: 3}
	ts := schema.TasksetSpec{TrialCommand: "", MaxTrials: 3, ResultFormat: "auto"}
	client.Inherit(&ts, old, func(string) bool { return false })
	require.Equal(t, "sh {file}", ts.TrialCommand)
	require.Equal(t, "make", ts.SetupCommand)
	require.Equal(t, "tap", ts.ResultFormat)
	require.Equal(t, 1, ts.MaxTrials)
	require.Equal(t, "ci", ts.TasksetClass)
	require.Equal(t, "big", ts.WorkerType)
	require.Equal(t, time.Minute, ts.UnknownSpecTimeout)
	require.Equal(t, 5*time.Second, ts.LeastTimeout)
	require.Equal(t, 3, ts.MaxFailures)

	// What the user gave wins.
	ts = schema.TasksetSpec{Runner: "pytest", MaxTrials: 2}
	client.Inherit(&ts, old, func(f string) bool { return f == "runner" || f == "max-trials" })
	require.Equal(t, "pytest", ts.Runner)
	require.Empty(t, ts.TrialCommand)
	require.Equal(t, 2, ts.MaxTrials)
}
