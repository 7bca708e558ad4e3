package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A green run that tested nothing: every report is empty (the glob of the
// test framework matched nothing, say). The harness sets CI, which turns
// --require-tests on.
func TestRequireTests(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	bin := build(t)
	dir := project(t, map[string]string{
		"empty.sh": `echo '<testsuite name="none" tests="0"></testsuite>' > "$1"` + "\n",
		"t/a.sh":   "", "t/b.sh": "",
	})
	args := []string{"--slaves", "1", "--dir", dir, "--format", "junit", "--trial-command", "sh empty.sh {report}", "t/*.sh"}

	code, out, s := runLocal(t, bin, t.TempDir(), args...)
	require.Equal(t, 4, code, out)
	require.NotNil(t, s, out)
	require.Equal(t, "succeeded", s.Status, "the taskset itself succeeded")
	require.Contains(t, out, "succeeded [no test case ran: the reports of all 2 spec files hold none")
	require.Contains(t, out, "--require-tests]")

	code, out, _ = runLocal(t, bin, t.TempDir(), append([]string{"--require-tests=false"}, args...)...)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "rrr: warning: ")
	require.Contains(t, out, "succeeded, but no test case ran")

	// Trials read by their exit code have no cases to count: no warning.
	code, out, _ = runLocal(t, bin, t.TempDir(), "--slaves", "1", "--dir", dir, "--format", "exit-code",
		"--trial-command", "sh {file}", "t/*.sh")
	require.Equal(t, 0, code, out)
	require.NotContains(t, out, "no test case ran")
}
