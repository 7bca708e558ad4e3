package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// --max-failures: the taskset stops at the Nth spec that failed for good,
// exit 1; the trials still running stop, the rest never run.
func TestMaxFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	bin := build(t)

	t.Run("one slave: the first failure stops it, the rest are not run", func(t *testing.T) {
		dir := project(t, map[string]string{"t/a.sh": "exit 1\n", "t/b.sh": "exit 1\n", "t/c.sh": "exit 1\n", "t/d.sh": "exit 1\n"})
		code, out, s := runLocal(t, bin, t.TempDir(), "--slaves", "1", "--max-trials", "1", "--max-failures", "1",
			"--dir", dir, "--trial-command", "sh {file}", "t/*.sh")
		require.Equal(t, 1, code, "a test failure, not an infrastructure error: %s", out)
		require.NotNil(t, s, out)
		require.Equal(t, "failed", s.Status)
		require.Equal(t, "max failures reached: 1 spec failed", s.StatusReason)
		require.Contains(t, out, "failed (max failures reached: 1 spec failed): 4 specs, 1 failed, 3 not run")
		ran := 0
		for _, task := range s.Tasks {
			ran += len(task.Trials)
		}
		require.Equal(t, 1, ran, "no trial after the failure that stopped it")
	})

	t.Run("a running trial is stopped on the other slave", func(t *testing.T) {
		dir := project(t, map[string]string{
			// The sleeper is the biggest file: first in the queue.
			"t/sleep.sh": "sleep 120\n# ...........................................\n",
			"t/fail.sh":  "sleep 1; exit 1\n",
		})
		code, out, s := runLocal(t, bin, t.TempDir(), "--slaves", "2", "--max-trials", "1", "--max-failures", "1",
			"--dir", dir, "--trial-command", "sh {file}", "t/*.sh")
		require.Equal(t, 1, code, out)
		require.NotNil(t, s, out)
		require.Equal(t, "max failures reached: 1 spec failed", s.StatusReason)
		sleeper := taskOf(s, "t/sleep.sh")
		require.Empty(t, sleeper.Status, "no verdict: stopped")
		require.Len(t, sleeper.Trials, 1, out)
		require.NotEqual(t, "passed", sleeper.Trials[0].Status, "it was stopped, not left to finish")
		require.NotEmpty(t, sleeper.Trials[0].Status, "and its trial was closed")
	})

	t.Run("a negative limit is a usage error", func(t *testing.T) {
		dir := project(t, map[string]string{"t/a.sh": ""})
		code, out, _ := runLocal(t, bin, t.TempDir(), "--max-failures", "-1", "--dir", dir, "--trial-command", "sh {file}", "t/*.sh")
		require.Equal(t, 2, code, out)
		require.Contains(t, out, "max-failures")
	})
}
