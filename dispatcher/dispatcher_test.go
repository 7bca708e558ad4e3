package dispatcher_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/dispatcher"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func TestMain(m *testing.M) {
	redis.SetLogger(loopx.RedisLogger(zerolog.Nop()))
	redistest.Main(m)
}

var ctx = context.Background()

type env struct {
	c    *schema.Client
	k    schema.Keys
	rd   *redis.Client
	logs *looptest.Logs
}

func newEnv(b redistest.Backend) *env {
	c := schema.NewClient(b.RDB, b.NS)
	return &env{c: c, k: c.Keys, rd: b.RDB, logs: &looptest.Logs{}}
}

func (e *env) dispatcher(t *testing.T, interval time.Duration) *dispatcher.Dispatcher {
	t.Helper()
	d, err := dispatcher.New(dispatcher.Config{Interval: interval, BackoffMin: time.Millisecond,
		BackoffMax: 10 * time.Millisecond, LogInterval: time.Hour}, dispatcher.Deps{Client: e.c, Log: e.logs.Logger()})
	require.NoError(t, err)
	return d
}

func (e *env) create(t *testing.T, id, workerType string, maxWorkers int) string {
	t.Helper()
	ts, err := e.c.CreateTaskset(ctx, id, schema.TasksetSpec{TrialCommand: "true {file}", WorkerType: workerType,
		MaxWorkers: maxWorkers, Specs: []string{"a_spec.rb"}})
	require.NoError(t, err)
	return ts
}

func (e *env) worker(t *testing.T, id, workerType string) string {
	t.Helper()
	w := e.k.Worker(id)
	_, err := e.c.RegisterWorker(ctx, w, time.Minute, map[string]string{schema.FWorkerType: workerType})
	require.NoError(t, err)
	return w
}

func (e *env) workers(t *testing.T, n int, workerType string) []string {
	var out []string
	for i := range n {
		out = append(out, e.worker(t, fmt.Sprintf("%s-%02d", workerType, i), workerType))
	}
	return out
}

func (e *env) hget(t *testing.T, key, field string) string {
	t.Helper()
	return redistest.HGet(t, e.rd, key, field)
}

func (e *env) list(t *testing.T, key string) []string {
	t.Helper()
	return redistest.List(t, e.rd, key)
}

// given returns, per taskset, the workers it was given (checking that each
// worker's queue and hash agree and that no worker has two).
func (e *env) given(t *testing.T, workers []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, w := range workers {
		q := e.list(t, schema.WorkerQueue(w))
		require.LessOrEqual(t, len(q), 1, "worker %s got two tasksets: %v", w, q)
		if len(q) == 1 {
			require.Equal(t, q[0], e.hget(t, w, schema.FTaskset))
			out[q[0]] = append(out[q[0]], w)
		} else {
			require.Equal(t, "", e.hget(t, w, schema.FTaskset))
		}
	}
	return out
}

func TestRoundGivesTasksetsOldestFirstWithinMaxWorkers(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		old := e.create(t, "old", "", 2)
		young := e.create(t, "young", "", 0)
		third := e.create(t, "third", "", 0)
		workers := e.workers(t, 5, "default")
		require.NoError(t, e.dispatcher(t, time.Hour).Round(ctx))
		got := e.given(t, workers)
		require.Len(t, got[old], 2, "the oldest taskset gets its max_workers")
		require.Len(t, got[young], 3, "the next one gets the rest (max_workers 0: no limit)")
		require.Empty(t, got[third])
		n, err := e.rd.SCard(ctx, schema.Assigned(old)).Result()
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
	})
}

func TestRoundMatchesWorkerTypes(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		gpu := e.create(t, "gpu", "gpu", 0)
		plain := e.create(t, "plain", "", 0)
		gpus := e.workers(t, 1, "gpu")
		plains := e.workers(t, 2, "default")
		untyped := e.worker(t, "untyped", "") // no type is the default type
		require.NoError(t, e.dispatcher(t, time.Hour).Round(ctx))
		got := e.given(t, append(append(gpus, plains...), untyped))
		require.Equal(t, gpus, got[gpu])
		require.ElementsMatch(t, append(plains, untyped), got[plain])
	})
}

func TestRoundRemovesDeadWorkersAndAsksForACheck(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", "", 1)
		busy := e.worker(t, "busy", "default")
		d := e.dispatcher(t, time.Hour)
		require.NoError(t, d.Round(ctx))
		require.Equal(t, ts, e.hget(t, busy, schema.FTaskset))
		idleDead := e.worker(t, "idle-dead", "gpu")
		live := e.worker(t, "live", "default")
		require.NoError(t, e.rd.SAdd(ctx, e.k.Workers(), e.k.Taskset("t")).Err()) // not a worker key
		for _, w := range []string{busy, idleDead} {
			require.NoError(t, e.rd.Del(ctx, schema.Heartbeat(w)).Err())
		}

		require.NoError(t, d.Round(ctx))
		members, err := e.rd.SMembers(ctx, e.k.Workers()).Result()
		require.NoError(t, err)
		require.ElementsMatch(t, []string{live, e.k.Taskset("t")}, members, "dead workers are removed")
		for _, w := range []string{busy, idleDead} {
			n, err := e.rd.Exists(ctx, w, schema.WorkerQueue(w)).Result()
			require.NoError(t, err)
			require.Zero(t, n, "the keys of %s are removed", w)
		}
		require.Equal(t, []string{"check\t" + ts}, e.list(t, e.k.ArbiterQueue()), "the arbiter recovers the dead worker's trials")
		require.Equal(t, ts, e.hget(t, live, schema.FTaskset), "the place of the dead worker is given again")
		require.Equal(t, "running", e.hget(t, ts, schema.FStatus), "a taskset is never touched by the key found in the worker set")
		require.Equal(t, 1, e.logs.Count("warn", "not a worker key"))
		require.Equal(t, 2, e.logs.Count("warn", "heartbeat expired"))
	})
}

func TestRoundSkipsWhatItCannotDispatch(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		left := e.create(t, "left", "", 0)
		stopped := e.create(t, "stopped", "", 0)
		next := e.create(t, "next", "", 0)
		w := e.worker(t, "w", "default")
		// the worker worked on "left" before and left it (its rsync failed)
		_, err := e.c.StartWorkerLog(ctx, left, w)
		require.NoError(t, err)
		// "stopped" is still listed although it was cancelled, and garbage is listed too
		require.NoError(t, e.rd.HSet(ctx, stopped, schema.FStatus, schema.StatusCancelled).Err())
		require.NoError(t, e.rd.LPush(ctx, e.k.ActiveTaskset(), "garbage", e.k.Taskset("gone")).Err())

		require.NoError(t, e.dispatcher(t, time.Hour).Round(ctx))
		require.Equal(t, map[string][]string{next: {w}}, e.given(t, []string{w}))
		require.Equal(t, 1, e.logs.Count("warn", "cannot dispatch"), "the garbage entry is logged: %s", e.logs.String())
	})
}

func TestRunWakesOnAToken(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		looptest.Start(t, e.dispatcher(t, time.Hour).Run)
		require.Eventually(t, func() bool { return e.logs.Count("info", "dispatcher started") == 1 }, 10*time.Second, 5*time.Millisecond)
		ts := e.create(t, "t", "", 0) // pushes a token
		w := e.worker(t, "w", "default")
		require.Eventually(t, func() bool { return e.hget(t, w, schema.FTaskset) == ts }, 10*time.Second, 5*time.Millisecond,
			"a token wakes the dispatcher long before its interval")
	})
}

func TestRunMakesRoundsWithoutTokens(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", "", 0)
		require.NoError(t, e.rd.Del(ctx, e.k.DispatcherQueue()).Err())
		looptest.Start(t, e.dispatcher(t, 100*time.Millisecond).Run)
		// a worker appears without a token, as one written by an older client
		w := e.k.Worker("quiet")
		require.NoError(t, e.rd.HSet(ctx, w, schema.FWorkerType, "default", schema.FTaskset, "").Err())
		require.NoError(t, e.rd.Set(ctx, schema.Heartbeat(w), "alive", time.Minute).Err())
		require.NoError(t, e.rd.SAdd(ctx, e.k.Workers(), w).Err())
		require.Eventually(t, func() bool { return e.hget(t, w, schema.FTaskset) == ts }, 10*time.Second, 5*time.Millisecond)
	})
}

func TestTwoDispatchersAtOnce(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		t1, t2, t3 := e.create(t, "t1", "", 3), e.create(t, "t2", "", 4), e.create(t, "t3", "", 0)
		looptest.Start(t, e.dispatcher(t, 20*time.Millisecond).Run)
		looptest.Start(t, e.dispatcher(t, 20*time.Millisecond).Run)
		workers := e.workers(t, 20, "default")
		require.Eventually(t, func() bool {
			n := 0
			for _, w := range workers {
				if e.hget(t, w, schema.FTaskset) != "" {
					n++
				}
			}
			return n == len(workers)
		}, 20*time.Second, 10*time.Millisecond)
		got := e.given(t, workers)
		require.Len(t, got[t1], 3)
		require.Len(t, got[t2], 4)
		require.Len(t, got[t3], 13)
	})
}

func TestDispatcherSurvivesRedisGoingAway(t *testing.T) {
	looptest.Outage(t, func(t *testing.T, b redistest.Backend, down, up func()) {
		e := newEnv(b)
		looptest.Start(t, e.dispatcher(t, 50*time.Millisecond).Run)
		ts := e.create(t, "t", "", 0)
		first := e.worker(t, "first", "default")
		require.Eventually(t, func() bool { return e.hget(t, first, schema.FTaskset) == ts }, 10*time.Second, 5*time.Millisecond)

		down()
		require.Eventually(t, func() bool { return e.logs.Count("debug", "retrying") >= 3 }, 30*time.Second, 10*time.Millisecond)
		require.Equal(t, 1, e.logs.Count("error", "cannot"), "one error line per interval:\n%s", e.logs.String())
		up()
		second := e.worker(t, "second", "default")
		require.Eventually(t, func() bool { return e.hget(t, second, schema.FTaskset) == ts }, 30*time.Second, 5*time.Millisecond)
		require.Eventually(t, func() bool { return e.logs.Count("info", "working again") == 1 }, 10*time.Second, 5*time.Millisecond, e.logs.String())
		require.Equal(t, 1, e.logs.Count("error", "cannot"))
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	c := schema.NewClient(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "")
	for name, cfg := range map[string]dispatcher.Config{
		"negative interval":  {Interval: -time.Second},
		"pop under a second": {PopTimeout: time.Millisecond},
	} {
		_, err := dispatcher.New(cfg, dispatcher.Deps{Client: c})
		require.Error(t, err, name)
	}
	_, err := dispatcher.New(dispatcher.Config{}, dispatcher.Deps{})
	require.Error(t, err)
}
