package arbiter_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/arbiter"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// A taskset with a field that cannot be read is failed once, with the field
// and its value as the reason, and leaves the active list for the
// persister; the next sweep does not touch it again.
func TestSweepSetsAsideAnUnreadableTaskset(t *testing.T) {
	for name, tc := range map[string]struct{ field, value string }{
		"max_trials": {schema.FMaxTrials, "notanumber"},
		"created_at": {schema.FCreatedAt, "2026-12-03 06:14:18 +0900 garbage"},
		"status":     {schema.FStatus, "bogus"},
	} {
		t.Run(name, func(t *testing.T) {
			redistest.Each(t, func(t *testing.T, b redistest.Backend) {
				e := newEnv(b)
				a := e.arbiter(t, "a1", 0)
				ts := e.create(t, "poison", 3, "a", "b")
				good := e.create(t, "good", 3, "c")
				s := e.slave(t, ts, "s1")
				e.run(t, ts, s, schema.StatusPassed)
				require.NoError(t, e.rd.HSet(ctx, ts, tc.field, tc.value).Err())

				require.NoError(t, a.Sweep(ctx))
				require.Equal(t, schema.StatusFailed, e.hget(t, ts, schema.FStatus))
				reason := e.hget(t, ts, schema.FStatusReason)
				require.Contains(t, reason, tc.field)
				require.Contains(t, reason, tc.value)
				require.Equal(t, []string{good}, e.list(t, e.k.ActiveTaskset()))
				require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))
				require.Equal(t, 1, e.logs.Count("warn", "failed a taskset that cannot be read; fix the client that wrote it"))

				require.NoError(t, a.Check(ctx, ts))
				require.NoError(t, a.Sweep(ctx))
				require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()), "failed once")
				require.Equal(t, schema.StatusRunning, e.hget(t, good, schema.FStatus))
			})
		})
	}
}

// A task's trial list overwritten with a string mid-run: the sweep settles
// that task as error, naming the key, and the taskset finishes instead of
// staying running for ever.
func TestSweepSettlesATaskWithACorruptTrialList(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "corrupt", 3, "a", "b")
		s := e.slave(t, ts, "s1")
		task, _ := e.run(t, ts, s, schema.StatusPassed)
		handle(t, a, schema.CmdTrial, e.list(t, schema.TaskTrials(task))[0])
		other := schema.Task(ts, "b")
		if other == task {
			other = schema.Task(ts, "a")
		}
		require.NoError(t, e.rd.Set(ctx, schema.TaskTrials(other), "x", 0).Err())

		require.NoError(t, a.Sweep(ctx))
		require.Equal(t, schema.StatusFailed, e.hget(t, other, schema.FStatus))
		require.Equal(t, schema.FailureError, e.hget(t, other, schema.FFailureKind))
		require.Contains(t, e.hget(t, other, schema.FError), schema.TaskTrials(other))
		require.Equal(t, schema.StatusFailed, e.hget(t, ts, schema.FStatus))
		require.Equal(t, "1", e.hget(t, ts, schema.FErrorCount))
		require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))
	})
}

// A real redis-server stops for longer than the slaves' heartbeat TTL and
// comes back from its append-only file (19.9): every heartbeat has expired.
// The slave that lived through it beats again and keeps its trial; the one
// that died with the outage has its trial recovered, after the grace.
func TestOutageDoesNotErrorTheTrialsOfLiveSlaves(t *testing.T) {
	srv, err := redistest.Start(redistest.Options{AppendOnly: true})
	if err != nil {
		if redistest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(srv.Stop)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	e := newEnv(redistest.Backend{Name: "redis", RDB: rdb, NS: "outage"})
	const ttl = 500 * time.Millisecond
	ts := e.create(t, "o", 1, "a", "b")
	live, dead := e.slave(t, ts, "live"), e.slave(t, ts, "dead")
	for _, s := range []string{live, dead} {
		require.NoError(t, e.c.Beat(ctx, s, ttl))
	}
	liveTrial := e.start(t, ts, e.take(t, ts, live), live)
	deadTrial := e.start(t, ts, e.take(t, ts, dead), dead)

	a, err := arbiter.New(arbiter.Config{ConsumerID: "a1", SweepInterval: 50 * time.Millisecond, OutageGrace: 2 * ttl,
		Queue:      loopx.ConsumerConfig{ConsumerTTL: 5 * time.Second, BeatInterval: 50 * time.Millisecond, RecoverInterval: 50 * time.Millisecond},
		BackoffMin: time.Millisecond, BackoffMax: 50 * time.Millisecond, LogInterval: time.Hour},
		arbiter.Deps{Client: e.c, Log: e.logs.Logger()})
	require.NoError(t, err)
	looptest.Start(t, a.Run)
	// The live slave beats as a real one does, at its interval, and goes
	// on through the outage (its beats fail meanwhile).
	beating := make(chan struct{})
	go func() {
		tick := time.NewTicker(ttl / 2)
		defer tick.Stop()
		for {
			select {
			case <-beating:
				return
			case <-tick.C:
				_ = e.c.Beat(ctx, live, ttl)
			}
		}
	}()
	t.Cleanup(func() { close(beating) })

	srv.Kill()
	require.Eventually(t, func() bool { return e.logs.Count("error", "retrying with backoff") > 0 }, 10*time.Second,
		5*time.Millisecond, "the arbiter notices the outage")
	time.Sleep(2 * ttl) // an outage longer than the heartbeat TTL: the heartbeats expire in it
	require.NoError(t, srv.Restart())

	require.Eventually(t, func() bool { return e.hget(t, deadTrial, schema.FStatus) == schema.StatusError },
		10*time.Second, 10*time.Millisecond, "the dead slave's trial is recovered after the grace")
	require.Equal(t, "", e.hget(t, liveTrial, schema.FStatus), "the live slave keeps its trial")
	require.Equal(t, 1, e.logs.Count("info", "redis is back"))
	e.finish(t, liveTrial, schema.StatusPassed)
	require.Eventually(t, func() bool {
		return e.hget(t, schema.Task(ts, "a"), schema.FStatus) != "" && e.hget(t, schema.Task(ts, "b"), schema.FStatus) != ""
	}, 10*time.Second, 10*time.Millisecond)
}

// The watch finds a slave that lost its heartbeat without exiting and
// checks its taskset at once: its running trial is recorded as error and
// its task queued again, long before a sweep. A live slave's trial and a
// slave that exited and said so are left alone.
func TestWatchRecoversTheWorkOfALostSlave(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", 3, "a_spec.rb", "b_spec.rb", "c_spec.rb")
		s1, s2, s3 := e.slave(t, ts, "1"), e.slave(t, ts, "2"), e.slave(t, ts, "3")
		taskA := e.take(t, ts, s1)
		lost := e.start(t, ts, taskA, s1)
		alive := e.start(t, ts, e.take(t, ts, s2), s2)
		e.kill(t, s3)
		require.NoError(t, e.rd.HSet(ctx, s3, schema.FStatus, schema.SlaveNormalExit).Err())
		a := e.arbiter(t, "a1", time.Hour)
		seen := map[string]bool{}

		require.NoError(t, arbiter.WatchOnce(a, ctx, seen))
		require.Empty(t, e.hget(t, lost, schema.FStatus), "its slave beats: not lost")
		require.Empty(t, seen)

		e.kill(t, s1)
		require.NoError(t, arbiter.WatchOnce(a, ctx, seen))
		require.Equal(t, schema.StatusError, e.hget(t, lost, schema.FStatus))
		require.Contains(t, e.hget(t, lost, schema.FError), "slave "+s1+" lost: heartbeat expired")
		require.NoError(t, a.Handle(ctx, schema.Command{Verb: schema.CmdTrial, Key: lost}.String()))
		require.Contains(t, e.list(t, schema.TaskQueue(ts)), taskA, "queued again for another slave")
		require.Empty(t, e.hget(t, alive, schema.FStatus), "a live slave's trial runs on")
		require.Equal(t, map[string]bool{s1: true}, seen, "checked once, not on every watch")
	})
}
