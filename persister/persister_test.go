package persister_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/persister"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

func TestMain(m *testing.M) {
	redis.SetLogger(loopx.RedisLogger(zerolog.Nop()))
	redistest.Main(m)
}

var ctx = context.Background()

const keep = 2 * time.Hour

type env struct {
	c    *schema.Client
	k    schema.Keys
	rd   *redis.Client
	logs *looptest.Logs
	dir  string
}

func newEnv(t *testing.T, b redistest.Backend) *env {
	c := schema.NewClient(b.RDB, b.NS)
	return &env{c: c, k: c.Keys, rd: b.RDB, logs: &looptest.Logs{}, dir: filepath.Join(t.TempDir(), "results")}
}

func (e *env) persister(t *testing.T, id string) *persister.Persister {
	t.Helper()
	p, err := persister.New(persister.Config{ResultsDir: e.dir, Keep: keep, ConsumerID: id,
		Queue:      loopx.ConsumerConfig{ConsumerTTL: 5 * time.Second, BeatInterval: 50 * time.Millisecond, RecoverInterval: 50 * time.Millisecond},
		BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond, LogInterval: time.Hour},
		persister.Deps{Client: e.c, Log: e.logs.Logger()})
	require.NoError(t, err)
	return p
}

func (e *env) hget(t *testing.T, key, field string) string {
	t.Helper()
	return redistest.HGet(t, e.rd, key, field)
}

func (e *env) list(t *testing.T, key string) []string {
	t.Helper()
	return redistest.List(t, e.rd, key)
}

// trial runs one trial of task on slave, taking seconds by the clock of
// its timestamps.
func (e *env) trial(t *testing.T, ts, task, slave, id, status string, seconds int) string {
	t.Helper()
	out, trial, _, err := e.c.StartTrial(ctx, ts, task, id, slave)
	require.NoError(t, err)
	require.Equal(t, schema.StartOK, out)
	ok, err := e.c.FinishTrial(ctx, trial, schema.Result{Status: status, Passed: 1,
		Fields: map[string]string{schema.FStdout: "out of " + id, schema.FStderr: "err of " + id}})
	require.NoError(t, err)
	require.True(t, ok)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, e.rd.HSet(ctx, trial, schema.FStartedAt, schema.FormatTime(start),
		schema.FFinishedAt, schema.FormatTime(start.Add(time.Duration(seconds)*time.Second))).Err())
	return trial
}

// finished makes a finished taskset with every kind of key: a worker with
// its log, a slave with its log, tried set and heartbeat, tasks that passed
// (twice), passed after a failure, and failed.
func (e *env) finished(t *testing.T, id string) (ts, worker, slave string) {
	t.Helper()
	ts, err := e.c.CreateTaskset(ctx, id, schema.TasksetSpec{TrialCommand: "true {file}", TasksetClass: "unit", MaxTrials: 2,
		Specs: []string{"spec/a_spec.rb", "b_spec.rb", "c_spec.rb"}})
	require.NoError(t, err)
	worker = e.k.Worker("box1")
	_, err = e.c.RegisterWorker(ctx, worker, time.Minute, map[string]string{schema.FWorkerType: "default"})
	require.NoError(t, err)
	out, err := e.c.Dispatch(ctx, ts, worker)
	require.NoError(t, err)
	require.Equal(t, schema.DispatchOK, out)
	wl, err := e.c.StartWorkerLog(ctx, ts, worker)
	require.NoError(t, err)
	require.NoError(t, e.c.AppendLog(ctx, schema.WorkerLogText(wl), "rsync ok\n", 1000))
	slave = schema.Slave(worker, "1")
	require.NoError(t, e.c.RegisterSlave(ctx, ts, slave, time.Minute, map[string]string{schema.FWorker: worker, schema.FNumber: "1"}))
	require.NoError(t, e.c.AppendLog(ctx, schema.SlaveLog(slave), "slave up\n", 1000))
	require.NoError(t, e.c.AppendLog(ctx, schema.TasksetLog(ts), "created\n", 1000))
	for range 3 {
		_, _, err := e.c.TakeTask(ctx, ts, slave)
		require.NoError(t, err)
	}
	a, b, c := schema.Task(ts, "spec/a_spec.rb"), schema.Task(ts, "b_spec.rb"), schema.Task(ts, "c_spec.rb")
	e.trial(t, ts, a, slave, "a1", schema.StatusPassed, 10)
	e.trial(t, ts, a, slave, "a2", schema.StatusPassed, 7)
	e.trial(t, ts, b, slave, "b1", schema.StatusFailed, 1)
	e.trial(t, ts, b, slave, "b2", schema.StatusPassed, 3)
	e.trial(t, ts, c, slave, "c1", schema.StatusFailed, 2)
	e.trial(t, ts, c, slave, "c2", schema.StatusTimeout, 60)
	for _, task := range []string{a, b, c} {
		_, _, err := e.c.SettleTask(ctx, task)
		require.NoError(t, err)
	}
	require.Equal(t, "failed", e.hget(t, ts, schema.FStatus))
	return ts, worker, slave
}

func TestPersistWritesStoreEstimatesAndExpiry(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		ts, worker, slave := e.finished(t, "p1")
		est := e.k.Estimate("unit")
		require.NoError(t, e.rd.HSet(ctx, est, "spec/a_spec.rb", "11").Err())
		before, err := model.NewReader(e.c).Load(ctx, ts, model.LoadOptions{Output: true, Logs: true})
		require.NoError(t, err)

		p := e.persister(t, "p")
		require.NoError(t, p.Persist(ctx, ts))

		got, err := store.Read(e.dir, "p1")
		require.NoError(t, err)
		want, err := json.Marshal(before)
		require.NoError(t, err)
		have, err := json.Marshal(got)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(have), "the stored document is the taskset as Redis had it")
		require.Len(t, got.Tasks, 3)
		require.Len(t, got.Tasks[0].Trials, 2)

		folder := store.Path(e.dir, "p1")
		for file, content := range map[string]string{
			"log.txt":                           "created\n",
			"worker_logs/box1.log":              "rsync ok\n",
			"slaves/box1/1.log":                 "slave up\n",
			"trials/spec%2Fa_spec.rb/a2.stdout": "out of a2",
			"trials/c_spec.rb/c2.stderr":        "err of c2",
		} {
			b, err := os.ReadFile(filepath.Join(folder, file))
			require.NoError(t, err, file)
			require.Equal(t, content, string(b), file)
		}

		estimates, err := e.rd.HGetAll(ctx, est).Result()
		require.NoError(t, err)
		require.Equal(t, map[string]string{"spec/a_spec.rb": "9.000", "b_spec.rb": "3.000"}, estimates,
			"the fastest passed trial of each spec, averaged with the old estimate; nothing for a failed spec")
		require.NotEmpty(t, e.hget(t, ts, schema.FPersistedAt))

		e.requireExpiry(t, ts, worker, slave)

		// persisting again is harmless: the same folder, estimates counted once
		require.NoError(t, p.Persist(ctx, ts))
		again, err := e.rd.HGetAll(ctx, est).Result()
		require.NoError(t, err)
		require.Equal(t, estimates, again)
		_, err = store.Read(e.dir, "p1")
		require.NoError(t, err)
		ids, err := store.List(e.dir)
		require.NoError(t, err)
		require.Equal(t, []string{"p1"}, ids)
	})
}

// requireExpiry checks that every key of the taskset expires within keep,
// that the slave heartbeat keeps its own short TTL, and that nothing else
// got an expiry.
func (e *env) requireExpiry(t *testing.T, ts, worker, slave string) {
	t.Helper()
	keys, err := e.rd.Keys(ctx, e.k.Namespace()+":*").Result()
	require.NoError(t, err)
	mine := 0
	for _, k := range keys {
		ttl, err := e.rd.TTL(ctx, k).Result()
		require.NoError(t, err)
		switch {
		case k == schema.Heartbeat(slave) || k == schema.Heartbeat(worker):
			require.LessOrEqual(t, ttl, time.Minute, "%s keeps its own TTL", k)
			require.Greater(t, ttl, time.Duration(0), k)
		case strings.HasPrefix(k, ts+":") || k == ts || strings.HasPrefix(k, slave):
			mine++
			require.Greater(t, ttl, keep-time.Minute, "%s expires after keep", k)
			require.LessOrEqual(t, ttl, keep, k)
		default:
			require.Equal(t, time.Duration(-1), ttl, "%s is not the taskset's and keeps no expiry", k)
		}
	}
	// the hash, its log and slave list, the worker_log list + hash + text,
	// tasks, assigned (task_queue and tasks_left are empty, so gone), 3
	// tasks + their 3 trial lists, 6 trials, and the slave's hash, trial
	// list, log and tried set
	require.Equal(t, 1+1+1+3+1+1+6+6+4, mine)
}

func TestRunPersistsWhatFinishes(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		looptest.Start(t, e.persister(t, "p").Run)
		ts, _, _ := e.finished(t, "run1") // settling the last task pushes it
		require.Eventually(t, func() bool { return e.hget(t, ts, schema.FPersistedAt) != "" }, 10*time.Second, 5*time.Millisecond)
		_, err := store.Read(e.dir, "run1")
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return len(e.list(t, e.k.PersisterQueue())) == 0 && len(e.list(t, schema.Processing(e.k.PersisterQueue(), "p"))) == 0
		}, 10*time.Second, 5*time.Millisecond, "the entry is acknowledged")
	})
}

func TestPersisterKilledMidTasksetIsRecoveredByAnother(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		ts, _, _ := e.finished(t, "k1")
		killed := e.c.Queue(e.k.PersisterQueue(), "killed")
		require.NoError(t, killed.Join(ctx, time.Minute))
		got, err := killed.Take(ctx, time.Second)
		require.NoError(t, err)
		require.Equal(t, ts, got)
		looptest.Start(t, e.persister(t, "survivor").Run)
		require.NoError(t, e.rd.Del(ctx, schema.Heartbeat(schema.Processing(e.k.PersisterQueue(), "killed"))).Err())
		require.Eventually(t, func() bool { return e.hget(t, ts, schema.FPersistedAt) != "" }, 10*time.Second, 5*time.Millisecond)
	})
}

func TestEntriesThatCannotBePersistedAreSkipped(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		running, err := e.c.CreateTaskset(ctx, "running", schema.TasksetSpec{TrialCommand: "t {file}", Specs: []string{"a"}})
		require.NoError(t, err)
		require.NoError(t, e.rd.HSet(ctx, e.k.Taskset("broken"), schema.FStatus, "exploded").Err())
		ts, _, _ := e.finished(t, "good")
		require.NoError(t, e.rd.Del(ctx, e.k.PersisterQueue()).Err())
		for _, entry := range []string{"garbage", running, e.k.Taskset("gone"), e.k.Taskset("broken"), ts} {
			require.NoError(t, e.rd.RPush(ctx, e.k.PersisterQueue(), entry).Err())
		}
		looptest.Start(t, e.persister(t, "p").Run)
		require.Eventually(t, func() bool { return e.hget(t, ts, schema.FPersistedAt) != "" }, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, 3, e.logs.Count("warn", "skipping an entry"), e.logs.String())
		require.Equal(t, 1, e.logs.Count("warn", "has not finished"))
		require.Equal(t, "", e.hget(t, running, schema.FPersistedAt))
		ttl, err := e.rd.TTL(ctx, running).Result()
		require.NoError(t, err)
		require.Equal(t, time.Duration(-1), ttl, "a running taskset does not expire")
		ids, err := store.List(e.dir)
		require.NoError(t, err)
		require.Equal(t, []string{"good"}, ids)
	})
}

func TestDurations(t *testing.T) {
	at := func(s int) model.Time { return model.Time{Time: time.Unix(int64(s), 0)} }
	s := &model.Snapshot{Tasks: []model.Task{
		{SpecFile: "a", Trials: []model.Trial{{Status: "passed", StartedAt: at(0), FinishedAt: at(9)},
			{Status: "passed", StartedAt: at(0), FinishedAt: at(4)}, {Status: "failed", StartedAt: at(0), FinishedAt: at(1)}}},
		{SpecFile: "running", Trials: []model.Trial{{Status: "passed", StartedAt: at(0)}}},
		{SpecFile: "pending", Trials: []model.Trial{{Status: "pending", StartedAt: at(0), FinishedAt: at(3)}}},
	}}
	require.Equal(t, map[string]float64{"a": 4}, persister.Durations(s))
}

func TestPersisterSurvivesRedisGoingAway(t *testing.T) {
	looptest.Outage(t, func(t *testing.T, b redistest.Backend, down, up func()) {
		e := newEnv(t, b)
		looptest.Start(t, e.persister(t, "p").Run)
		require.Eventually(t, func() bool { return e.logs.Count("info", "consuming") == 1 }, 10*time.Second, 5*time.Millisecond)
		down()
		require.Eventually(t, func() bool { return e.logs.Count("debug", "retrying") >= 3 }, 30*time.Second, 10*time.Millisecond)
		require.Equal(t, 1, e.logs.Count("error", "cannot"), "one error line per interval:\n%s", e.logs.String())
		up()
		ts, _, _ := e.finished(t, "after")
		require.Eventually(t, func() bool { return e.hget(t, ts, schema.FPersistedAt) != "" }, 30*time.Second, 5*time.Millisecond)
		require.Eventually(t, func() bool { return e.logs.Count("info", "working again") == 1 }, 10*time.Second, 5*time.Millisecond, e.logs.String())
		require.Equal(t, 1, e.logs.Count("error", "cannot"))
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	c := schema.NewClient(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "")
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for name, cfg := range map[string]persister.Config{
		"no results dir":     {},
		"results dir a file": {ResultsDir: file},
		"keep too short":     {ResultsDir: t.TempDir(), Keep: time.Millisecond},
		"pop under a second": {ResultsDir: t.TempDir(), Queue: loopx.ConsumerConfig{PopTimeout: time.Millisecond}},
	} {
		_, err := persister.New(cfg, persister.Deps{Client: c})
		require.Error(t, err, name)
	}
	_, err := persister.New(persister.Config{ResultsDir: t.TempDir()}, persister.Deps{})
	require.Error(t, err)
}

// A taskset ends while trials still run: speculative copies that lost the
// race, trials of slaves being stopped, and the trial of a dead slave whose
// task got its verdict elsewhere (the arbiter never looks at it again). The
// persister waits for live slaves to record theirs, records the dead
// slave's at once, and one still running after SettleWait as error: what is
// stored has no trial running for ever.
func TestPersistWaitsForTrialsStillRunning(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		ts, err := e.c.CreateTaskset(ctx, "late", schema.TasksetSpec{TrialCommand: "t {file}", Specs: []string{"a", "b", "c"}})
		require.NoError(t, err)
		worker := e.k.Worker("box")
		trials := map[string]string{}
		for _, name := range []string{"stopping", "dead", "stuck"} {
			slave := schema.Slave(worker, name)
			require.NoError(t, e.c.RegisterSlave(ctx, ts, slave, time.Minute, map[string]string{schema.FWorker: worker}))
			out, task, err := e.c.TakeTask(ctx, ts, slave)
			require.NoError(t, err)
			require.Equal(t, schema.TakeOK, out)
			_, trials[name], _, err = e.c.StartTrial(ctx, ts, task, name, slave)
			require.NoError(t, err)
		}
		require.NoError(t, e.rd.Del(ctx, schema.Heartbeat(schema.Slave(worker, "dead"))).Err())
		ok, err := e.c.CancelTaskset(ctx, ts, "cancelled by the test")
		require.NoError(t, err)
		require.True(t, ok)

		var now atomic.Int64
		now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
		p, err := persister.New(persister.Config{ResultsDir: e.dir, SettleWait: 10 * time.Second, SettlePoll: 5 * time.Millisecond},
			persister.Deps{Client: e.c, Log: e.logs.Logger(), Now: func() time.Time { return time.Unix(0, now.Load()) }})
		require.NoError(t, err)
		persisted := make(chan error, 1)
		go func() { persisted <- p.Persist(ctx, ts) }()

		require.Eventually(t, func() bool { return e.hget(t, trials["dead"], schema.FStatus) == schema.StatusError },
			10*time.Second, 5*time.Millisecond, "the dead slave's trial is recorded at once")
		require.Contains(t, e.hget(t, trials["dead"], schema.FError), "heartbeat expired")
		require.Empty(t, e.hget(t, trials["stopping"], schema.FStatus), "a live slave's trial is left to its slave")
		ok, err = e.c.FinishTrial(ctx, trials["stopping"], schema.Result{Status: schema.StatusError,
			Fields: map[string]string{schema.FError: "slave stopped: the taskset is over"}})
		require.NoError(t, err)
		require.True(t, ok, "the slave records its own trial")
		require.Never(t, func() bool { return len(persisted) > 0 }, 100*time.Millisecond, 5*time.Millisecond,
			"the stuck trial is waited for until SettleWait")
		_, err = store.Read(e.dir, "late")
		require.Error(t, err, "nothing stored while a trial runs")

		now.Add(int64(11 * time.Second))
		select {
		case err := <-persisted:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Persist did not return once SettleWait had passed")
		}
		got, err := store.Read(e.dir, "late")
		require.NoError(t, err)
		errs := map[string]string{}
		for _, task := range got.Tasks {
			for _, tr := range task.Trials {
				require.Equal(t, schema.StatusError, tr.Status, tr.Key)
				errs[tr.Key] = tr.Error
			}
		}
		require.Len(t, errs, 3)
		require.Equal(t, "slave stopped: the taskset is over", errs[trials["stopping"]])
		require.Contains(t, errs[trials["dead"]], "heartbeat expired")
		require.Contains(t, errs[trials["stuck"]], "still running 10s after the taskset ended")
	})
}

// The persister appends each spec's outcome to the history of its class,
// once however often the taskset is persisted.
func TestPersistRecordsTheHistoryOnce(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		ts, worker, _ := e.finished(t, "h1")
		p := e.persister(t, "p")
		require.NoError(t, p.Persist(ctx, ts))
		require.NoError(t, p.Persist(ctx, ts), "a second time, as after a crash before the ack")
		h, err := e.c.History(ctx, "unit")
		require.NoError(t, err)
		require.Equal(t, map[string]string{
			"spec/a_spec.rb": schema.HistoryPassed, // passed at its first trial
			"b_spec.rb":      schema.HistoryFlaky,  // failed, then passed
			"c_spec.rb":      schema.HistoryFailed,
		}, h)

		_, err = e.c.ReleaseWorker(ctx, worker, ts)
		require.NoError(t, err)
		ts2, _, _ := e.finished(t, "h2")
		require.NoError(t, p.Persist(ctx, ts2))
		h, err = e.c.History(ctx, "unit")
		require.NoError(t, err)
		require.Equal(t, "FF", h["b_spec.rb"], "oldest first, one letter per taskset")
	})
}

func TestDurationsOutcomesAndCasesOfPartitions(t *testing.T) {
	at := func(s int) model.Time { return model.Time{Time: time.Unix(int64(s), 0)} }
	goCase := func(name string, sec float64) model.Case {
		return model.Case{Name: name, Classname: "m/big", Status: "passed", TimeSec: sec}
	}
	s := &model.Snapshot{Tasks: []model.Task{
		{Key: "ts:task:big#p1of2", SpecFile: "big", Status: "passed", Trials: []model.Trial{
			{Status: "failed", StartedAt: at(0), FinishedAt: at(1), Format: "go-test-json", Report: []model.Case{goCase("TestA", 9)}},
			{Status: "passed", StartedAt: at(0), FinishedAt: at(4), Format: "go-test-json", Report: []model.Case{goCase("TestA", 3), goCase("TestA/sub", 1)}}}},
		{Key: "ts:task:big#p2of2", SpecFile: "big", Status: "passed", Trials: []model.Trial{
			{Status: "passed", StartedAt: at(0), FinishedAt: at(6), Format: "go-test-json", Report: []model.Case{goCase("TestB", 5), goCase("m/big", 0)}}}},
		{Key: "ts:task:half#p1of2", SpecFile: "half", Status: "passed", Trials: []model.Trial{{Status: "passed", StartedAt: at(0), FinishedAt: at(2)}}},
		{Key: "ts:task:half#p2of2", SpecFile: "half", Status: "failed", Trials: []model.Trial{{Status: "failed", StartedAt: at(0), FinishedAt: at(2)}}},
		{Key: "ts:task:tap", SpecFile: "tap", Status: "passed", Trials: []model.Trial{
			{Status: "passed", StartedAt: at(0), FinishedAt: at(1), Format: "tap", Report: []model.Case{{Name: "1 ok"}}}}},
	}}
	require.Equal(t, map[string]float64{"big": 10, "tap": 1}, persister.Durations(s),
		"a partitioned file takes the sum of its partitions, and none when one did not pass")
	require.Equal(t, map[string]string{"big": schema.HistoryFlaky, "half": schema.HistoryFailed, "tap": schema.HistoryPassed}, persister.Outcomes(s))
	require.Equal(t, map[string]schema.CaseTimes{"big": {Style: schema.StyleGo, Cases: map[string]float64{"TestA": 3, "TestB": 5}}},
		persister.CaseTimes(s), "top-level cases of every trial, the fastest time of each; none from a format that cannot select them")
}
