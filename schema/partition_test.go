package schema_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func TestCreateTasksetWithPartitions(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		require.NoError(t, e.rd.HSet(ctx, e.k.Estimate("default"), "big", "40", "small", "2").Err())
		s := spec("small", "big#p1of2", "big#p2of2")
		s.TrialCommand = "go test -json {cases}"
		s.Quarantined = map[string]string{"big": "flaky"}
		s.Partitions = map[string]schema.Partition{
			"big#p1of2": {Spec: "big", Style: schema.StyleGo, Cases: []string{"TestA"}},
			"big#p2of2": {Spec: "big", Style: schema.StyleGo, Cases: []string{"TestB"}, Rest: true},
		}
		ts := e.create(t, "t1", s)
		p1, p2 := schema.Task(ts, "big#p1of2"), schema.Task(ts, "big#p2of2")
		require.Equal(t, []string{p1, p2, schema.Task(ts, "small")}, e.list(t, schema.TaskQueue(ts)), "each partition has the spec file's estimate")
		for _, task := range []string{p1, p2} {
			require.Equal(t, "big", e.hget(t, task, schema.FSpecFile), "a partition's spec_file is the real file")
			require.Equal(t, "40", e.hget(t, task, schema.FEstimateSec))
			require.Equal(t, "flaky", e.hget(t, task, schema.FQuarantined), "the spec file's quarantine holds for its partitions")
		}
		var got map[string]schema.Partition
		require.NoError(t, json.Unmarshal([]byte(e.hget(t, ts, schema.FPartitions)), &got))
		require.Equal(t, s.Partitions, got)
	})
}

func TestCreateTasksetRefusesBadPartitions(t *testing.T) {
	e := newEnv(redistest.Mini(t))
	for name, parts := range map[string]map[string]schema.Partition{
		"not a task":       {"x#p1of2": {Spec: "x", Style: schema.StyleGo, Cases: []string{"T"}}},
		"name not of spec": {"big#p1of2": {Spec: "other", Style: schema.StyleGo, Cases: []string{"T"}}},
		"unknown style":    {"big#p1of2": {Spec: "big", Style: "tap", Cases: []string{"T"}}},
		"no case":          {"big#p1of2": {Spec: "big", Style: schema.StyleGo}},
	} {
		s := spec("big#p1of2")
		s.Partitions = parts
		_, err := e.c.CreateTaskset(ctx, "t-"+name[:2], s)
		require.ErrorIs(t, err, schema.ErrInvalid, name)
	}
}

func TestCaseEstimates(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		got, err := e.c.CaseEstimates(ctx, "default", []string{"a"})
		require.NoError(t, err)
		require.Empty(t, got)
		want := map[string]schema.CaseTimes{"a": {Style: schema.StyleGo, Cases: map[string]float64{"TestA": 1.5}}}
		require.NoError(t, e.c.RecordCaseEstimates(ctx, "default", want))
		require.NoError(t, e.rd.HSet(ctx, e.k.CaseEstimate("default"), "junk", "{").Err())
		got, err = e.c.CaseEstimates(ctx, "default", []string{"a", "junk", "none"})
		require.NoError(t, err)
		require.Equal(t, want, got, "a value that does not decode is no case list")
	})
}
