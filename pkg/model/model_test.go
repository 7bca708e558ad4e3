package model_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var ctx = context.Background()

func TestDecodeRefusesMalformedValues(t *testing.T) {
	keys := schema.NewKeys("")
	for name, h := range map[string]map[string]string{
		"status":     {"status": "exploded"},
		"count":      {"status": "running", "failed_count": "two"},
		"time":       {"status": "running", "created_at": "yesterday"},
		"max trials": {"status": "running", "max_trials": "3.5"},
	} {
		_, err := model.DecodeTaskset(keys, "rrrspec:taskset:x", h)
		require.ErrorIs(t, err, model.ErrMalformed, name)
		require.Contains(t, err.Error(), "rrrspec:taskset:x", "the error names the key")
	}
	_, err := model.DecodeTaskset(keys, "rrrspec:taskset:x", map[string]string{})
	require.ErrorIs(t, err, model.ErrNotFound)
	_, err = model.DecodeTrial("k", map[string]string{"status": "passed", "passed": "-"})
	require.ErrorIs(t, err, model.ErrMalformed)
	_, err = model.DecodeTrial("k", map[string]string{"status": "passed", "report": "{"})
	require.ErrorIs(t, err, model.ErrMalformed)
	_, err = model.DecodeTask("k", map[string]string{"status": "timeout"})
	require.ErrorIs(t, err, model.ErrMalformed, "timeout is a trial status, not a task status")
	_, err = model.DecodeSlave("k", map[string]string{"status": "gone"}, true)
	require.ErrorIs(t, err, model.ErrMalformed)
	_, err = model.DecodeWorker(keys, "k", map[string]string{"slaves": "many"}, true)
	require.ErrorIs(t, err, model.ErrMalformed)

	tr, err := model.DecodeTrial("k", map[string]string{"status": "failed", "exit_code": "2",
		"started_at": "2026-01-01T00:00:00.000000Z", "finished_at": "2026-01-01T00:00:01.500000Z"})
	require.NoError(t, err)
	require.Equal(t, 2, *tr.ExitCode)
	require.Equal(t, 1500*time.Millisecond, tr.Duration())
}

func TestLoadSnapshot(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		c := schema.NewClient(b.RDB, b.NS)
		r := model.NewReader(c)
		require.NoError(t, b.RDB.HSet(ctx, c.Keys.Estimate("default"), "slow.rb", "12").Err())
		ts, err := c.CreateTaskset(ctx, "x", schema.TasksetSpec{TrialCommand: "t {file}", RsyncName: "bob",
			Specs: []string{"fast.rb", "slow.rb", "bad.rb"}})
		require.NoError(t, err)
		w := c.Keys.Worker("w1")
		_, err = c.RegisterWorker(ctx, w, time.Minute, map[string]string{schema.FWorkerType: "default", schema.FSlaves: "2"})
		require.NoError(t, err)
		_, err = c.Dispatch(ctx, ts, w)
		require.NoError(t, err)
		slave := schema.Slave(w, "100")
		require.NoError(t, c.RegisterSlave(ctx, ts, slave, time.Minute, map[string]string{schema.FWorker: w, schema.FNumber: "1"}))
		log, err := c.StartWorkerLog(ctx, ts, w)
		require.NoError(t, err)
		require.NoError(t, c.AppendLog(ctx, schema.WorkerLogText(log), "rsync ok\n", 1000))

		_, task, err := c.TakeTask(ctx, ts, slave)
		require.NoError(t, err)
		_, trial, _, err := c.StartTrial(ctx, ts, task, "1", slave)
		require.NoError(t, err)
		_, err = c.FinishTrial(ctx, trial, schema.Result{Status: "passed", Passed: 4,
			Fields: map[string]string{schema.FStdout: "4 examples", schema.FExitCode: "0"}})
		require.NoError(t, err)
		_, _, err = c.SettleTask(ctx, task)
		require.NoError(t, err)
		// a malformed trial is reported, not fatal
		badTask := schema.Task(ts, "bad.rb")
		require.NoError(t, b.RDB.HSet(ctx, schema.Trial(badTask, "z"), "status", "weird").Err())
		require.NoError(t, b.RDB.RPush(ctx, schema.TaskTrials(badTask), schema.Trial(badTask, "z")).Err())

		s, err := r.Load(ctx, ts, model.LoadOptions{Output: true, Logs: true})
		require.NoError(t, err)
		require.Equal(t, "running", s.Status)
		require.Equal(t, 1, s.SucceededCount)
		require.Len(t, s.Tasks, 3)
		require.Equal(t, "slow.rb", s.Tasks[2].SpecFile, "tasks list is in queue order: unknown first")
		require.Equal(t, 12, *s.Tasks[2].EstimateSec)
		first := s.Tasks[0]
		require.Equal(t, "fast.rb", first.SpecFile)
		require.Equal(t, "passed", first.Status)
		require.Len(t, first.Trials, 1)
		require.Equal(t, 4, first.Trials[0].Passed)
		require.Equal(t, "4 examples", first.Trials[0].Stdout)
		require.Len(t, s.Problems, 1)
		require.Contains(t, s.Problems[0], "weird")
		require.Len(t, s.WorkerLogs, 1)
		require.Equal(t, "rsync ok\n", s.WorkerLogs[0].Log)
		require.Len(t, s.Slaves, 1)
		require.True(t, s.Slaves[0].Alive)

		lean, err := r.Load(ctx, ts, model.LoadOptions{})
		require.NoError(t, err)
		require.Equal(t, "", lean.Tasks[0].Trials[0].Stdout)

		// the JSON has the fields `show --json` promises
		raw, err := json.Marshal(s)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(raw, &doc))
		for _, f := range []string{"key", "status", "created_at", "finished_at", "succeeded_count", "failed_count", "tasks"} {
			require.Contains(t, doc, f)
		}
		require.Nil(t, doc["finished_at"])
		task0 := doc["tasks"].([]any)[0].(map[string]any)
		for _, f := range []string{"spec_file", "status", "estimate_sec", "trials"} {
			require.Contains(t, task0, f)
		}
		trial0 := task0["trials"].([]any)[0].(map[string]any)
		for _, f := range []string{"key", "status", "slave", "started_at", "finished_at", "passed", "pending", "failed"} {
			require.Contains(t, trial0, f)
		}
		var back model.Snapshot
		require.NoError(t, json.Unmarshal(raw, &back))
		require.True(t, back.CreatedAt.Equal(s.CreatedAt.Time))

		ws, problems, err := r.Workers(ctx)
		require.NoError(t, err)
		require.Empty(t, problems)
		require.Len(t, ws, 1)
		require.Equal(t, "w1", ws[0].ID)
		require.Equal(t, ts, ws[0].Taskset)
		require.True(t, ws[0].Alive)
		require.Len(t, ws[0].ActiveSlaves, 1)

		_, err = r.Load(ctx, c.Keys.Taskset("none"), model.LoadOptions{})
		require.ErrorIs(t, err, model.ErrNotFound)
	})
}
