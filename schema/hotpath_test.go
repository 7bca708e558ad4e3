package schema_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// TakeTrial takes and starts in one step, replying with the task's hash;
// it skips tasks that have their verdict, and takes nothing of a taskset
// that is not running.
func TestTakeTrialTakesAndStarts(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("a_spec.rb", "b_spec.rb", "c_spec.rb")
		ts := e.create(t, "t", s)
		slave := schema.Slave(e.k.Worker("w"), "1")
		other := schema.Slave(e.k.Worker("w"), "2")

		out, got, err := e.c.TakeTrial(ctx, ts, slave, "t1")
		require.NoError(t, err)
		require.Equal(t, schema.TakeOK, out)
		require.Equal(t, schema.Task(ts, "a_spec.rb"), got.Task)
		require.Equal(t, schema.Trial(got.Task, "t1"), got.Trial)
		require.Equal(t, "a_spec.rb", got.Fields[schema.FSpecFile])
		require.Equal(t, ts, got.Fields[schema.FTaskset])
		require.Equal(t, slave, e.hget(t, got.Trial, schema.FSlave))
		require.Empty(t, e.hget(t, got.Trial, schema.FStatus), "running")
		require.Equal(t, []string{got.Trial}, e.list(t, schema.TaskTrials(got.Task)))
		require.Equal(t, []string{got.Trial}, e.list(t, schema.SlaveTrials(slave)))
		require.NotContains(t, e.list(t, schema.TaskQueue(ts)), got.Task)

		// b has its verdict already (another slave's copy, say): skipped.
		bTask := schema.Task(ts, "b_spec.rb")
		require.NoError(t, e.rd.HSet(ctx, bTask, schema.FStatus, schema.StatusPassed).Err())
		out, _, err = e.c.TakeTrial(ctx, ts, other, "t2")
		require.NoError(t, err)
		require.Equal(t, schema.TakeOK, out, "b skipped for c in the same step")
		require.Empty(t, e.list(t, schema.TaskTrials(bTask)))

		out, _, err = e.c.TakeTrial(ctx, ts, other, "t3")
		require.NoError(t, err)
		require.Equal(t, schema.TakeEmpty, out)

		require.NoError(t, e.rd.LPush(ctx, schema.TaskQueue(ts), got.Task).Err())
		out, _, err = e.c.TakeTrial(ctx, ts, slave, "t4")
		require.NoError(t, err)
		require.Equal(t, schema.TakeTried, out, "a slave never takes a task twice")

		_, err = e.c.CancelTaskset(ctx, ts, "test")
		require.NoError(t, err)
		require.NoError(t, e.rd.LPush(ctx, schema.TaskQueue(ts), got.Task).Err())
		out, _, err = e.c.TakeTrial(ctx, ts, other, "t5")
		require.NoError(t, err)
		require.Equal(t, schema.TakeStopped, out)
		require.Contains(t, e.list(t, schema.TaskQueue(ts)), got.Task, "nothing taken")
	})
}

// FinishAndSettle records, logs and settles in one step; a finish repeated
// after a lost reply changes nothing more (counted once); a failure with
// trials left is queued again; the last verdict ends the taskset.
func TestFinishAndSettle(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("a_spec.rb", "b_spec.rb")
		s.MaxTrials = 2
		ts := e.create(t, "t", s)
		slave := schema.Slave(e.k.Worker("w"), "1")
		other := schema.Slave(e.k.Worker("w"), "2")

		_, a, err := e.c.TakeTrial(ctx, ts, slave, "1")
		require.NoError(t, err)
		pass := schema.Result{Status: schema.StatusPassed, Passed: 3, Fields: map[string]string{schema.FStdout: "ok"}}
		f, err := e.c.FinishAndSettle(ctx, ts, a.Task, a.Trial, slave, "line one\nline two\n", 1<<20, pass)
		require.NoError(t, err)
		require.Equal(t, schema.Finished{Recorded: true, Outcome: schema.SettlePassed}, f)
		require.Equal(t, schema.StatusPassed, e.hget(t, a.Task, schema.FStatus))
		require.Equal(t, "3", e.hget(t, a.Trial, schema.FPassed))
		require.Equal(t, "ok", e.hget(t, a.Trial, schema.FStdout))
		require.NotEmpty(t, e.hget(t, a.Trial, schema.FFinishedAt))
		require.Equal(t, "1", e.hget(t, ts, schema.FSucceededCount))
		require.Equal(t, "line one\nline two\n", e.rd.Get(ctx, schema.SlaveLog(slave)).Val())
		require.Zero(t, e.rd.LLen(ctx, e.k.ArbiterQueue()).Val(), "nothing left for the arbiter")

		// The reply was lost and the slave finishes again: counted once.
		f, err = e.c.FinishAndSettle(ctx, ts, a.Task, a.Trial, slave, "", 1<<20, pass)
		require.NoError(t, err)
		require.False(t, f.Recorded)
		require.Equal(t, "1", e.hget(t, ts, schema.FSucceededCount))

		_, bt, err := e.c.TakeTrial(ctx, ts, slave, "2")
		require.NoError(t, err)
		f, err = e.c.FinishAndSettle(ctx, ts, bt.Task, bt.Trial, slave, "", 1<<20, schema.Result{Status: schema.StatusFailed, Failed: 1})
		require.NoError(t, err)
		require.Equal(t, schema.SettleRequeued, f.Outcome)
		require.Contains(t, e.list(t, schema.TaskQueue(ts)), bt.Task)
		require.Contains(t, e.rd.Get(ctx, schema.TasksetLog(ts)).Val(), "task "+bt.Task+" queued again for another trial")

		_, again, err := e.c.TakeTrial(ctx, ts, other, "3")
		require.NoError(t, err)
		f, err = e.c.FinishAndSettle(ctx, ts, again.Task, again.Trial, other, "", 1<<20, schema.Result{Status: schema.StatusFailed, Failed: 1})
		require.NoError(t, err)
		require.Equal(t, schema.Finished{Recorded: true, Outcome: schema.SettleFailed, Taskset: schema.StatusFailed}, f)
		require.Equal(t, schema.StatusFailed, e.hget(t, ts, schema.FStatus))
		require.Equal(t, "1", e.hget(t, ts, schema.FFailedCount))
		log := e.rd.Get(ctx, schema.TasksetLog(ts)).Val()
		require.Contains(t, log, "task "+bt.Task+" failed: no trial passed")
		require.Contains(t, log, "taskset failed: every task has its verdict")
		require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))

		// A trial named with another task is refused.
		_, err = e.c.FinishAndSettle(ctx, ts, a.Task, again.Trial, other, "", 1<<20, pass)
		require.ErrorIs(t, err, schema.ErrInvalid)
	})
}

// A task whose trial list holds another type (a corrupt key) is skipped by
// TakeTrial without a trial left behind; the arbiter settles it as error.
func TestTakeTrialSkipsACorruptTrialList(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a_spec.rb", "b_spec.rb"))
		corrupt := schema.Task(ts, "a_spec.rb")
		require.NoError(t, e.rd.Set(ctx, schema.TaskTrials(corrupt), "x", 0).Err())
		slave := schema.Slave(e.k.Worker("w"), "1")
		out, got, err := e.c.TakeTrial(ctx, ts, slave, "1")
		require.NoError(t, err)
		require.Equal(t, schema.TakeOK, out)
		require.Equal(t, schema.Task(ts, "b_spec.rb"), got.Task, "a skipped for b")
		require.Zero(t, e.rd.Exists(ctx, schema.Trial(corrupt, "1")).Val())
		require.Equal(t, []string{got.Trial}, e.list(t, schema.SlaveTrials(slave)))

		_, _, err = e.c.SettleTask(ctx, corrupt)
		require.NoError(t, err)
		require.Equal(t, schema.FailureError, e.hget(t, corrupt, schema.FFailureKind))
	})
}

// Redis killed and restarted (on its append-only file) after a take: the
// trial survives with its task, the slave's finish settles it, and the
// counters count it once.
func TestRedisRestartedBetweenTakeAndFinish(t *testing.T) {
	if redistest.Binary() == "" {
		if redistest.Required() {
			t.Fatal("redis-server not found")
		}
		t.Skip("redis-server not found")
	}
	srv, err := redistest.Start(redistest.Options{AppendOnly: true})
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	rdb := srv.Client()
	t.Cleanup(func() { _ = rdb.Close() })
	e := newEnv(redistest.Backend{Name: "redis", RDB: rdb, NS: "restart"})
	ts := e.create(t, "t", spec("a_spec.rb"))
	slave := schema.Slave(e.k.Worker("w"), "1")
	_, got, err := e.c.TakeTrial(ctx, ts, slave, "1")
	require.NoError(t, err)

	srv.Kill()
	require.NoError(t, srv.Restart())
	require.Eventually(t, func() bool { return rdb.Ping(ctx).Err() == nil }, 10*time.Second, 10*time.Millisecond)

	require.Equal(t, slave, e.hget(t, got.Trial, schema.FSlave), "the started trial survived")
	f, err := e.c.FinishAndSettle(ctx, ts, got.Task, got.Trial, slave, "", 1<<20, schema.Result{Status: schema.StatusPassed, Passed: 1})
	require.NoError(t, err)
	require.Equal(t, schema.Finished{Recorded: true, Outcome: schema.SettlePassed, Taskset: schema.StatusSucceeded}, f)
	f, err = e.c.FinishAndSettle(ctx, ts, got.Task, got.Trial, slave, "", 1<<20, schema.Result{Status: schema.StatusPassed, Passed: 1})
	require.NoError(t, err)
	require.False(t, f.Recorded)
	require.Equal(t, "1", e.hget(t, ts, schema.FSucceededCount))
}
