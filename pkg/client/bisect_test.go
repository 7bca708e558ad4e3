package client_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
)

// fails is a fake fleet: spec x fails when every spec of need ran before it.
func fails(need ...string) (client.BisectRun, *[][]string) {
	var runs [][]string
	return func(_ context.Context, specs []string) (string, bool, error) {
		runs = append(runs, specs)
		failed := true
		for _, n := range need {
			failed = failed && slices.Contains(specs[:len(specs)-1], n)
		}
		return "k", failed, nil
	}, &runs
}

func TestBisect(t *testing.T) {
	p := client.BisectPlan{Spec: "x", Slave: "s1", Before: []string{"a", "b", "c", "d", "e"}}
	var lines []string
	say := func(l string) { lines = append(lines, l) }

	run, runs := fails("d")
	r, err := client.Bisect(context.Background(), p, run, say)
	require.NoError(t, err)
	require.Equal(t, "d", r.Culprit)
	require.Equal(t, []string{"x"}, (*runs)[0], "alone first")
	require.Equal(t, []string{"a", "b", "c", "d", "e", "x"}, (*runs)[1], "then the whole sequence, in order")
	for _, specs := range *runs {
		require.Equal(t, "x", specs[len(specs)-1])
	}
	require.Len(t, *runs, 7, "alone, all, then each half it keeps confirmed: a b (passes), c d e; c (passes), d e; d")
	require.Contains(t, strings.Join(lines, "\n"), "step 1: x alone: x passed (k)")

	run, _ = fails() // fails whatever ran before
	r, err = client.Bisect(context.Background(), p, run, say)
	require.NoError(t, err)
	require.True(t, r.Alone)
	require.Empty(t, r.Culprit)

	run, runs = fails("zz") // never reproduced
	r, err = client.Bisect(context.Background(), p, run, say)
	require.NoError(t, err)
	require.Empty(t, r.Culprit)
	require.Contains(t, r.Why, "not reproduced")
	require.Len(t, *runs, 2)

	run, _ = fails("a", "e") // it takes two
	r, err = client.Bisect(context.Background(), p, run, say)
	require.NoError(t, err)
	require.Empty(t, r.Culprit)
	require.Contains(t, r.Why, "more than one of a, b, c, d, e")
}

func TestPlanBisect(t *testing.T) {
	s := snapshot("failed",
		task("a.sh", "passed", nil, trial("passed", 0, time.Second, "s1")),
		task("b.sh", "failed", nil, trial("failed", 2*time.Second, time.Second, "s1")),
		task("c.sh", "failed", nil, trial("failed", 0, time.Second, "s2")),
	)
	p, err := client.PlanBisect(s, "b.sh")
	require.NoError(t, err)
	require.Equal(t, []string{"a.sh"}, p.Before)
	require.Equal(t, 1, p.Trial)
	_, err = client.PlanBisect(s, "c.sh")
	require.ErrorIs(t, err, client.ErrNothingToBisect, "failed first on its slave")
	_, err = client.PlanBisect(s, "z.sh")
	require.True(t, client.IsUsage(err))
	s.Status = "running"
	_, err = client.PlanBisect(s, "b.sh")
	require.True(t, client.IsUsage(err))
}
