package schema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// A task whose trials only errored (crashes, lost slaves) is failed, as the
// protocol says, and marked as an error; one failed or timed-out trial
// makes it a test failure.
func TestSettleTaskMarksFailuresByErrorsAlone(t *testing.T) {
	for name, tc := range map[string]struct {
		trials   []string
		kind     string
		errCount string
	}{
		"only errors":      {[]string{schema.StatusError, schema.StatusError}, schema.FailureError, "1"},
		"an error, failed": {[]string{schema.StatusError, schema.StatusFailed}, "", ""},
		"a timeout":        {[]string{schema.StatusTimeout, schema.StatusError}, "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			redistest.Each(t, func(t *testing.T, b redistest.Backend) {
				e := newEnv(b)
				s := spec("a")
				s.MaxTrials = len(tc.trials)
				ts := e.create(t, "t", s)
				var task string
				for i, st := range tc.trials {
					task, _ = e.trial(t, ts, schema.Slave(e.k.Worker("w"), string(rune('1'+i))), st)
					_, _, err := e.c.SettleTask(ctx, task)
					require.NoError(t, err)
				}
				require.Equal(t, schema.StatusFailed, e.hget(t, task, schema.FStatus))
				require.Equal(t, tc.kind, e.hget(t, task, schema.FFailureKind))
				require.Equal(t, tc.errCount, e.hget(t, ts, schema.FErrorCount))
				require.Equal(t, "1", e.hget(t, ts, schema.FFailedCount))
				require.Equal(t, schema.StatusFailed, e.hget(t, ts, schema.FStatus))
			})
		})
	}
}

// A trial list that holds another type (a corrupt key) settles its task
// as error, naming the key, and no trial starts on it: the taskset ends.
func TestCorruptTrialListSettlesTheTaskAsError(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a", "b"))
		e.trial(t, ts, schema.Slave(e.k.Worker("w"), "1"), schema.StatusPassed)
		corrupt := schema.Task(ts, "b")
		require.NoError(t, e.rd.Set(ctx, schema.TaskTrials(corrupt), "x", 0).Err())

		out, task, err := e.c.TakeTask(ctx, ts, schema.Slave(e.k.Worker("w"), "2"))
		require.NoError(t, err)
		require.Equal(t, schema.TakeOK, out)
		require.Equal(t, corrupt, task)
		started, _, _, err := e.c.StartTrial(ctx, ts, task, "9", schema.Slave(e.k.Worker("w"), "2"))
		require.NoError(t, err)
		require.Equal(t, schema.StartSettled, started)

		first, _, err := e.c.SettleTask(ctx, schema.Task(ts, "a"))
		require.NoError(t, err)
		require.Equal(t, schema.SettlePassed, first)
		settled, fin, err := e.c.SettleTask(ctx, corrupt)
		require.NoError(t, err)
		require.Equal(t, schema.SettleFailed, settled)
		require.Equal(t, schema.StatusFailed, fin)
		require.Equal(t, schema.FailureError, e.hget(t, corrupt, schema.FFailureKind))
		require.Contains(t, e.hget(t, corrupt, schema.FError), schema.TaskTrials(corrupt))
		require.Equal(t, "1", e.hget(t, ts, schema.FErrorCount))
	})
}

func TestNameWrongTypeNamesTheKey(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		require.NoError(t, e.rd.Set(ctx, e.k.ActiveTaskset(), "x", 0).Err())
		err := e.rd.LRange(ctx, e.k.ActiveTaskset(), 0, -1).Err()
		require.True(t, schema.IsWrongType(err))
		named := e.c.NameWrongType(ctx, err, e.k.Globals()...)
		require.ErrorIs(t, named, schema.ErrWrongType)
		require.Contains(t, named.Error(), e.k.ActiveTaskset()+" holds a string, not a list")
		require.NotContains(t, named.Error(), e.k.Workers())
		require.Equal(t, ctx.Err(), e.c.NameWrongType(ctx, ctx.Err(), e.k.Globals()...))
	})
}
