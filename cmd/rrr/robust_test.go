package main

// Tests of bad values found in Redis or given on the command line (issue
// 19): each is named, set aside and reported, never looped on or echoed.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

func TestMalformedRedisURLIsAUsageErrorWithoutItsPassword(t *testing.T) {
	code, _, stderr := rrr(t, "--redis", "redis://:s3c%ZZretPW@127.0.0.1:6393/0", "nodes")
	require.Equal(t, exitUsage, code, stderr)
	require.NotContains(t, stderr, "retPW")
	require.Contains(t, stderr, "redis URL")
}

// smallFleet is one worker of two slaves with short timings.
func smallFleet(t *testing.T, workerArgs ...string) *fleet {
	return newFleet(t, fleetOptions{workers: 1, slaves: 2,
		serverArgs: []string{"--interval", "500ms", "--sweep-interval", "1s"},
		workerArgs: append([]string{"--heartbeat-ttl", "3s", "--heartbeat-interval", "500ms", "--stop-grace", "3s"}, workerArgs...)})
}

// sleepyRun starts `start --wait` of n specs that sleep half a second on a
// small fleet, and returns once a fifth of them have their verdict.
func sleepyRun(t *testing.T, n int, name string) (*fleet, string, *proc, string) {
	f := smallFleet(t)
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("specs/s%d.sh", i)] = "sleep 0.5\n"
	}
	dir := project(t, files)
	run, key := f.start(t, "--wait", "--dir", dir, "--trial-command", "sh {file}", "--format", "exit-code",
		"--rsync-name", name, "specs/*.sh")
	f.waitDone(t, key, 0.2)
	return f, dir, run, key
}

// persisted waits until taskset key is in the results store and its keys
// expire, and returns what was stored.
func persisted(t *testing.T, f *fleet, key string) *model.Snapshot {
	id, _ := f.c.Keys.TasksetID(key)
	var snap *model.Snapshot
	require.Eventually(t, func() bool {
		var err error
		snap, err = store.Read(f.results, id)
		ttl, _ := f.rdb.TTL(ctx, key).Result()
		return err == nil && ttl > 0
	}, 30*time.Second, 50*time.Millisecond, "the taskset is persisted and its keys expire")
	return snap
}

// A field of a live taskset set to garbage (19.3, 18.3): the server fails
// the taskset with the field and value as the reason, `start --wait` says
// so and exits 4, the worker is freed for the next taskset, and the
// taskset is persisted (so its keys expire).
func TestUnreadableTasksetIsSetAsideEndToEnd(t *testing.T) {
	f, dir, run, key := sleepyRun(t, 8, "poison")
	require.NoError(t, f.rdb.HSet(ctx, key, schema.FMaxTrials, "notanumber").Err())

	require.Equal(t, exitInfra, run.exit(t, time.Minute), run.stderr.String())
	require.Contains(t, run.stderr.String(), `max_trials = "notanumber"`)
	require.Equal(t, schema.StatusFailed, redistest.HGet(t, f.rdb, key, schema.FStatus))
	require.Eventually(t, func() bool {
		return redistest.HGet(t, f.rdb, f.workerKey(0), schema.FTaskset) == ""
	}, 15*time.Second, 20*time.Millisecond, "the worker leaves the taskset")

	next, _ := f.start(t, "--wait", "--dir", dir, "--trial-command", "sh {file}", "--format", "exit-code",
		"--rsync-name", "poison", "specs/s0.sh")
	require.Equal(t, exitOK, next.exit(t, time.Minute), next.stderr.String())

	require.Contains(t, persisted(t, f, key).StatusReason, "max_trials")
}

// One task's trial list overwritten with a string mid-run (19.12): that
// spec is settled as error naming the key, the run ends as an
// infrastructure error (exit 4) rather than hang, and it is persisted.
func TestCorruptTrialListEndsTheRunEndToEnd(t *testing.T) {
	f, _, run, key := sleepyRun(t, 6, "corrupt")
	tasks := redistest.List(t, f.rdb, schema.Tasks(key))
	corrupt := tasks[len(tasks)-1]
	require.NoError(t, f.rdb.Set(ctx, schema.TaskTrials(corrupt), "x", 0).Err())

	require.Equal(t, exitInfra, run.exit(t, time.Minute), run.stderr.String())
	require.Contains(t, run.stderr.String(), schema.TaskTrials(corrupt))
	require.NotContains(t, run.stderr.String(), "unreachable")
	persisted(t, f, key)
}

// A spec whose slave is killed in every trial (19.10) did not fail a test:
// its verdict is error, the exit code 4, the summary names the crashes and
// the JUnit report has an <error>, not a <failure>.
func TestSpecThatOnlyCrashesIsAnErrorEndToEnd(t *testing.T) {
	f := smallFleet(t, "--max-slave-crashes", "10")
	dir := project(t, map[string]string{"specs/ok.sh": "exit 0\n", "specs/crash.sh": "kill -9 $PPID\nsleep 3\n"})
	junitPath := filepath.Join(t.TempDir(), "junit.xml")
	run, _ := f.start(t, "--wait", "--junit", junitPath, "--dir", dir, "--trial-command", "sh {file}",
		"--format", "exit-code", "--rsync-name", "crash", "--max-trials", "2", "specs/*.sh")
	code := run.exit(t, 2*time.Minute)
	out := run.stderr.String() + run.stdout.String()
	require.Equal(t, exitInfra, code, out)
	require.Contains(t, out, "1 errored")
	require.Contains(t, out, "specs/crash.sh: error")
	require.Contains(t, out, "SIGKILL")
	require.NotContains(t, out, "failed after")
	doc, err := os.ReadFile(junitPath)
	require.NoError(t, err)
	require.Contains(t, string(doc), "<error")
	require.NotContains(t, string(doc), "<failure")
}

// Global keys of the wrong type (19.4) are named, with what to do, and the
// processes keep running: `rrr server` without the rsync defaults, the
// worker retrying its registration until the key is fixed, the loops
// saying which key holds what instead of asking whether Redis is up.
func TestWrongTypeGlobalKeysAreNamedAndSurvived(t *testing.T) {
	srv := ownRedis(t, redistest.Options{})
	rdb := srv.Client()
	t.Cleanup(func() { _ = rdb.Close() })
	sc := schema.NewClient(rdb, "fleet")
	require.NoError(t, rdb.Set(ctx, sc.Keys.RsyncInfo(), "x", 0).Err())
	require.NoError(t, rdb.Set(ctx, sc.Keys.Workers(), "x", 0).Err())
	bin := build(t)
	global := []string{"--redis", srv.URL(), "--namespace", "fleet"}
	server := spawn(t, bin, append(global, "server", "--results-dir", t.TempDir(), "--rsync-remote-path", t.TempDir(),
		"--interval", "200ms", "--sweep-interval", "200ms")...)
	worker := spawn(t, bin, append(global, "worker", "--id", "w0", "--working-dir", t.TempDir(),
		"--rsync-remote-path", t.TempDir())...)
	says := func(p *proc, text string) {
		t.Helper()
		require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), text) }, 30*time.Second,
			20*time.Millisecond, "rrr %s says %q", p.args, text)
	}
	says(server, "fleet:rsync_info holds a string, not a hash")
	says(worker, "fleet:worker holds a string, not a set")
	require.False(t, server.exited())
	require.False(t, worker.exited())

	require.NoError(t, rdb.Del(ctx, sc.Keys.Workers()).Err())
	require.Eventually(t, func() bool {
		ok, _ := rdb.SIsMember(ctx, sc.Keys.Workers(), sc.Keys.Worker("w0")).Result()
		return ok
	}, 30*time.Second, 20*time.Millisecond, "the worker registers once the key is fixed")

	require.NoError(t, rdb.Set(ctx, sc.Keys.ActiveTaskset(), "x", 0).Err())
	says(server, "fleet:active_taskset holds a string, not a list")
	require.NotContains(t, server.stderr.String(), "is Redis up")
	require.False(t, server.exited())
}

// redis-server killed while a spec runs, for longer than the slaves'
// heartbeat TTL, and restarted on its append-only file (19.9): the slave
// lived through it, so its trial is not errored and run again; the spec
// passes in that trial and the run succeeds. The slave beats less often
// than the arbiter backs off (5 s at most), so the arbiter looks before the
// slave has beaten again.
func TestOutageKeepsTheTrialOfALiveSlaveEndToEnd(t *testing.T) {
	f := newFleet(t, fleetOptions{workers: 1, slaves: 1, appendOnly: true,
		serverArgs: []string{"--interval", "500ms", "--sweep-interval", "200ms"},
		workerArgs: []string{"--heartbeat-ttl", "8s", "--heartbeat-interval", "7s", "--stop-grace", "3s"}})
	dir := project(t, map[string]string{"specs/slow.sh": "sleep 25\n"})
	run, key := f.start(t, "--wait", "--dir", dir, "--trial-command", "sh {file}", "--format", "exit-code",
		"--rsync-name", "outage", "specs/slow.sh")
	task := schema.Task(key, "specs/slow.sh")
	require.Eventually(t, func() bool { return len(redistest.List(t, f.rdb, schema.TaskTrials(task))) == 1 },
		30*time.Second, 10*time.Millisecond, "the trial starts")
	f.redis.Kill()
	require.Eventually(t, func() bool { return strings.Contains(f.server.stderr.String(), "retrying with backoff") },
		30*time.Second, 10*time.Millisecond, "the server notices that Redis is gone")
	time.Sleep(9 * time.Second) // longer than the heartbeat TTL: every heartbeat expires in the outage
	require.NoError(t, f.redis.Restart())

	require.Equal(t, exitOK, run.exit(t, time.Minute), run.stderr.String())
	s := f.snapshot(t, key)
	require.Len(t, s.Tasks, 1)
	// A speculative copy may start beside it (one slave, and the arbiter
	// lets it take the task again); what must not happen is the live
	// slave's trial taken for lost.
	first := s.Tasks[0].Trials[0]
	require.Equal(t, schema.StatusPassed, first.Status, "the trial was not errored as lost: %s", first.Error)
	for _, tr := range s.Tasks[0].Trials {
		require.NotContains(t, tr.Error, "heartbeat expired")
	}
}

// `rrr show` of a taskset set aside for a field it cannot read prints the
// taskset with the reason, and exits 4, instead of failing to read it.
func TestShowOfASetAsideTaskset(t *testing.T) {
	m := newMini(t)
	ts, err := m.sc.CreateTaskset(ctx, "poison", schema.TasksetSpec{TrialCommand: "true {file}", Specs: []string{"a"}})
	require.NoError(t, err)
	require.NoError(t, m.rdb.HSet(ctx, ts, schema.FMaxTrials, "notanumber").Err())
	_, err = m.sc.FailTaskset(ctx, ts, (&model.FieldError{Field: schema.FMaxTrials, Value: "notanumber", Want: "a whole number"}).SetAside())
	require.NoError(t, err)
	code, stdout, stderr := rrr(t, "--redis", m.url, "show", "poison")
	require.Equal(t, exitInfra, code, stderr)
	require.Contains(t, stdout, "taskset  "+ts)
	require.Contains(t, stdout, `field max_trials = "notanumber"`)
}

// A cancel of a taskset with a corrupt trial list cancels it, and says so
// without an error; `show` then names the key (19.12).
func TestCancelAndShowWithACorruptTrialList(t *testing.T) {
	m := newMini(t)
	ts, err := m.sc.CreateTaskset(ctx, "corrupt", schema.TasksetSpec{TrialCommand: "true {file}", Specs: []string{"a", "b"}})
	require.NoError(t, err)
	require.NoError(t, m.rdb.Set(ctx, schema.TaskTrials(schema.Task(ts, "b")), "x", 0).Err())
	code, _, stderr := rrr(t, "--redis", m.url, "cancel", "corrupt")
	require.Equal(t, exitOK, code, stderr)
	require.NotContains(t, stderr, "WRONGTYPE")
	code, stdout, stderr := rrr(t, "--redis", m.url, "show", "corrupt")
	require.Equal(t, exitCancelled, code, stderr)
	require.Contains(t, stdout+stderr, schema.TaskTrials(schema.Task(ts, "b")))
}
