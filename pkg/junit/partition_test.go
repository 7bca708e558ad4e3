package junit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/junit"
	"github.com/rrr-dev/rrr/pkg/model"
)

func TestPartitionsMakeOneSuite(t *testing.T) {
	ts := "rrrspec:taskset:x"
	s := &model.Snapshot{
		Taskset: model.Taskset{Key: ts, ID: "x", Status: "failed"},
		Tasks: []model.Task{
			{Key: ts + ":task:big#p1of2", Taskset: ts, SpecFile: "big", Status: "passed", Trials: []model.Trial{
				tr("t1", "failed", time.Second, model.Case{Name: "TestA", Classname: "m/big", Status: "failed", Message: "boom"}),
				later(tr("t2", "passed", time.Second, model.Case{Name: "TestA", Classname: "m/big", Status: "passed"}), time.Second)}},
			{Key: ts + ":task:small", Taskset: ts, SpecFile: "small", Status: "passed", Trials: []model.Trial{
				tr("t3", "passed", time.Second, model.Case{Name: "TestS", Classname: "m/small", Status: "passed"})}},
			{Key: ts + ":task:big#p2of2", Taskset: ts, SpecFile: "big", Status: "failed", Trials: []model.Trial{
				tr("t4", "failed", 2*time.Second, model.Case{Name: "TestB", Classname: "m/big", Status: "failed", Message: "bad"},
					model.Case{Name: "TestC", Classname: "m/big", Status: "passed"})}},
		},
	}
	doc := parse(t, s)
	require.Len(t, doc.Suites, 2, "one suite per spec file")
	big := doc.Suites[0]
	require.Equal(t, "big", big.Name)
	require.Equal(t, "2", prop(big, junit.PropPartitions))
	require.Equal(t, "failed", prop(big, junit.PropStatus), "a spec file fails when a partition failed")
	require.Equal(t, "true", prop(big, junit.PropFlaky), "a partition was flaky")
	require.Equal(t, "3", prop(big, junit.PropTrials))
	require.Equal(t, 3, big.Tests, "the cases of both partitions")
	require.Equal(t, 1, big.Failures)
	require.Len(t, big.Cases[0].FlakyFailures, 1, "TestA failed before it passed")
	require.Equal(t, "small", doc.Suites[1].Name)
	require.Empty(t, prop(doc.Suites[1], junit.PropPartitions))
	require.Equal(t, 4, doc.Tests)
}
