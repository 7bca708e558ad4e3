package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/proc/proctest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

const wkWait = 30 * time.Second

// wkStart runs `rrr worker` with args after the global flags.
func wkStart(t *testing.T, bin string, srv *redistest.Server, ns string, args ...string) *proc {
	t.Helper()
	return spawn(t, bin, append([]string{"--redis", srv.URL(), "--namespace", ns, "--log-format", "json", "worker"}, args...)...)
}

func wkAlive(t *testing.T, c *schema.Client, worker string) {
	t.Helper()
	require.Eventually(t, func() bool {
		ok, err := c.Alive(context.Background(), worker)
		return err == nil && ok
	}, wkWait, 20*time.Millisecond, "the worker did not register")
}

func TestWorkerCommandRunsATasksetAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	bin, srv := build(t), ownRedis(t, redistest.Options{})
	ctx := context.Background()
	c := schema.NewClient(srv.Client(), "e2e")
	dir := t.TempDir()
	project := filepath.Join(dir, "remote", "alice")
	require.NoError(t, os.MkdirAll(filepath.Join(project, "spec"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(project, "spec", "a.sh"), []byte("echo slave $SLAVE_NUMBER of $NUM_SLAVES"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(project, "spec", "b.sh"), []byte("echo broken >&2; exit 1"), 0o644))
	looptest.StartArbiter(t, c)

	p := wkStart(t, bin, srv, "e2e", "--id", "box-1", "--slaves", "2", "--working-dir", filepath.Join(dir, "work"),
		"--rsync-remote-path", filepath.Join(dir, "remote"), "--heartbeat-ttl", "3", "--heartbeat-interval", "500ms")
	key := c.Keys.Worker("box-1")
	wkAlive(t, c, key)
	ts, err := c.CreateTaskset(ctx, "t1", schema.TasksetSpec{RsyncName: "alice", SetupCommand: "echo set up $NUM_SLAVES",
		TrialCommand: "sh {file}", MaxTrials: 1, Specs: []string{"spec/a.sh", "spec/b.sh"}})
	require.NoError(t, err)
	out, err := c.Dispatch(ctx, ts, key)
	require.NoError(t, err)
	require.Equal(t, schema.DispatchOK, out)

	require.Eventually(t, func() bool {
		s, _ := c.Field(ctx, ts, schema.FStatus)
		return schema.IsFinal(s)
	}, wkWait, 20*time.Millisecond)
	snap, err := model.NewReader(c).Load(ctx, ts, model.LoadOptions{Output: true, Logs: true})
	require.NoError(t, err)
	require.Equal(t, schema.StatusFailed, snap.Status)
	for _, k := range snap.Tasks {
		require.Len(t, k.Trials, 1)
		switch k.SpecFile {
		case "spec/a.sh":
			require.Equal(t, schema.StatusPassed, k.Trials[0].Status)
			require.Regexp(t, `^slave [12] of 2\n$`, k.Trials[0].Stdout)
		case "spec/b.sh":
			require.Equal(t, schema.StatusFailed, k.Trials[0].Status)
			require.Equal(t, "broken\n", k.Trials[0].Stderr)
		}
	}
	require.Contains(t, snap.WorkerLogs[0].Log, "set up 2\n")

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, p.exit(t, wkWait))
	alive, err := c.Alive(ctx, key)
	require.NoError(t, err)
	require.False(t, alive)
	require.Contains(t, p.stderr.String(), "worker stopped")
}

func TestWorkerCommandSecondSignalKillsSlaves(t *testing.T) {
	t.Parallel()
	bin, srv := build(t), ownRedis(t, redistest.Options{})
	ctx := context.Background()
	c := schema.NewClient(srv.Client(), "e2e")
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "slave.pid")
	// A custom slave that ignores SIGTERM: only the second signal, which
	// does not wait for the (long) grace, ends it.
	p := wkStart(t, bin, srv, "e2e", "--id", "box-2", "--slaves", "1", "--working-dir", filepath.Join(dir, "work"),
		"--stop-grace", "10m")
	key := c.Keys.Worker("box-2")
	wkAlive(t, c, key)
	project := filepath.Join(dir, "project")
	require.NoError(t, os.MkdirAll(project, 0o755))
	ts, err := c.CreateTaskset(ctx, "t2", schema.TasksetSpec{RsyncName: "project", RsyncRemotePath: dir,
		SlaveCommand: "trap '' TERM; echo $$ > " + pidFile + "; sleep 600", Specs: []string{"a"}})
	require.NoError(t, err)
	out, err := c.Dispatch(ctx, ts, key)
	require.NoError(t, err)
	require.Equal(t, schema.DispatchOK, out)

	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, wkWait, 20*time.Millisecond)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), "stopping 1 slave(s)") },
		wkWait, 20*time.Millisecond)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, p.exit(t, wkWait))
	require.Error(t, syscall.Kill(pid, 0), "the slave was killed")
}

func TestWorkerCommandUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"rrr", "worker", "--slaves", "0"}, "--slaves 0: give 1 or more"},
		{[]string{"rrr", "worker", "--setup-timeout", "soon"}, `--setup-timeout "soon": want a duration`},
		{[]string{"rrr", "--redis", "redis://127.0.0.1:1/0", "worker", "--heartbeat-ttl", "1s", "--heartbeat-interval", "2s"},
			"heartbeat interval 2s must be shorter than its TTL 1s"},
		{[]string{"rrr", "worker", "--id", "a:b"}, `worker id "a:b"`},
		{[]string{"rrr", "worker", "extra"}, "takes no arguments"},
		{[]string{"rrr", "slave"}, "RRR_TASKSET is not set: `rrr slave` is started by `rrr worker`"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		require.Equal(t, exitUsage, code, "%v: %s", c.args, stderr.String())
		require.Contains(t, stderr.String(), c.want, c.args)
	}
}

func TestWorkerCommandKilledTakesItsSlavesAlong(t *testing.T) {
	t.Parallel()
	bin, srv := build(t), ownRedis(t, redistest.Options{})
	ctx := context.Background()
	c := schema.NewClient(srv.Client(), "e2e")
	dir := t.TempDir()
	trialPid := filepath.Join(dir, "trial.pid")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "project"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "project", "hang.sh"),
		[]byte("echo $$ > "+trialPid+"; exec sleep 600"), 0o644))
	p := wkStart(t, bin, srv, "e2e", "--id", "box-3", "--slaves", "1", "--working-dir", filepath.Join(dir, "work"))
	key := c.Keys.Worker("box-3")
	wkAlive(t, c, key)
	ts, err := c.CreateTaskset(ctx, "t3", schema.TasksetSpec{RsyncName: "project", RsyncRemotePath: dir,
		TrialCommand: "sh {file}", Specs: []string{"hang.sh"}})
	require.NoError(t, err)
	out, err := c.Dispatch(ctx, ts, key)
	require.NoError(t, err)
	require.Equal(t, schema.DispatchOK, out)

	var trial int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(trialPid)
		if err != nil {
			return false
		}
		trial, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, wkWait, 20*time.Millisecond)
	t.Cleanup(func() { _ = syscall.Kill(trial, syscall.SIGKILL) })
	slaves, err := c.List(ctx, schema.TasksetSlaves(ts))
	require.NoError(t, err)
	require.Len(t, slaves, 1)
	pid, err := c.Field(ctx, slaves[0], schema.FPid)
	require.NoError(t, err)
	slave, err := strconv.Atoi(pid)
	require.NoError(t, err)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	p.exit(t, wkWait)
	for what, pid := range map[string]int{"slave": slave, "trial": trial} {
		require.Eventually(t, func() bool { return !proctest.Alive(pid) },
			wkWait, 20*time.Millisecond, "the %s outlived its killed worker", what)
	}
}
