package client_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func TestWriteShow(t *testing.T) {
	s := finished()
	s.RsyncName, s.TrialCommand, s.ResultFormat = "alice", "rspec {file}", "auto"
	var buf bytes.Buffer
	client.WriteShow(&buf, s, client.ShowOptions{Now: t0.Add(time.Hour)})
	out := buf.String()
	for _, want := range []string{
		"taskset  rrrspec:taskset:x",
		"status   failed (tests failed)",
		"specs    3: 2 passed, 0 pending, 1 failed, 1 flaky, 0 without a verdict, 0 not run",
		"created  2026-01-01T12:00:00Z, finished 2026-01-01T12:01:10Z, wall 1m10s by alice",
		"command  rspec {file} (format auto)",
		"flaky   b_spec.rb  20s   failed, passed",
		"failed  c_spec.rb  5.0s  timeout, error, failed",
		"(1 passed specs not listed: --verbose lists every spec and trial)",
	} {
		require.Contains(t, out, want)
	}
	require.NotContains(t, out, "a_spec.rb", "passed specs only with --verbose")
	require.NotContains(t, out, "line 1\n", "outputs only with --show-errors")

	buf.Reset()
	client.WriteShow(&buf, s, client.ShowOptions{Verbose: true, Now: t0.Add(time.Hour)})
	out = buf.String()
	require.Contains(t, out, "passed  a_spec.rb")
	require.Contains(t, out, "trial 1: passed in 1m00s [s1]")
	require.Contains(t, out, "balance:")

	buf.Reset()
	client.WriteShow(&buf, s, client.ShowOptions{ShowErrors: true})
	out = buf.String()
	require.Contains(t, out, "== c_spec.rb: failed after 3 trial(s)")
	require.Contains(t, out, "     line 1\n", "the whole output")
	require.Contains(t, out, "== b_spec.rb", "flaky specs too")

	running := snapshot("running", task("a.rb", "", nil, trial("", 0, -1, "s")), task("b.rb", "", nil))
	buf.Reset()
	client.WriteShow(&buf, running, client.ShowOptions{Now: t0.Add(time.Minute)})
	require.Contains(t, buf.String(), "running for 1m00s")
	require.Contains(t, buf.String(), "running  a.rb")
	require.Contains(t, buf.String(), "queued   b.rb")
}

func TestCancel(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("c", "a.rb")
		stopped, err := f.cl.Cancel(ctx, ts, "by a test")
		require.NoError(t, err)
		require.True(t, stopped)
		got, err := f.cl.Reader.Taskset(ctx, ts)
		require.NoError(t, err)
		require.Equal(t, schema.StatusCancelled, got.Status)
		require.Equal(t, "by a test", got.StatusReason)
		cmds, err := b.RDB.LRange(ctx, f.sc.Keys.ArbiterQueue(), 0, -1).Result()
		require.NoError(t, err)
		require.Equal(t, []string{"cancel\t" + ts}, cmds)

		stopped, err = f.cl.Cancel(ctx, ts, "again")
		require.NoError(t, err)
		require.False(t, stopped, "it had finished")
		got, err = f.cl.Reader.Taskset(ctx, ts)
		require.NoError(t, err)
		require.Equal(t, "by a test", got.StatusReason, "a second cancel changes nothing")

		_, err = f.cl.Cancel(ctx, f.sc.Keys.Taskset("nope"), "x")
		require.ErrorIs(t, err, client.ErrNotFound)
	})
}

func TestCancelAll(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		a1 := f.create("a1", "x.rb")
		a2 := f.create("a2", "x.rb")
		bob, err := f.sc.CreateTaskset(ctx, "b1", schema.TasksetSpec{RsyncName: "bob", TrialCommand: "t {file}", Specs: []string{"x.rb"}})
		require.NoError(t, err)
		keys, err := f.cl.CancelAll(ctx, "alice", "all of alice's")
		require.NoError(t, err)
		require.ElementsMatch(t, []string{a1, a2}, keys)
		active, err := f.cl.Reader.Active(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{bob}, active)
		keys, err = f.cl.CancelAll(ctx, "carol", "none")
		require.NoError(t, err)
		require.Empty(t, keys)
	})
}

func TestActives(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		as, err := f.cl.Actives(ctx)
		require.NoError(t, err)
		require.Empty(t, as)
		var buf bytes.Buffer
		client.WriteActives(&buf, as, time.Now())
		require.Equal(t, "no active tasksets\n", buf.String())

		ts := f.create("act", "a.rb", "b.rb")
		_, slave := f.worker("w1", "default", ts)
		f.run(ts, slave, failed("x"))
		f.create("act2", "c.rb")
		as, err = f.cl.Actives(ctx)
		require.NoError(t, err)
		require.Len(t, as, 2)
		require.Equal(t, "act", as[0].ID, "oldest first")
		require.Equal(t, 0, as[0].Done, "a failed trial is not done yet")
		require.Equal(t, 2, as[0].TaskCount)

		buf.Reset()
		client.WriteActives(&buf, as, as[0].CreatedAt.Add(90*time.Second))
		require.Regexp(t, `TASKSET\s+BY\s+TYPE\s+DONE\s+FAILED\s+AGE\n`, buf.String())
		require.Regexp(t, `act\s+alice\s+default\s+0/2\s+0\s+1m30s\n`, buf.String())
	})
}

func TestNodes(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("n", "a.rb")
		f.worker("busy", "default", ts)
		f.worker("idle", "gpu", "")
		dead := f.sc.Keys.Worker("dead")
		_, err := f.sc.RegisterWorker(ctx, dead, time.Second, map[string]string{schema.FWorkerType: "default"})
		require.NoError(t, err)
		if b.Mini != nil {
			b.Mini.FastForward(2 * time.Second)
		} else {
			require.NoError(t, b.RDB.Del(ctx, schema.Heartbeat(dead)).Err())
		}
		// A tripped circuit breaker (trip_breaker.lua) marks the worker.
		require.NoError(t, b.RDB.HSet(ctx, f.sc.Keys.Worker("idle"), schema.FUnhealthy, "its last 5 trials failed fast",
			schema.FUnhealthyAt, "2026-12-04T10:00:00Z").Err())
		live, nDead, err := f.cl.Nodes(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, nDead)
		require.Len(t, live, 2)
		var buf bytes.Buffer
		client.WriteNodes(&buf, f.sc.Keys, live, nDead)
		out := buf.String()
		require.Regexp(t, `busy\s+default\s+\s+1\s+taskset n, 1 slave\(s\) running\s+ok\n`, out)
		require.Regexp(t, `idle\s+gpu\s+\s+1\s+idle\s+UNHEALTHY since 20\d\d-\S+: circuit breaker tripped, its last 5 trials failed fast\n`, out)
		require.Contains(t, out, "(1 dead worker(s) not listed")

		buf.Reset()
		client.WriteNodes(&buf, f.sc.Keys, nil, 0)
		require.Contains(t, buf.String(), "no live workers")
	})
}

func TestResolveKey(t *testing.T) {
	keys := schema.NewKeys("ns")
	for arg, want := range map[string]string{"alice-1": "ns:taskset:alice-1", "ns:taskset:alice-1": "ns:taskset:alice-1"} {
		got, err := client.ResolveKey(keys, arg)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"", "other:taskset:a", "ns:worker:w"} {
		_, err := client.ResolveKey(keys, bad)
		require.ErrorIs(t, err, client.ErrBadKey, bad)
		require.True(t, client.IsUsage(err))
	}
}
