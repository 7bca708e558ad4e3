// Package proctest helps tests that watch real processes: whether a pid
// still runs, and the pid a test process wrote to a file.
package proctest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Alive reports whether process pid runs. A zombie (dead, not yet reaped
// by its parent) counts as dead.
func Alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// PidIn waits up to within for a pid that a test process writes to path.
func PidIn(t testing.TB, path string, within time.Duration) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, within, 10*time.Millisecond, "no pid in %s", path)
	return pid
}

// PidsIn reads the pids that test processes appended to path, one a line.
func PidsIn(t testing.TB, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		require.NoError(t, err)
		out = append(out, n)
	}
	return out
}
