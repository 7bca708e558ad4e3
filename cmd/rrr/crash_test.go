package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A spec that kills its slave is named in the summary, and after two such
// trials it gets its verdict (error: it crashed, it did not fail a test)
// instead of killing a slave on every worker up to --max-trials.
func TestSpecThatKillsItsSlave(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	bin := build(t)
	dir := project(t, map[string]string{
		"t/killer.sh": "kill -KILL $PPID; sleep 5\n# the biggest file: it runs first ..............\n",
		"t/fine.sh":   "exit 0\n",
	})
	code, out, s := runLocal(t, bin, t.TempDir(), "--slaves", "2", "--max-trials", "5",
		"--dir", dir, "--trial-command", "sh {file}", "t/*.sh")
	require.Equal(t, 4, code, "a crash, not a test failure: %s", out)
	require.NotNil(t, s, out)
	killer := taskOf(s, "t/killer.sh")
	require.Equal(t, "failed", killer.Status, out)
	require.Equal(t, "error", killer.Verdict())
	require.Contains(t, killer.Error, "killed their slave or runner 2 times")
	require.Len(t, killer.Trials, 2, "no third slave killed")
	for _, tr := range killer.Trials {
		require.Equal(t, "error", tr.Status)
		require.Equal(t, "slave", tr.Crashed)
	}
	require.Equal(t, "passed", taskOf(s, "t/fine.sh").Status)
	require.Contains(t, out, "slaves or runners that died while running a spec (2):")
	require.Contains(t, out, "t/killer.sh: its slave died under it")
}
