package arbiter_test

import (
	"testing"

	"github.com/stretchr/testify/require"

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
