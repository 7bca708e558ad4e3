package client_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/schema"
)

func TestPlanPartitions(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	cases := map[string]schema.CaseTimes{
		"big":   {Style: schema.StyleGo, Cases: map[string]float64{"TestA": 10, "TestB": 10, "TestC": 10, "TestD": 10}},
		"small": {Style: schema.StyleGo, Cases: map[string]float64{"TestS": 1, "TestT": 1}},
	}
	ts := schema.TasksetSpec{TrialCommand: "go test -json {cases}", Specs: []string{"new", "big", "small", "unknown-cases"}}
	require.True(t, client.Partitioned(ts))
	sec, whole := client.PlanPartitions(&ts, []*float64{nil, f(40), f(2), f(30)}, cases, 4, 0)
	require.InDelta(t, 18, sec, 0.001, "the known work over the slaves")
	require.Equal(t, []string{"unknown-cases"}, whole, "long, but its cases are not known: it runs whole")
	require.Equal(t, []string{"new", "big#p1of3", "big#p2of3", "big#p3of3", "small", "unknown-cases"}, ts.Specs,
		"the partitions of big take its place, ceil(40/18) of them")
	require.Len(t, ts.Partitions, 3)
	require.True(t, ts.Partitions["big#p3of3"].Rest)
	ts = ts.WithDefaults()
	require.NoError(t, ts.Validate())

	ts = schema.TasksetSpec{TrialCommand: "go test -json {cases}", Specs: []string{"big", "small"}}
	_, _ = client.PlanPartitions(&ts, []*float64{f(40), f(2)}, cases, 1, time.Minute)
	require.Equal(t, []string{"big", "small"}, ts.Specs, "nothing is longer than the target given")
	require.Empty(t, ts.Partitions)
}

func TestCheckTrialCommandCases(t *testing.T) {
	require.NoError(t, client.CheckTrialCommand("go test -json {cases}"))
	for cmd, want := range map[string]string{
		"go test -run={cases}":      "must be a word of its own",
		"go test {cases} {file}":    "without {file} or {files}",
		"pytest {cases} {files}":    "without {file} or {files}",
		"go test -json '{cases} x'": "must be a word of its own",
	} {
		err := client.CheckTrialCommand(cmd)
		require.ErrorIs(t, err, client.ErrBadTrialCommand, cmd)
		require.ErrorContains(t, err, want, cmd)
	}
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "pkg"), 0o755))
	_, _, err := client.Prepare(client.StartOptions{Dir: dir, Patterns: []string{"pkg"},
		Taskset: schema.TasksetSpec{TrialCommand: "go test {cases}", ResultFormat: schema.FormatExitCode}})
	require.ErrorIs(t, err, client.ErrBadTrialCommand)
	require.ErrorContains(t, err, "only a report that names them")
}
