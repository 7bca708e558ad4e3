package schema_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// The history keeps each spec's outcomes of the tasksets persisted, the
// newest HistoryRuns, and a taskset persisted twice counts once.
func TestRecordPersistedKeepsTheHistory(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		hist := e.k.History("unit")
		for i := range schema.HistoryRuns + 3 {
			ts := e.create(t, fmt.Sprintf("t%d", i), spec("a"))
			_, err := e.c.CancelTaskset(ctx, ts, "")
			require.NoError(t, err)
			o := schema.HistoryPassed
			if i == schema.HistoryRuns+2 {
				o = schema.HistoryFlaky
			}
			outcomes := map[string]string{"a": o}
			if i == 0 {
				outcomes["old"] = schema.HistoryFailed
			}
			ok, err := e.c.RecordPersisted(ctx, ts, "unit", nil, outcomes)
			require.NoError(t, err)
			require.True(t, ok)
			ok, err = e.c.RecordPersisted(ctx, ts, "unit", nil, outcomes)
			require.NoError(t, err)
			require.False(t, ok, "persisted before: nothing counted again")
		}
		h, err := e.c.History(ctx, "unit")
		require.NoError(t, err)
		require.Equal(t, strings.Repeat("P", schema.HistoryRuns-1)+"F", h["a"], "the newest runs, oldest first")
		require.Equal(t, "X", h["old"])
		require.Equal(t, h["a"], e.hget(t, hist, "a"))

		ts := e.create(t, "bad", spec("a"))
		_, err = e.c.CancelTaskset(ctx, ts, "")
		require.NoError(t, err)
		_, err = e.c.RecordPersisted(ctx, ts, "unit", nil, map[string]string{"a": "?"})
		require.ErrorIs(t, err, schema.ErrInvalid)
		require.Empty(t, e.hget(t, ts, schema.FPersistedAt), "a refused call records nothing")
	})
}

// A quarantined spec's task is marked at creation; its failure is counted
// apart and does not fail the taskset, nor count toward max_failures; an
// expired entry does not apply.
func TestQuarantinedFailureDoesNotFailTheTaskset(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		_, err := e.c.AddQuarantine(ctx, "unit", []string{"q_spec.rb", "gone_spec.rb"}, "flaky on CI, #123", "alice", 14*24*time.Hour)
		require.NoError(t, err)
		_, err = e.c.AddQuarantine(ctx, "unit", []string{"old_spec.rb"}, "fixed", "", time.Millisecond)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			q, _, err := e.c.QuarantineOf(ctx, "unit")
			require.NoError(t, err)
			return len(q) == 3 && q[1].Spec == "old_spec.rb" && q[1].Expired
		}, 5*time.Second, 5*time.Millisecond, "the short entry expires")
		active, err := e.c.ActiveQuarantine(ctx, "unit")
		require.NoError(t, err)
		require.Equal(t, map[string]string{"q_spec.rb": "flaky on CI, #123", "gone_spec.rb": "flaky on CI, #123"}, active)

		s := spec("a_spec.rb", "q_spec.rb", "old_spec.rb")
		s.TasksetClass, s.MaxTrials, s.MaxFailures, s.Quarantined = "unit", 1, 1, active
		ts := e.create(t, "t", s)
		require.Equal(t, "flaky on CI, #123", e.hget(t, schema.Task(ts, "q_spec.rb"), schema.FQuarantined))
		require.Empty(t, e.hget(t, schema.Task(ts, "old_spec.rb"), schema.FQuarantined), "expired: not applied")
		require.False(t, e.rd.Exists(ctx, schema.Task(ts, "gone_spec.rb")).Val() == 1, "a quarantined spec not in the taskset is no task")

		slave := schema.Slave(e.k.Worker("w"), "1")
		fail := schema.Result{Status: schema.StatusFailed, Failed: 1}
		finish := func(id string, r schema.Result) (string, schema.Finished) {
			_, tk, err := e.c.TakeTrial(ctx, ts, slave, id)
			require.NoError(t, err)
			f, err := e.c.FinishAndSettle(ctx, ts, tk.Task, tk.Trial, slave, "", 1<<20, r)
			require.NoError(t, err)
			return tk.Task, f
		}
		// The queue is in creation order: a, q, old (none has an estimate).
		_, f := finish("1", schema.Result{Status: schema.StatusPassed, Passed: 1})
		require.Equal(t, schema.SettlePassed, f.Outcome)
		task, f := finish("2", fail)
		require.Equal(t, schema.Task(ts, "q_spec.rb"), task)
		require.Equal(t, schema.Finished{Recorded: true, Outcome: schema.SettleFailed}, f, "max_failures 1 is not reached by a quarantined failure")
		require.Equal(t, schema.StatusFailed, e.hget(t, task, schema.FStatus), "its verdict is failed as usual")
		_, f = finish("3", schema.Result{Status: schema.StatusPassed, Passed: 1})
		require.Equal(t, schema.StatusSucceeded, f.Taskset, "only a quarantined spec failed")
		require.Equal(t, "1", e.hget(t, ts, schema.FFailedCount))
		require.Equal(t, "1", e.hget(t, ts, schema.FQuarantinedFailedCount))
		require.Empty(t, e.hget(t, ts, schema.FErrorCount))

		removed, err := e.c.RemoveQuarantine(ctx, "unit", []string{"q_spec.rb", "never_spec.rb"})
		require.NoError(t, err)
		require.Equal(t, []string{"q_spec.rb"}, removed)
	})
}

// A quarantined failure beside one that is not: the taskset fails, and
// max_failures counts only the failure that is not quarantined.
func TestQuarantineWithOtherFailures(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("q_spec.rb", "a_spec.rb", "b_spec.rb")
		s.MaxTrials, s.Quarantined = 1, map[string]string{"q_spec.rb": "known"}
		ts := e.create(t, "t", s)
		slave := schema.Slave(e.k.Worker("w"), "1")
		for i := range 3 {
			_, tk, err := e.c.TakeTrial(ctx, ts, slave, fmt.Sprint(i))
			require.NoError(t, err)
			r := schema.Result{Status: schema.StatusPassed, Passed: 1}
			if i < 2 {
				r = schema.Result{Status: schema.StatusError}
			}
			_, err = e.c.FinishTrial(ctx, tk.Trial, r)
			require.NoError(t, err)
			_, _, err = e.c.SettleTask(ctx, tk.Task)
			require.NoError(t, err)
		}
		require.Equal(t, schema.StatusFailed, e.hget(t, ts, schema.FStatus), "a_spec.rb errored and is not quarantined")
		require.Equal(t, "2", e.hget(t, ts, schema.FFailedCount))
		require.Equal(t, "1", e.hget(t, ts, schema.FQuarantinedFailedCount))
		require.Equal(t, "1", e.hget(t, ts, schema.FErrorCount), "error_count leaves the quarantined one out")
		require.Equal(t, schema.FailureError, e.hget(t, schema.Task(ts, "q_spec.rb"), schema.FFailureKind))
	})
}
