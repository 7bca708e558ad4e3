package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// workingDir is the --working-dir worker i was started with.
func (f *fleet) workingDir(t *testing.T, i int) string {
	t.Helper()
	args := f.workerArgs[i]
	for j := 0; j+1 < len(args); j++ {
		if args[j] == "--working-dir" {
			return args[j+1]
		}
	}
	t.Fatalf("worker %d has no --working-dir", i)
	return ""
}

// A bad box beside a healthy one (issue 15.2): every trial on w1 fails at
// once (a marker file in its working dir stands for a broken machine).
// Its circuit breaker (--breaker 5) trips after 5 fast failures: it leaves the taskset,
// which succeeds with every spec passed on w0; the summary names w1, and
// `rrr nodes` shows it unhealthy, in its table and its JSON.
func TestBreakerEndToEnd(t *testing.T) {
	f := newFleet(t, fleetOptions{workers: 2, slaves: 2, workerArgs: []string{"--breaker", "5"},
		serverArgs: []string{"--interval", "500ms", "--sweep-interval", "1s"}})
	require.NoError(t, os.WriteFile(filepath.Join(f.workingDir(t, 1), "BAD_BOX"), nil, 0o644))
	files := map[string]string{}
	for i := range 12 {
		// The trial runs in <working dir>/copies/<rsync name>.
		files[fmt.Sprintf("specs/s%02d.sh", i)] = "[ -e ../../BAD_BOX ] && { echo 'this box is broken' >&2; exit 1; }\nsleep 0.3\n"
	}
	dir := project(t, files)
	run, key := f.start(t, "--wait", "--dir", dir, "--trial-command", "sh {file}", "--format", "exit-code",
		"--rsync-name", "breaker", "specs/*.sh")
	require.Equal(t, exitOK, run.exit(t, 2*time.Minute), run.stderr.String())
	bad, good := f.workerKey(1), f.workerKey(0)
	require.Contains(t, run.stderr.String(), "rrr: worker "+bad+" left the taskset because its trials failed fast")
	require.NotContains(t, run.stderr.String(), "flaky specs", "the bad box's failures are discounted, not flakiness")

	s := f.snapshot(t, key)
	require.Len(t, s.Tasks, 12)
	failedOnBad := 0
	for _, k := range s.Tasks {
		require.Equal(t, schema.StatusPassed, k.Status, k.Key)
		for _, tr := range k.Trials {
			if tr.Status == schema.StatusPassed {
				require.True(t, strings.HasPrefix(tr.Slave, good+":"), "%s passed on the healthy worker, not %s", k.Key, tr.Slave)
			} else if strings.HasPrefix(tr.Slave, bad+":") && tr.FastFailure {
				failedOnBad++
			}
		}
	}
	require.GreaterOrEqual(t, failedOnBad, 5, "the bad box failed the trials that tripped its breaker")
	require.Equal(t, "", redistest.HGet(t, f.rdb, bad, schema.FTaskset), "the bad worker left the taskset")

	nodes := spawnEnv(t, f.env, f.bin, append(append([]string{}, f.global...), "nodes")...)
	require.Equal(t, exitOK, nodes.exit(t, 30*time.Second), nodes.stderr.String())
	out := nodes.stdout.String()
	require.Regexp(t, `(?m)^w1\s.*UNHEALTHY since \S+: circuit breaker tripped, its last 5 trials failed`, out)
	require.Regexp(t, `(?m)^w0\s.*\sok$`, out)

	js := spawnEnv(t, f.env, f.bin, append(append([]string{}, f.global...), "nodes", "--json")...)
	require.Equal(t, exitOK, js.exit(t, 30*time.Second), js.stderr.String())
	var ws []struct {
		ID          string `json:"id"`
		Unhealthy   string `json:"unhealthy"`
		UnhealthyAt string `json:"unhealthy_at"`
	}
	require.NoError(t, json.Unmarshal([]byte(js.stdout.String()), &ws))
	require.Len(t, ws, 2)
	for _, w := range ws {
		if w.ID == "w1" {
			require.Contains(t, w.Unhealthy, "its last 5 trials failed")
			require.NotEmpty(t, w.UnhealthyAt)
		} else {
			require.Empty(t, w.Unhealthy)
		}
	}
}
