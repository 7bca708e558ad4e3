package model_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
)

func TestBySpecMergesPartitions(t *testing.T) {
	at := func(s int) model.Time { return model.Time{Time: time.Unix(int64(s), 0)} }
	task := func(name, spec, status, kind string, trials ...model.Trial) model.Task {
		return model.Task{Key: "ts:task:" + name, Taskset: "ts", SpecFile: spec, Status: status, FailureKind: kind, Trials: trials}
	}
	passed := func(end int) model.Trial { return model.Trial{Status: "passed", StartedAt: at(0), FinishedAt: at(end)} }
	failed := func(end int) model.Trial { return model.Trial{Status: "failed", StartedAt: at(0), FinishedAt: at(end)} }

	whole := task("a", "a", "passed", "", passed(1))
	require.Empty(t, whole.Partition())
	p1 := task("b#p1of2", "b", "passed", "", failed(1), passed(2))
	require.Equal(t, "b#p1of2", p1.Partition())
	require.Equal(t, "p1of2", model.PartOf(p1.Key))
	require.Equal(t, "p1of2", model.PartOf(p1.Key+":trial:abc"), "a trial key names its partition too")
	require.Empty(t, model.PartOf("ts:task:c#x"))
	p2 := task("b#p2of2", "b", "passed", "", passed(5))

	got := model.BySpec([]model.Task{p1, whole, p2})
	require.Len(t, got, 2)
	require.Equal(t, "b", got[0].SpecFile)
	require.Equal(t, 2, got[0].Parts)
	require.Equal(t, "ts:task:b", got[0].Key)
	require.Equal(t, "passed", got[0].Status)
	require.Len(t, got[0].Trials, 3)
	require.True(t, model.IsFlaky(got[0]), "a partition failed, then passed")
	require.Equal(t, whole, got[1])

	for _, tc := range []struct {
		name     string
		parts    []model.Task
		verdict  string
		unsettle bool
	}{
		{"one failed", []model.Task{task("b#p1of2", "b", "passed", "", passed(1)), task("b#p2of2", "b", "failed", "", failed(1))}, "failed", false},
		{"one errored", []model.Task{task("b#p1of2", "b", "passed", "", passed(1)), task("b#p2of2", "b", "failed", "error")}, "error", false},
		{"one pending", []model.Task{task("b#p1of2", "b", "passed", "", passed(1)), task("b#p2of2", "b", "pending", "")}, "pending", false},
		{"one open", []model.Task{task("b#p1of2", "b", "passed", "", passed(1)), task("b#p2of2", "b", "", "")}, "", true},
		{"failed beats open", []model.Task{task("b#p1of2", "b", "failed", "", failed(1)), task("b#p2of2", "b", "", "")}, "failed", false},
	} {
		m := model.Merge(tc.parts)
		require.Equal(t, tc.verdict, m.Verdict(), tc.name)
	}
}
