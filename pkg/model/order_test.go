package model_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
)

func TestRanBeforeAndSuspectOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := func(key, slave, status string, us int) model.Trial {
		return model.Trial{Key: key, Slave: slave, Status: status, StartedAt: model.Time{Time: t0.Add(time.Duration(us) * time.Microsecond)}}
	}
	s := &model.Snapshot{Tasks: []model.Task{
		// listed out of run order: the started_at times give it
		{SpecFile: "b", Status: "passed", Trials: []model.Trial{tr("b1", "s1", "failed", 30), tr("b2", "s2", "passed", 40)}},
		{SpecFile: "a", Status: "passed", Trials: []model.Trial{tr("a1", "s1", "passed", 10)}},
		// c ran twice on s1 before b (a partition and another): named once
		{SpecFile: "c", Status: "passed", Trials: []model.Trial{tr("c1", "s1", "passed", 20), tr("c2", "s1", "passed", 25)}},
		{SpecFile: "d", Status: "passed", Trials: []model.Trial{tr("d1", "s1", "passed", 50), tr("d2", "s2", "passed", 5)}},
	}}
	slave, before := model.RanBefore(s, "b1")
	require.Equal(t, "s1", slave)
	require.Equal(t, []string{"a", "c"}, before, "in run order, each once, not what came after")
	slave, before = model.RanBefore(s, "b2")
	require.Equal(t, "s2", slave)
	require.Equal(t, []string{"d"}, before)
	slave, before = model.RanBefore(s, "nope")
	require.Empty(t, slave)
	require.Nil(t, before)

	o, ok := model.SuspectOrder(s, s.Tasks[0])
	require.True(t, ok)
	require.Equal(t, 0, o.Index)
	require.Equal(t, "b1", o.Trial.Key)
	require.Equal(t, []string{"a", "c"}, o.Before)

	// a failure first on its slave is no suspect
	first := model.Task{SpecFile: "e", Status: "failed", Trials: []model.Trial{tr("e1", "s3", "failed", 1)}}
	s.Tasks = append(s.Tasks, first)
	_, ok = model.SuspectOrder(s, first)
	require.False(t, ok)
}
