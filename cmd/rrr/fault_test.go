package main

// Fault injection, end to end: a suite of a few hundred small spec files
// runs on a real fleet (redis-server with an append-only file, `rrr
// server`, two `rrr worker`s, `rrr start --wait` as CI runs it), and in the
// middle of the taskset one thing dies or is stopped. Whatever it is, the
// taskset must end by itself with the verdict of a clean run, every spec
// file with exactly one final status, counters that match, nothing left
// running, and the results stored. checkFault says all of it in one place.
//
// The default test run does each case once on a short suite; more specs
// and rounds (scripts/fault.sh):
//
//	RRR_TEST_FAULT_SPECS=600 RRR_TEST_FAULT_ROUNDS=3 go test -run TestFault -v ./cmd/rrr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/proc/proctest"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

// faultScale is the size of a fault run.
type faultScale struct {
	specs, rounds, workers, slaves int
}

func faultScaleFromEnv(t *testing.T) faultScale {
	t.Helper()
	s := faultScale{specs: 160, rounds: 1, workers: 2, slaves: 3}
	for name, v := range map[string]*int{"RRR_TEST_FAULT_SPECS": &s.specs, "RRR_TEST_FAULT_ROUNDS": &s.rounds} {
		if env := os.Getenv(name); env != "" {
			n, err := strconv.Atoi(env)
			require.NoError(t, err, "%s=%q: want a number", name, env)
			require.Positive(t, n, name)
			*v = n
		}
	}
	require.GreaterOrEqual(t, s.specs, 40, "RRR_TEST_FAULT_SPECS: the cases need at least 40 specs to fault in the middle")
	return s
}

// faultSuite is a generated project of shell specs: most sleep a few
// hundredths of a second and pass, some sleep longer (so that a fault can
// hit a running trial), and some fail every time: the verdict of a clean
// run is "failed" with exactly those.
type faultSuite struct {
	dir     string
	specs   []string
	failing []string // sorted
	slow    map[string]bool
}

func newFaultSuite(t *testing.T, n int) faultSuite { return genFaultSuite(t, n, false) }

// genFaultSuite is newFaultSuite; with chaos, also flaky specs (the first
// trial fails, every other passes: mkdir is atomic, so exactly one trial
// sees the marker missing), a spec that hangs every time (the soft
// timeout ends each trial: it fails), and one that ignores SIGTERM on its
// first trial (the hard timeout ends it; it passes on the next).
func genFaultSuite(t *testing.T, n int, chaos bool) faultSuite {
	t.Helper()
	s := faultSuite{dir: t.TempDir(), slow: map[string]bool{}}
	marks := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(s.dir, "specs"), 0o755))
	for i := range n {
		spec := fmt.Sprintf("specs/s%04d.sh", i)
		body := fmt.Sprintf("exec sleep 0.%02d\n", 1+i%5)
		mark := filepath.Join(marks, fmt.Sprintf("m%04d", i))
		switch {
		case chaos && i == 11:
			body = fmt.Sprintf("if mkdir %s 2>/dev/null; then trap '' TERM; sleep 600; fi\nexit 0\n", mark)
		case chaos && i%80 == 31:
			body = "exec sleep 600\n"
			s.failing = append(s.failing, spec)
		case chaos && i%40 == 19:
			body = fmt.Sprintf("if mkdir %s 2>/dev/null; then echo flaky >&2; exit 1; fi\nexit 0\n", mark)
		case i%40 == 7:
			body = "echo failing on purpose >&2\nexit 1\n"
			s.failing = append(s.failing, spec)
		case i%16 == 3:
			// exec: the sleep is the trial's main process, which dies with
			// its slave even when the slave is killed with SIGKILL.
			body = "exec sleep 1.5\n"
			s.slow[spec] = true
		}
		require.NoError(t, os.WriteFile(filepath.Join(s.dir, spec), []byte(body), 0o644))
		s.specs = append(s.specs, spec)
	}
	sort.Strings(s.failing)
	return s
}

// runningSlow waits for a trial of a slow spec that has run for a moment
// on a slave of one of workers, and returns its task and trial.
func (f *fleet) runningSlow(t *testing.T, key string, s faultSuite, workers ...int) (model.Task, model.Trial) {
	t.Helper()
	return f.running(t, key, s.slow, workers...)
}

// running waits for a trial that has run for a moment on a slave of one of
// workers, of a spec in only when it is not nil.
func (f *fleet) running(t *testing.T, key string, only map[string]bool, workers ...int) (model.Task, model.Trial) {
	t.Helper()
	var task model.Task
	var trial model.Trial
	require.Eventually(t, func() bool {
		snap := f.snapshot(t, key)
		for _, k := range snap.Tasks {
			if (only != nil && !only[k.SpecFile]) || k.Status != "" {
				continue
			}
			for _, tr := range k.Trials {
				for _, w := range workers {
					if tr.Status == "" && strings.HasPrefix(tr.Slave, f.workerKey(w)+":") &&
						time.Since(tr.StartedAt.Time) > 200*time.Millisecond {
						task, trial = k, tr
						return true
					}
				}
			}
		}
		return false
	}, 60*time.Second, 20*time.Millisecond, "a spec runs on worker(s) %v", workers)
	return task, trial
}

// firstElsewhere is the first trial of spec that started after since on a
// slave whose key does not start with notPrefix.
func firstElsewhere(snap *model.Snapshot, spec, notPrefix string, since time.Time) (model.Trial, bool) {
	var first model.Trial
	found := false
	for _, k := range snap.Tasks {
		if k.SpecFile != spec {
			continue
		}
		for _, tr := range k.Trials {
			if strings.HasPrefix(tr.Slave, notPrefix) || !tr.StartedAt.After(since) {
				continue
			}
			if !found || tr.StartedAt.Before(first.StartedAt.Time) {
				first, found = tr, true
			}
		}
	}
	return first, found
}

func taskOf(snap *model.Snapshot, spec string) model.Task {
	for _, k := range snap.Tasks {
		if k.SpecFile == spec {
			return k
		}
	}
	return model.Task{}
}

// faultWant is what a fault case ends with.
type faultWant struct {
	status string // of the taskset
	exit   int    // of `rrr start --wait`
}

var (
	wantClean     = faultWant{schema.StatusFailed, 1} // the suite's failing specs fail
	wantCancelled = faultWant{schema.StatusCancelled, 3}
)

// checkFault checks everything a fault case must leave behind, and stops
// the fleet.
func (f *fleet) checkFault(t *testing.T, run *proc, key string, s faultSuite, want faultWant) *model.Snapshot {
	t.Helper()
	ctx := context.Background()
	require.Equal(t, want.exit, run.exit(t, 120*time.Second), "rrr start --wait:\n%s", run.stderr)

	// The workers stop their slaves, and so their trials, when the
	// taskset ends; a dead worker's slaves and trials died with it.
	f.leftovers(t, f.owned(), "after the taskset ended")
	// The persister stores the taskset once none of its trials runs.
	id, _ := f.c.Keys.TasksetID(key)
	var stored *model.Snapshot
	var err error
	require.Eventually(t, func() bool {
		stored, err = store.Read(f.results, id)
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "the persister stores the taskset")

	snap := f.snapshot(t, key)
	require.Equal(t, want.status, snap.Status, snap.StatusReason)
	if want.status != schema.StatusCancelled {
		require.Empty(t, snap.StatusReason, "a taskset that finished by itself has no reason")
	}
	require.Equal(t, len(s.specs), snap.TaskCount)
	left, err := f.rdb.LRange(ctx, schema.TasksLeft(key), 0, -1).Result()
	require.NoError(t, err)
	isLeft := map[string]bool{}
	for _, k := range left {
		isLeft[k] = true
	}
	require.Len(t, isLeft, len(left), "tasks_left holds a task twice")

	var specs, failed []string
	crashFailed := map[string]bool{} // failed because the harness killed their slaves twice
	succeeded := 0
	for _, k := range snap.Tasks {
		specs = append(specs, k.SpecFile)
		if k.Status != schema.StatusPassed && k.Status != schema.StatusPending && k.Status != schema.StatusFailed {
			require.Empty(t, k.Status, k.SpecFile)
			require.True(t, isLeft[k.Key], "%s has no verdict and is not left", k.SpecFile)
			continue
		}
		require.False(t, isLeft[k.Key], "%s has its verdict %s and is still left", k.SpecFile, k.Status)
		passes, failures, crashes := 0, 0, 0
		for _, tr := range k.Trials {
			if tr.Crashed != "" {
				crashes++
			}
			// No trial is left running: its slave ended it, or the arbiter
			// found it lost.
			require.NotEmpty(t, tr.Status, "trial %s of %s is still running after the end", tr.Key, k.SpecFile)
			switch tr.Status {
			case schema.StatusPassed, schema.StatusPending:
				passes++
			default:
				failures++
			}
		}
		switch k.Status {
		case schema.StatusFailed:
			failed = append(failed, k.SpecFile)
			require.Zero(t, passes, "%s failed with a passed trial", k.SpecFile)
			if crashes >= schema.CrashLimit {
				// A spec whose slave died under it twice fails at once
				// (lib.lua settle): here the harness killed them.
				crashFailed[k.SpecFile] = true
				require.Contains(t, k.Error, "killed their slave or runner", k.SpecFile)
				break
			}
			require.GreaterOrEqual(t, failures, snap.MaxTrials, "%s failed before --max-trials", k.SpecFile)
		default:
			succeeded++
			require.Positive(t, passes, "%s %s without a passed trial", k.SpecFile, k.Status)
		}
	}
	sort.Strings(specs)
	require.Equal(t, s.specs, specs, "every spec file exactly once")
	require.Equal(t, succeeded, snap.SucceededCount, "succeeded_count")
	require.Equal(t, len(failed), snap.FailedCount, "failed_count")
	sort.Strings(failed)
	var wantFailed []string
	for _, spec := range s.failing {
		if !crashFailed[spec] {
			wantFailed = append(wantFailed, spec)
		}
	}
	var gotFailed []string
	for _, spec := range failed {
		if !crashFailed[spec] {
			gotFailed = append(gotFailed, spec)
		}
	}
	if want.status == schema.StatusCancelled {
		require.Equal(t, len(s.specs), snap.SucceededCount+snap.FailedCount+len(left), "counters + tasks left")
		for _, spec := range failed {
			require.Contains(t, s.failing, spec, "a spec that passes on a clean run failed")
		}
	} else {
		require.Empty(t, left, "tasks left after the end")
		require.Equal(t, wantFailed, gotFailed, "the failed specs of a clean run (but those whose slaves the harness killed twice)")
	}
	active, err := f.rdb.LRange(ctx, f.c.Keys.ActiveTaskset(), 0, -1).Result()
	require.NoError(t, err)
	require.Empty(t, active, "active_taskset")

	// The persister stores what Redis holds.
	require.Equal(t, snap.Status, stored.Status)
	require.Equal(t, snap.SucceededCount, stored.SucceededCount)
	require.Equal(t, snap.FailedCount, stored.FailedCount)
	statuses := func(s *model.Snapshot) map[string]string {
		m := map[string]string{}
		for _, k := range s.Tasks {
			m[k.SpecFile] = k.Status
		}
		return m
	}
	require.Equal(t, statuses(snap), statuses(stored))
	for _, k := range stored.Tasks {
		for _, tr := range k.Trials {
			require.NotEmpty(t, tr.Status, "stored trial %s of %s is running", tr.Key, k.SpecFile)
		}
	}

	// The fleet stops cleanly on SIGTERM, and leaves nothing behind.
	for _, p := range append(f.parts(), f.workers...) {
		if p.exited() {
			continue
		}
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		require.Equal(t, 0, p.exit(t, 30*time.Second), "rrr %s on SIGTERM", p.args)
	}
	f.leftovers(t, nil, "after the fleet stopped")
	return snap
}

// faultFunc injects a fault in the middle of taskset key, and may return
// more checks of the snapshot the taskset ended with.
type faultFunc func(t *testing.T, f *fleet, s faultSuite, key string) faultCheck

type faultCheck func(t *testing.T, snap *model.Snapshot)

func TestFault(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection end to end: not with -short")
	}
	scale := faultScaleFromEnv(t)
	cases := []struct {
		name  string
		want  faultWant
		fault faultFunc
	}{
		{"clean run", wantClean, func(*testing.T, *fleet, faultSuite, string) faultCheck { return nil }},
		{"slave killed", wantClean, faultKillSlave},
		{"worker killed", wantClean, faultKillWorker},
		{"worker killed in the tail", wantClean, faultKillWorkerInTail},
		{"worker stalled for 2s", wantClean, faultStallWorker},
		{"server killed and restarted", wantClean, faultRestartServer},
		{"server killed while persisting", wantClean, faultKillServerPersisting},
		{"redis-server restarted", wantClean, faultRestartRedis},
		{"cancelled from another terminal", wantCancelled, faultCancel},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for round := range scale.rounds {
				if scale.rounds > 1 {
					t.Logf("round %d of %d", round+1, scale.rounds)
				}
				s := newFaultSuite(t, scale.specs)
				f := newFleet(t, fleetOptions{workers: scale.workers, slaves: scale.slaves, appendOnly: true,
					// The default heartbeats and watch: recovery is measured as a user gets it.
					serverArgs: []string{"--interval", "500ms"},
					workerArgs: []string{"--stop-grace", "3s"}})
				run, key := f.start(t, "--wait", "--dir", s.dir, "--trial-command", "sh {file}", "--format", "exit-code",
					"--rsync-name", "fault", "--max-trials", "3", "specs/*.sh")
				started := time.Now()
				after := tc.fault(t, f, s, key)
				snap := f.checkFault(t, run, key, s, tc.want)
				if after != nil {
					after(t, snap)
				}
				t.Logf("FAULT %s: %d specs on %dx%d slaves, checked in %s", tc.name, scale.specs, scale.workers,
					scale.slaves, time.Since(started).Round(time.Millisecond))
			}
		})
	}
}

// faultKillSlave kills one slave (SIGKILL, the slave process alone) while
// it runs a slow spec: the worker kills the trial's group, records the
// trial as error, starts another slave, and the spec runs again.
func faultKillSlave(t *testing.T, f *fleet, s faultSuite, key string) faultCheck {
	f.waitDone(t, key, 0.15)
	task, trial := f.runningSlow(t, key, s, 0, 1)
	var pid int
	for _, sl := range f.snapshot(t, key).Slaves {
		if sl.Key == trial.Slave {
			pid = sl.Pid
		}
	}
	require.Positive(t, pid, "the pid of slave %s", trial.Slave)
	killedAt := time.Now()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	return func(t *testing.T, snap *model.Snapshot) {
		got := taskOf(snap, task.SpecFile)
		var dead model.Trial
		for _, tr := range got.Trials {
			if tr.Key == trial.Key {
				dead = tr
			}
		}
		require.Equal(t, schema.StatusError, dead.Status)
		require.Contains(t, dead.Error, "killed by signal SIGKILL")
		require.Equal(t, schema.StatusPassed, got.Status)
		if again, ok := firstElsewhere(snap, task.SpecFile, trial.Slave, killedAt); ok {
			t.Logf("FAULT slave killed: its trial recorded as error %s after the kill, the spec ran again %s after it",
				dead.FinishedAt.Sub(killedAt).Round(time.Millisecond), again.StartedAt.Sub(killedAt).Round(time.Millisecond))
		}
	}
}

// faultKillWorker kills a worker's whole process group (SIGKILL) while it
// runs a slow spec. Its slaves and trials die with it; once their
// heartbeats expire (4 s by default) the arbiter records the trials as error and
// the other worker runs the specs again. The recovery time is from the
// kill to the first trial of the dead worker's specs started elsewhere.
func faultKillWorker(t *testing.T, f *fleet, s faultSuite, key string) faultCheck {
	f.waitDone(t, key, 0.15)
	f.runningSlow(t, key, s, 0)
	return killWorker(t, f, key, true)
}

// faultKillWorkerInTail kills a worker when most tasks are done: the
// speculative copies on the live worker may settle the dead worker's
// tasks before its trials are found lost, and those trials must still end.
func faultKillWorkerInTail(t *testing.T, f *fleet, s faultSuite, key string) faultCheck {
	f.waitDone(t, key, 0.85)
	f.running(t, key, nil, 0)
	return killWorker(t, f, key, false)
}

// killWorker kills worker 0 with its process group and checks that the
// trials it was running end as lost; measure: that they ran again
// elsewhere, and how soon.
func killWorker(t *testing.T, f *fleet, key string, measure bool) faultCheck {
	victim := f.workerKey(0) + ":"
	var lost []model.Trial
	specOf := map[string]string{}
	below := f.descendants(f.workers[0].pid())
	require.NotEmpty(t, below, "the worker's slaves and trials")
	killedAt := time.Now()
	f.workers[0].killGroup(t)
	// Its slaves and their trials are in process groups of their own; they
	// die with the worker all the same.
	require.Eventually(t, func() bool {
		for pid := range below {
			if proctest.Alive(pid) {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond, "the killed worker's slaves and trials die with it: %v", below)
	for _, k := range f.snapshot(t, key).Tasks {
		for _, tr := range k.Trials {
			if tr.Status == "" && strings.HasPrefix(tr.Slave, victim) {
				lost = append(lost, tr)
				specOf[tr.Key] = k.SpecFile
			}
		}
	}
	require.NotEmpty(t, lost, "the killed worker was running trials")
	return func(t *testing.T, snap *model.Snapshot) {
		var detected, recovered []time.Duration
		for _, tr := range lost {
			spec := specOf[tr.Key]
			for _, got := range taskOf(snap, spec).Trials {
				if got.Key == tr.Key && got.Status == schema.StatusError {
					require.Contains(t, got.Error, "heartbeat expired")
					detected = append(detected, got.FinishedAt.Sub(killedAt))
				}
			}
			if again, ok := firstElsewhere(snap, spec, victim, killedAt); ok {
				recovered = append(recovered, again.StartedAt.Sub(killedAt))
			}
		}
		if !measure {
			t.Logf("FAULT worker killed in the tail: %d trial(s) lost; recorded as error after %s", len(lost), durations(detected))
			return
		}
		require.NotEmpty(t, recovered, "the dead worker's specs ran elsewhere")
		t.Logf("FAULT worker killed: %d trial(s) lost; recorded as error after %s; running elsewhere after %s (first) to %s (last); default heartbeat (TTL 4s) and watch (0.5s)",
			len(lost), durations(detected), slices.Min(recovered).Round(time.Millisecond), slices.Max(recovered).Round(time.Millisecond))
	}
}

// faultStallWorker stops a worker, its slaves and their trials
// (SIGSTOP) for 2 s, as a swapping or frozen box would, and lets them go
// on: with the default heartbeat (a 4 s TTL refreshed every second) that is
// no death, so no trial of theirs may be recovered as lost and none may
// run twice because of it.
func faultStallWorker(t *testing.T, f *fleet, s faultSuite, key string) faultCheck {
	f.waitDone(t, key, 0.15)
	f.runningSlow(t, key, s, 0)
	victim := f.workerKey(0) + ":"
	pids := []int{f.workers[0].pid()}
	for pid := range f.descendants(f.workers[0].pid()) {
		pids = append(pids, pid)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
	stoppedAt := time.Now()
	time.Sleep(2 * time.Second)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	t.Logf("FAULT worker stalled: %d processes stopped for %s", len(pids), time.Since(stoppedAt).Round(time.Millisecond))
	return func(t *testing.T, snap *model.Snapshot) {
		for _, k := range snap.Tasks {
			for _, tr := range k.Trials {
				if strings.HasPrefix(tr.Slave, victim) {
					require.NotContains(t, tr.Error, "heartbeat expired", "a stalled slave is not a dead one: %s", tr.Key)
				}
			}
		}
	}
}

// faultRestartServer kills `rrr server` (SIGKILL to its group) while trial
// results stream in, lets the slaves settle ten more tasks without it, and
// starts it again with the same consumer id: it handles what it held first.
func faultRestartServer(t *testing.T, f *fleet, s faultSuite, key string) faultCheck {
	f.waitDone(t, key, 0.2)
	f.server.killGroup(t)
	killedAt := time.Now()
	// Slaves settle their own trials (finish_trial): the taskset goes on
	// without the arbiter; what only the arbiter does (checks, the end of a
	// taskset whose last verdict came from elsewhere, persisting) waits for
	// its restart.
	before := f.done(key)
	require.Eventually(t, func() bool { return f.done(key) >= before+10 }, 30*time.Second, 10*time.Millisecond,
		"tasks get their verdicts with the server down")
	f.startServer(t)
	t.Logf("FAULT server killed: down for %s", time.Since(killedAt).Round(time.Millisecond))
	return nil
}

// faultKillServerPersisting kills `rrr server` as the taskset ends, while
// its persister holds the finished taskset (it waits for the trials still
// running to end), and starts it again with the same consumer id: the
// persister handles what it held first, and the taskset is stored.
func faultKillServerPersisting(t *testing.T, f *fleet, s faultSuite, key string) faultCheck {
	ctx := context.Background()
	processing := schema.Processing(f.c.Keys.PersisterQueue(), "fleet-server")
	held := false
	require.Eventually(t, func() bool {
		v, err := f.rdb.HMGet(ctx, key, schema.FStatus, schema.FPersistedAt).Result()
		if err != nil {
			return false
		}
		if status, _ := v[0].(string); !schema.IsFinal(status) {
			return false
		}
		n, _ := f.rdb.LLen(ctx, processing).Result()
		held = n > 0
		return held || v[1] != nil
	}, 2*time.Minute, time.Millisecond, "the taskset ends")
	f.server.killGroup(t)
	f.startServer(t)
	t.Logf("FAULT server killed as the taskset ended, its persister holding it: %v", held)
	return nil
}

// faultRestartRedis kills redis-server (SIGKILL) and starts it again on its
// append-only file once the fleet has noticed; every process reconnects.
func faultRestartRedis(t *testing.T, f *fleet, s faultSuite, key string) faultCheck {
	f.waitDone(t, key, 0.2)
	f.redis.Kill()
	killedAt := time.Now()
	require.Eventually(t, func() bool { return strings.Contains(f.server.stderr.String(), "retrying with backoff") },
		30*time.Second, 10*time.Millisecond, "the server notices that Redis is gone")
	require.NoError(t, f.redis.Restart())
	t.Logf("FAULT redis-server killed: down for %s", time.Since(killedAt).Round(time.Millisecond))
	return nil
}

// faultCancel cancels the taskset with `rrr cancel`, as a person would
// from another terminal; the waiting `rrr start --wait` exits 3.
func faultCancel(t *testing.T, f *fleet, s faultSuite, key string) faultCheck {
	f.waitDone(t, key, 0.2)
	p := spawnEnv(t, f.env, f.bin, append(append([]string{}, f.global...), "cancel", key)...)
	require.Equal(t, 0, p.exit(t, 30*time.Second), p.stderr.String())
	return nil
}

func durations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.Round(time.Millisecond).String())
	}
	return strings.Join(parts, ", ")
}
