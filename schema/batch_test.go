package schema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func TestTakeBatch(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		// long has an estimate over the target, a..d are short or unknown.
		require.NoError(t, e.rd.HSet(ctx, e.k.Estimate(schema.DefaultTasksetClass),
			"long", "50", "a", "2", "b", "3", "c", "4").Err())
		ts := e.create(t, "t", spec("long", "a", "b", "c", "d", "x"))
		s1 := schema.Slave(e.k.Worker("w"), "1")
		s2 := schema.Slave(e.k.Worker("w"), "2")
		bt := schema.Batching{Max: 3, Slaves: 1, TargetSec: 6, Class: schema.DefaultTasksetClass}
		task := func(s string) string { return schema.Task(ts, s) }

		// The queue: d, x (unknown, first), then long, c, b, a.
		out, got, err := e.c.TakeBatch(ctx, ts, s1, bt)
		require.NoError(t, err)
		require.Equal(t, schema.TakeOK, out)
		require.Equal(t, []string{task("d"), task("x"), task("c")}, got,
			"unknown estimates count as 0; long is over the target and is skipped; at most 3")

		_, got, err = e.c.TakeBatch(ctx, ts, s1, bt)
		require.NoError(t, err)
		require.Equal(t, []string{task("long")}, got, "a spec over the target runs alone")

		_, got, err = e.c.TakeBatch(ctx, ts, s1, bt)
		require.NoError(t, err)
		require.Equal(t, []string{task("b"), task("a")}, got)

		// The tasks of a batch that are queued again (retries) run alone,
		// even for another slave.
		require.NoError(t, e.rd.RPush(ctx, schema.TaskQueue(ts), task("a"), task("c")).Err())
		_, got, err = e.c.TakeBatch(ctx, ts, s2, bt)
		require.NoError(t, err)
		require.Equal(t, []string{task("a")}, got, "a and c ran in a batch: each runs alone now")
		_, got, err = e.c.TakeBatch(ctx, ts, s2, bt)
		require.NoError(t, err)
		require.Equal(t, []string{task("c")}, got)
		out, _, err = e.c.TakeBatch(ctx, ts, s2, bt)
		require.NoError(t, err)
		require.Equal(t, schema.TakeEmpty, out)

		members, err := e.rd.SMembers(ctx, schema.Batched(ts)).Result()
		require.NoError(t, err)
		require.ElementsMatch(t, []string{task("d"), task("x"), task("c"), task("b"), task("a")}, members)
	})
}

func TestTakeBatchSharesTheTail(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a", "b", "c", "d", "e"))
		s1 := schema.Slave(e.k.Worker("w"), "1")
		bt := schema.Batching{Max: 10, Slaves: 2, TargetSec: 60, Class: schema.DefaultTasksetClass}
		_, got, err := e.c.TakeBatch(ctx, ts, s1, bt)
		require.NoError(t, err)
		require.Len(t, got, 3, "5 queued over 2 slaves: at most ceil(5/2) in one batch")
		_, got, err = e.c.TakeBatch(ctx, ts, s1, bt)
		require.NoError(t, err)
		require.Len(t, got, 1, "2 left over 2 slaves: one each")

		// A tried task is skipped as TakeTask skips it.
		require.NoError(t, e.rd.Del(ctx, schema.TaskQueue(ts)).Err())
		require.NoError(t, e.rd.RPush(ctx, schema.TaskQueue(ts), got[0]).Err())
		out, _, err := e.c.TakeBatch(ctx, ts, s1, bt)
		require.NoError(t, err)
		require.Equal(t, schema.TakeTried, out)

		_, _, err = e.c.TakeBatch(ctx, ts, s1, schema.Batching{Max: 0, Slaves: 1, TargetSec: 1})
		require.ErrorIs(t, err, schema.ErrInvalid)
	})
}
