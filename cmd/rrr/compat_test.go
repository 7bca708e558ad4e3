package main

// The original RRRSpec client against an rrr fleet: a Ruby script of this
// repository (testdata/rrrspec_client.rb) writes a taskset as the original
// `rrrspec start` did and reads the results back as the original's models
// did.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// original is what the script's `read` prints.
type original struct {
	Status         string `json:"status"`
	CreatedAt      string `json:"created_at"`
	FinishedAt     string `json:"finished_at"`
	SucceededCount int    `json:"succeeded_count"`
	FailedCount    int    `json:"failed_count"`
	Log            string `json:"log"`
	Tasks          []struct {
		SpecFile  string `json:"spec_file"`
		Status    string `json:"status"`
		HasStatus bool   `json:"has_status"`
		Trials    []struct {
			Status     string `json:"status"`
			Slave      string `json:"slave"`
			StartedAt  string `json:"started_at"`
			FinishedAt string `json:"finished_at"`
			Passed     *int   `json:"passed"`
			Failed     *int   `json:"failed"`
		} `json:"trials"`
	} `json:"tasks"`
	Slaves     []struct{ Key, Status string } `json:"slaves"`
	WorkerLogs []struct {
		StartedAt       string `json:"started_at"`
		RsyncFinishedAt string `json:"rsync_finished_at"`
		SetupFinishedAt string `json:"setup_finished_at"`
	} `json:"worker_logs"`
	Estimates map[string]int `json:"estimates"`
}

func needOriginalClient(t *testing.T) {
	t.Helper()
	for _, check := range [][]string{{"ruby", "-e", "require 'redis'"}, {"rspec", "--version"}} {
		if err := exec.Command(check[0], check[1:]...).Run(); err != nil {
			if redistest.Required() {
				t.Fatalf("%s: %v (scripts/test.sh installs ruby-redis and ruby-rspec)", strings.Join(check, " "), err)
			}
			t.Skipf("%s: %v", strings.Join(check, " "), err)
		}
	}
}

func TestOriginalClient(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	needOriginalClient(t)
	f := startFleet(t)
	script, err := filepath.Abs("testdata/rrrspec_client.rb")
	require.NoError(t, err)
	redisURL, ns := f.global[1], f.global[3]
	ruby := func(t *testing.T, env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command("ruby", append([]string{script}, args...)...)
		cmd.Env = append(append(os.Environ(), "RRR_REDIS="+redisURL, "RRR_NAMESPACE="+ns), env...)
		out, err := cmd.Output()
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		require.NoError(t, err, "ruby %s: %s", strings.Join(args, " "), stderr)
		return strings.TrimSpace(string(out))
	}

	// The original client uploads to <rsync_remote_path>/<rsync_name>.
	for name, text := range map[string]string{
		"spec/pass_spec.rb": "RSpec.describe 'arithmetic' do\n  it('adds') { expect(1 + 1).to eq 2 }\nend\n",
		"spec/fail_spec.rb": "RSpec.describe 'logic' do\n  it('breaks') { expect(true).to eq false }\nend\n",
	} {
		p := filepath.Join(f.remote, "compat", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}

	// A `cd` line before the slave, as the original's own examples have;
	// no bundler here, so the slave runs without `bundle exec`.
	key := ruby(t, []string{"RRRSPEC_SLAVE_COMMAND=cd .\nrrrspec-client slave"},
		"start", "compat", "offset", "spec/pass_spec.rb", "spec/fail_spec.rb")
	require.True(t, strings.HasPrefix(key, ns+":taskset:"), key)
	require.Equal(t, "failed", ruby(t, nil, "wait", key, "90"))

	// rrr reads what the original wrote: its time form, no status, no
	// trial command.
	code, p := f.rrr(t, "show", "--json", key)
	require.Equal(t, 1, code, p.stderr.String())
	s := f.show(t, key)
	require.Equal(t, "failed", s.Status)
	require.Equal(t, 2, s.TaskCount, "no task_count field: the tasks are counted")
	require.WithinDuration(t, time.Now(), s.CreatedAt.Time, 5*time.Minute, "created_at in Time#to_s form with an offset")

	var got original
	require.Eventually(t, func() bool { // the persister writes the estimates
		require.NoError(t, json.Unmarshal([]byte(ruby(t, nil, "read", key)), &got))
		_, ok := got.Estimates["spec/pass_spec.rb"]
		return ok
	}, 30*time.Second, 100*time.Millisecond, "estimates of the passed spec")

	require.Equal(t, "failed", got.Status)
	require.NotEmpty(t, got.CreatedAt)
	require.NotEmpty(t, got.FinishedAt, "rrr's RFC 3339 times parse in Ruby")
	require.Equal(t, 1, got.SucceededCount)
	require.Equal(t, 1, got.FailedCount)
	require.Len(t, got.Tasks, 2)
	for _, task := range got.Tasks {
		require.True(t, task.HasStatus, task.SpecFile)
		require.NotEmpty(t, task.Trials, task.SpecFile)
		for _, tr := range task.Trials {
			require.NotEmpty(t, tr.StartedAt, task.SpecFile)
			require.NotEmpty(t, tr.FinishedAt, task.SpecFile)
			require.NotEmpty(t, tr.Slave, task.SpecFile)
		}
		switch task.SpecFile {
		case "spec/pass_spec.rb":
			require.Equal(t, "passed", task.Status)
			require.Equal(t, "passed", task.Trials[0].Status)
			require.Equal(t, 1, *task.Trials[0].Passed, "counts from the RSpec JSON report")
		case "spec/fail_spec.rb":
			require.Equal(t, "failed", task.Status)
			require.Len(t, task.Trials, 2, "max_trials 2")
			for _, tr := range task.Trials {
				require.Equal(t, "failed", tr.Status)
				require.Equal(t, 1, *tr.Failed)
			}
		default:
			t.Fatalf("unexpected task %s", task.SpecFile)
		}
	}
	require.NotEmpty(t, got.Slaves)
	slaveLog, err := f.raw.Get(context.Background(), schema.SlaveLog(got.Slaves[0].Key)).Result()
	require.NoError(t, err)
	require.Contains(t, slaveLog, "running it with the rspec runner", "RSpec loaded once per slave")
	require.NotEmpty(t, got.WorkerLogs)
	for _, wl := range got.WorkerLogs {
		require.NotEmpty(t, wl.StartedAt)
		require.NotEmpty(t, wl.RsyncFinishedAt)
		require.NotEmpty(t, wl.SetupFinishedAt)
	}
	// its second trial is a retry or a speculative copy, by timing
	require.Regexp(t, `(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d task \S+fail_spec.rb(: speculative execution| queued again for another trial)`, got.Log)
	require.Contains(t, got.Log, "taskset failed: every task has its verdict")

	// A cancel as the original models write it, of a taskset no worker
	// has had yet: it never becomes running.
	rdb := f.rdb
	key2 := ruby(t, nil, "start", "compat-2", "ruby18", "spec/pass_spec.rb")
	require.NoError(t, f.raw.LRem(context.Background(), rdb.Keys.ActiveTaskset(), 0, key2).Err()) // hold it back from the dispatcher
	ruby(t, nil, "cancel", key2)
	require.Eventually(t, func() bool {
		st, _ := rdb.Field(context.Background(), key2, schema.FStatus)
		return st == schema.StatusCancelled
	}, 30*time.Second, 50*time.Millisecond)
}
