package schema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// With max_failures, the verdict that makes that many specs failed for
// good stops the taskset, on the slave's path and on the arbiter's; the
// tasks left keep no verdict and the queue is dropped.
func TestMaxFailuresStopsTheTaskset(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("a_spec.rb", "b_spec.rb", "c_spec.rb", "d_spec.rb")
		s.MaxTrials = 1
		s.MaxFailures = 2
		ts := e.create(t, "t", s)
		require.Equal(t, "2", e.hget(t, ts, schema.FMaxFailures))
		slave := schema.Slave(e.k.Worker("w"), "1")
		fail := schema.Result{Status: schema.StatusFailed, Failed: 1}

		_, a, err := e.c.TakeTrial(ctx, ts, slave, "1")
		require.NoError(t, err)
		f, err := e.c.FinishAndSettle(ctx, ts, a.Task, a.Trial, slave, "", 1<<20, fail)
		require.NoError(t, err)
		require.Equal(t, schema.Finished{Recorded: true, Outcome: schema.SettleFailed}, f, "one failure: it goes on")
		require.Equal(t, schema.StatusRunning, e.hget(t, ts, schema.FStatus))

		// The second failure, settled by the arbiter (a two-key finish).
		_, bt, err := e.c.TakeTrial(ctx, ts, slave, "2")
		require.NoError(t, err)
		_, err = e.c.FinishTrial(ctx, bt.Trial, fail)
		require.NoError(t, err)
		out, finished, err := e.c.SettleTask(ctx, bt.Task)
		require.NoError(t, err)
		require.Equal(t, schema.SettleFailed, out)
		require.Equal(t, schema.StatusFailed, finished)
		require.Equal(t, schema.StatusFailed, e.hget(t, ts, schema.FStatus))
		require.Equal(t, "max failures reached: 2 specs failed", e.hget(t, ts, schema.FStatusReason))
		require.Len(t, e.list(t, schema.TasksLeft(ts)), 2, "c and d have no verdict")
		require.Empty(t, e.list(t, schema.TaskQueue(ts)))
		require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))

		out2, _, err := e.c.TakeTrial(ctx, ts, slave, "3")
		require.NoError(t, err)
		require.Equal(t, schema.TakeStopped, out2)
	})
}

// On the slave's path the taskset log says why the taskset ended; a
// failure that is the last verdict ends it as usual.
func TestMaxFailuresOnTheHotPath(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("a_spec.rb", "b_spec.rb", "c_spec.rb")
		s.MaxTrials = 1
		s.MaxFailures = 1
		ts := e.create(t, "t", s)
		slave := schema.Slave(e.k.Worker("w"), "1")
		_, a, err := e.c.TakeTrial(ctx, ts, slave, "1")
		require.NoError(t, err)
		f, err := e.c.FinishAndSettle(ctx, ts, a.Task, a.Trial, slave, "", 1<<20, schema.Result{Status: schema.StatusFailed, Failed: 1})
		require.NoError(t, err)
		require.Equal(t, schema.Finished{Recorded: true, Outcome: schema.SettleFailed, Taskset: schema.StatusFailed}, f)
		require.Contains(t, e.rd.Get(ctx, schema.TasksetLog(ts)).Val(), "taskset failed: max failures reached: 1 spec failed")

		// Without max_failures the same failure leaves it running.
		s.MaxFailures = 0
		ts2 := e.create(t, "u", s)
		_, a2, err := e.c.TakeTrial(ctx, ts2, slave, "2")
		require.NoError(t, err)
		f, err = e.c.FinishAndSettle(ctx, ts2, a2.Task, a2.Trial, slave, "", 1<<20, schema.Result{Status: schema.StatusFailed, Failed: 1})
		require.NoError(t, err)
		require.Empty(t, f.Taskset)
		require.Empty(t, e.hget(t, ts2, schema.FMaxFailures))
	})
}
