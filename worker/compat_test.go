package worker

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOriginalSlaveCommands(t *testing.T) {
	for _, c := range []struct {
		cmd             string
		original, under bool
	}{
		{"bundle exec rrrspec-client slave", true, true},
		{"bundle exec rrrspec slave", true, true},
		{"rrrspec-client slave", true, false},
		{"  cd local_test\n  bundle exec ../rrrspec-client/bin/rrrspec-client slave\n", true, true},
		{"bundle  exec  rrrspec-client  slave\n", true, true},
		{"", false, false},
		{"my-slave --fast", false, false},
		{"rm -rf /; rrrspec-client slave", false, false},
		{"echo hi\nrrrspec-client slave", false, false},
		{"rrrspec-client slave --extra", false, false},
	} {
		ok, bundled := originalSlave(c.cmd)
		require.Equal(t, c.original, ok, "%q", c.cmd)
		require.Equal(t, c.under, bundled, "%q", c.cmd)
		require.Equal(t, c.cmd != "" && !c.original, customSlave(c.cmd), "%q", c.cmd)
	}

	runner, format := defaultRunner("")
	require.Equal(t, "rspec", runner)
	require.Equal(t, "rspec-json", format)
	_, format = defaultRunner("junit")
	require.Equal(t, "junit", format, "a result format the taskset names is kept")
}
