package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

func TestServerCommandsRefuseBadUsage(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"argument":                   {[]string{"server", "extra"}, exitUsage, "takes no arguments"},
		"bad duration":               {[]string{"server", "--keep", "soon"}, exitUsage, "--keep"},
		"zero interval":              {[]string{"dispatcher", "--interval", "0"}, exitUsage, "more than zero"},
		"negative sweep":             {[]string{"arbiter", "--sweep-interval", "-5s"}, exitUsage, "negative"},
		"unknown flag":               {[]string{"persister", "--sweep-interval", "5s"}, exitUsage, "sweep-interval"},
		"unreachable redis":          {[]string{"--redis", "redis://127.0.0.1:1/0", "server", "--redis-wait", "0"}, exitInfra, "redis unreachable"},
		"unreachable after the wait": {[]string{"--redis", "redis://127.0.0.1:1/0", "arbiter", "--redis-wait", "600ms"}, exitInfra, "redis unreachable"},
		"bad wait":                   {[]string{"persister", "--redis-wait", "soon"}, exitUsage, "--redis-wait"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"rrr"}, tc.args...), &stdout, &stderr)
		require.Equal(t, tc.code, code, "%s: %s", name, stderr.String())
		require.Contains(t, stderr.String(), tc.msg, name)
	}
}

// TestServerProcess runs `rrr server` as a process: it dispatches a
// taskset, settles it, persists it, and stops cleanly on SIGTERM.
func TestServerProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rrr and runs it as a process")
	}
	srv := ownRedis(t, redistest.Options{})
	rdb := srv.Client()
	t.Cleanup(func() { _ = rdb.Close() })
	bin := build(t)
	results := t.TempDir()

	var logs looptest.Logs
	cmd := exec.Command(bin, "--redis", srv.URL(), "--namespace", "proc", "--log-format", "json", "--log-level", "debug",
		"server", "--results-dir", results, "--interval", "1", "--sweep-interval", "1s", "--rsync-remote-path", "files:/srv/rrr")
	cmd.Stderr = &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	ctx := context.Background()
	c := schema.NewClient(rdb, "proc")
	ts, err := c.CreateTaskset(ctx, "p1", schema.TasksetSpec{TrialCommand: "true {file}", Specs: []string{"a_spec.rb"}})
	require.NoError(t, err)
	w := c.Keys.Worker("box")
	_, err = c.RegisterWorker(ctx, w, time.Minute, map[string]string{schema.FWorkerType: "default"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		q, err := rdb.LRange(ctx, schema.WorkerQueue(w), 0, -1).Result()
		return err == nil && len(q) == 1 && q[0] == ts
	}, 20*time.Second, 20*time.Millisecond, "the dispatcher gives the taskset to the worker:\n%s", logs.String())

	slave := schema.Slave(w, "1")
	require.NoError(t, c.RegisterSlave(ctx, ts, slave, time.Minute, map[string]string{schema.FWorker: w}))
	_, task, err := c.TakeTask(ctx, ts, slave)
	require.NoError(t, err)
	_, trial, _, err := c.StartTrial(ctx, ts, task, "1", slave)
	require.NoError(t, err)
	_, err = c.FinishTrial(ctx, trial, schema.Result{Status: schema.StatusPassed, Passed: 1})
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		s, err := store.Read(results, "p1")
		return err == nil && s.Status == schema.StatusSucceeded
	}, 20*time.Second, 20*time.Millisecond, "the arbiter settles it and the persister stores it:\n%s", logs.String())
	info, err := rdb.HGetAll(ctx, c.Keys.RsyncInfo()).Result()
	require.NoError(t, err)
	require.Equal(t, map[string]string{schema.FRsyncRemotePath: "files:/srv/rrr"}, info)
	start := logs.Find("rrr server starting")
	require.Len(t, start, 1)
	require.Equal(t, "proc", start[0]["namespace"])
	require.Equal(t, srv.URL(), start[0]["redis"])

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("rrr server exited with %d on SIGTERM:\n%s", exit.ExitCode(), logs.String())
		}
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatalf("rrr server did not stop within 15s of SIGTERM:\n%s", logs.String())
	}
	for _, msg := range []string{"dispatcher stopped", "arbiter stopped", "persister stopped"} {
		require.Len(t, logs.Find(msg), 1, msg)
	}
	require.Zero(t, logs.Count("error", ""), logs.String())
}

// TestSecondSignalForcesExit runs stopOnSignals in a copy of the test
// binary whose stop never finishes: the first SIGTERM asks it to stop, the
// second ends it with exitInfra.
func TestSecondSignalForcesExit(t *testing.T) {
	if os.Getenv("RRR_TEST_SIGNALS") == "1" {
		ctx, stop := stopOnSignals(zerolog.New(os.Stderr))
		defer stop()
		fmt.Println("ready")
		<-ctx.Done()
		fmt.Println("stopping")
		select {} // a stop that hangs
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignalForcesExit$")
	cmd.Env = append(os.Environ(), "RRR_TEST_SIGNALS=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(out)
	require.True(t, lines.Scan())
	require.Equal(t, "ready", lines.Text())
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.True(t, lines.Scan())
	require.Equal(t, "stopping", lines.Text(), "the first signal cancels the context")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, exitInfra, exit.ExitCode(), "the second signal forces the exit")
}

// A server (or worker) started while Redis is down, restarting or paused
// waits for it (--redis-wait) instead of exiting: under a supervisor that
// does not restart it, it would otherwise stay down.
func TestServerWaitsForRedisAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rrr and runs it as a process")
	}
	bin := build(t)
	port, err := redistest.FreePort()
	require.NoError(t, err)
	url := "redis://127.0.0.1:" + strconv.Itoa(port) + "/0"
	p := spawn(t, bin, "--redis", url, "--namespace", "wait", "server", "--results-dir", t.TempDir(),
		"--rsync-remote-path", "/srv/rrr", "--redis-wait", "60s")
	w := spawn(t, bin, "--redis", url, "--namespace", "wait", "worker", "--id", "late", "--working-dir", t.TempDir(), "--redis-wait", "60s")
	require.Eventually(t, func() bool {
		return strings.Contains(p.stderr.String(), "waiting for redis") && strings.Contains(w.stderr.String(), "waiting for redis")
	}, 30*time.Second, 20*time.Millisecond, "both say they wait")
	require.False(t, p.exited(), p.stderr.String())

	srv := ownRedis(t, redistest.Options{Port: port})
	rdb := srv.Client()
	t.Cleanup(func() { _ = rdb.Close() })
	c := schema.NewClient(rdb, "wait")
	require.Eventually(t, func() bool {
		path, _ := rdb.HGet(context.Background(), c.Keys.RsyncInfo(), schema.FRsyncRemotePath).Result()
		alive, _ := c.Alive(context.Background(), c.Keys.Worker("late"))
		return path == "/srv/rrr" && alive
	}, 30*time.Second, 20*time.Millisecond, "the server and the worker came up with Redis: %s", p.stderr.String())
}
