package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/proc/proctest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
	"github.com/rrr-dev/rrr/worker"
)

var workerSeq atomic.Int64

type runningWorker struct {
	w      *worker.Worker
	key    string
	cancel context.CancelFunc
	done   chan error
}

// startWorker runs a worker whose slaves are this test binary, with short
// timings, and waits until it is registered.
func (e *env) startWorker(t *testing.T, mod func(*worker.Config)) *runningWorker {
	t.Helper()
	slaveLog, err := os.Create(e.path("slaves.log"))
	require.NoError(t, err)
	workerLog, err := os.Create(e.path("worker.log"))
	require.NoError(t, err)
	cfg := worker.Config{
		ID: fmt.Sprintf("w%d", workerSeq.Add(1)), Slaves: 2, Host: "box1",
		WorkingDir: e.path("work"), RsyncRemotePath: e.remote,
		HeartbeatTTL: 3 * time.Second, HeartbeatInterval: 300 * time.Millisecond, StopGrace: 3 * time.Second,
		RedisURL: e.b.URL, Namespace: e.b.NS,
		SlaveCommand: []string{os.Args[0]}, SlaveEnv: []string{envAsSlave + "=1"}, SlaveOutput: slaveLog,
		Trial: worker.TrialConfig{KillGrace: time.Second, UnknownHardExtra: time.Second, Grace: time.Second,
			WaitDelay: 500 * time.Millisecond, IdleWait: 200 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	w, err := worker.New(cfg, worker.Deps{Client: e.c, Logger: zerolog.New(workerLog)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(bg)
	rw := &runningWorker{w: w, key: w.Key(), cancel: cancel, done: make(chan error, 1)}
	go func() { rw.done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rw.done:
		case <-time.After(wait):
			t.Error("the worker did not stop")
		}
		if t.Failed() {
			for _, f := range []string{"worker.log", "slaves.log"} {
				b, _ := os.ReadFile(e.path(f))
				t.Logf("%s:\n%s", f, b)
			}
		}
		_ = slaveLog.Close()
		_ = workerLog.Close()
	})
	require.Eventually(t, func() bool {
		ok, err := e.c.Alive(bg, rw.key)
		return err == nil && ok
	}, wait, 10*time.Millisecond, "the worker did not register")
	return rw
}

func (e *env) dispatch(t *testing.T, ts string, w *runningWorker) {
	t.Helper()
	e.dispatchKey(t, ts, w.key)
}

func (e *env) dispatchKey(t *testing.T, ts, worker string) {
	t.Helper()
	out, err := e.c.Dispatch(bg, ts, worker)
	require.NoError(t, err)
	require.Equal(t, schema.DispatchOK, out)
}

// waitReleased waits until the worker holds no taskset and has stamped
// the end of its worker log of ts.
func (e *env) waitReleased(t *testing.T, w *runningWorker, ts string) {
	t.Helper()
	require.Eventually(t, func() bool {
		return e.hget(t, w.key, schema.FTaskset) == "" &&
			e.hget(t, schema.WorkerLog(ts, w.key), schema.FFinishedAt) != ""
	}, wait, 20*time.Millisecond, "the worker did not leave %s", ts)
}

func TestWorkerRunsTasksets(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		report := `echo "$RRR_SPEC_FILE slave=$SLAVE_NUMBER/$NUM_SLAVES setup=$(cat setup.txt) redis=${RRR_REDIS:-unset} ts=$RRR_TASKSET"`
		e.write(t, map[string]string{
			"spec/a.sh":    report,
			"spec/b c.sh":  report,
			"spec/fail.sh": report + "\necho boom >&2; exit 1",
		})
		w := e.startWorker(t, nil)
		ts := e.create(t, schema.TasksetSpec{
			SetupCommand: `echo "setting up for $NUM_SLAVES slaves"; echo ready > setup.txt`,
			TrialCommand: "sh {file}", ResultFormat: schema.FormatExitCode, MaxTrials: 2,
			Specs: []string{"spec/a.sh", "spec/b c.sh", "spec/fail.sh"},
		})
		e.dispatch(t, ts, w)
		require.Equal(t, schema.StatusFailed, e.waitStatus(t, ts))
		e.waitReleased(t, w, ts)

		s := e.load(t, ts)
		for _, spec := range []string{"spec/a.sh", "spec/b c.sh"} {
			k := task(t, s, spec)
			require.Equal(t, schema.StatusPassed, k.Status, spec)
			require.Len(t, k.Trials, 1)
			tr := k.Trials[0]
			require.Equal(t, schema.StatusPassed, tr.Status)
			require.Regexp(t, `^`+spec+` slave=[12]/2 setup=ready redis=unset ts=`+ts+"\n$", tr.Stdout)
			require.NotNil(t, tr.ExitCode)
			require.Equal(t, 0, *tr.ExitCode)
			require.Equal(t, schema.FormatExitCode, tr.Format)
			host, dir, ok := strings.Cut(tr.OutputPath, ":")
			require.True(t, ok)
			require.Equal(t, "box1", host)
			full, err := os.ReadFile(filepath.Join(dir, "stdout"))
			require.NoError(t, err)
			require.Equal(t, tr.Stdout, string(full))
		}
		k := task(t, s, "spec/fail.sh")
		require.Equal(t, schema.StatusFailed, k.Status)
		require.Len(t, k.Trials, 2, "retried up to max_trials")
		require.NotEqual(t, k.Trials[0].Slave, k.Trials[1].Slave, "a slave never takes a task twice")
		for _, tr := range k.Trials {
			require.Equal(t, schema.StatusFailed, tr.Status)
			require.Equal(t, "boom\n", tr.Stderr)
			require.Equal(t, 1, *tr.ExitCode)
		}

		require.Len(t, s.WorkerLogs, 1)
		wl := s.WorkerLogs[0]
		require.False(t, wl.RsyncFinishedAt.IsZero())
		require.False(t, wl.SetupFinishedAt.IsZero())
		require.False(t, wl.FinishedAt.IsZero())
		require.Contains(t, wl.Log, "setting up for 2 slaves")
		require.Contains(t, wl.Log, "started 2 slaves")
		require.Len(t, s.Slaves, 2)
		require.Eventually(t, func() bool {
			for _, sl := range e.load(t, ts).Slaves {
				if sl.Status != schema.SlaveNormalExit || sl.Alive {
					return false
				}
			}
			return true
		}, wait, 20*time.Millisecond, "slaves did not exit normally")

		// Back to waiting: the next taskset runs too.
		ts2 := e.create(t, schema.TasksetSpec{TrialCommand: "sh", ResultFormat: schema.FormatExitCode,
			Specs: []string{"spec/a.sh"}})
		e.dispatch(t, ts2, w)
		require.Equal(t, schema.StatusSucceeded, e.waitStatus(t, ts2))
		e.waitReleased(t, w, ts2)
	})
}

func TestWorkerSetupFailureFailsTheTaskset(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"spec/a.sh": "true"})
		w := e.startWorker(t, nil)
		ts := e.create(t, schema.TasksetSpec{
			SetupCommand: "echo compiling; echo 'error: missing dependency' >&2; exit 7",
			TrialCommand: "sh {file}", Specs: []string{"spec/a.sh"},
		})
		e.dispatch(t, ts, w)
		require.Equal(t, schema.StatusFailed, e.waitStatus(t, ts))
		e.waitReleased(t, w, ts)
		reason := e.hget(t, ts, schema.FStatusReason)
		require.Contains(t, reason, "setup command failed on worker "+strings.TrimPrefix(w.key, e.c.Keys.Worker("")))
		require.Contains(t, reason, "exit code 7")
		require.Contains(t, reason, "compiling\nerror: missing dependency")
		require.Eventually(t, func() bool { return e.arb.Count(schema.CmdFail, ts) == 1 }, wait, 10*time.Millisecond)
		require.Empty(t, e.list(t, schema.TasksetSlaves(ts)), "no slave starts after a failed setup")
		log := e.load(t, ts).WorkerLogs[0]
		require.Contains(t, log.Log, "compiling\nerror: missing dependency\n")
		require.True(t, log.SetupFinishedAt.IsZero())
	})
}

func TestWorkerSetupTimeLimit(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"spec/a.sh": "true"})
		w := e.startWorker(t, func(c *worker.Config) {
			c.SetupTimeout = 300 * time.Millisecond
			c.StopGrace = 300 * time.Millisecond
		})
		ts := e.create(t, schema.TasksetSpec{SetupCommand: "echo waiting; sleep 300",
			TrialCommand: "sh {file}", Specs: []string{"spec/a.sh"}})
		e.dispatch(t, ts, w)
		require.Equal(t, schema.StatusFailed, e.waitStatus(t, ts))
		require.Contains(t, e.hget(t, ts, schema.FStatusReason), "soft timeout after 300ms")
		e.waitReleased(t, w, ts)
	})
}

func TestWorkerRsyncFailureLeavesTheTaskset(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		w := e.startWorker(t, nil)
		ts := e.create(t, schema.TasksetSpec{RsyncName: "nobody", TrialCommand: "sh {file}", Specs: []string{"spec/a.sh"}})
		e.dispatch(t, ts, w)
		e.waitReleased(t, w, ts)
		require.Equal(t, schema.StatusRunning, e.hget(t, ts, schema.FStatus), "other workers may still fetch it")
		log := e.load(t, ts).WorkerLogs[0]
		require.Contains(t, log.Log, "fetching the code failed, this worker leaves the taskset")
		require.Contains(t, log.Log, "No such file or directory")
		require.True(t, log.RsyncFinishedAt.IsZero())
		require.Empty(t, e.list(t, schema.TasksetSlaves(ts)))
	})
}

func TestWorkerRefusesABadRsyncName(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		w := e.startWorker(t, nil)
		// The client refuses such a name (schema.CheckName); a taskset
		// written by hand or by another client meets the same rule here.
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"a.sh"}})
		require.NoError(t, b.RDB.HSet(bg, ts, schema.FRsyncName, "../etc").Err())
		e.dispatch(t, ts, w)
		require.Equal(t, schema.StatusFailed, e.waitStatus(t, ts))
		require.Contains(t, e.hget(t, ts, schema.FStatusReason), `rsync_name "../etc"`)
		require.NoDirExists(t, e.path("etc"))
	})
}

// Working copies and the worker's own files never share a folder: an rsync
// name of "logs" once made the working copy <working dir>/logs, and its
// fetch (rsync --delete) wiped every taskset's saved outputs.
func TestWorkerCopiesNeverShareTheWorkersFolders(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"a.sh": "echo first"})
		for _, name := range []string{"logs", "copies"} {
			p := filepath.Join(e.remote, name, "a.sh")
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte("echo "+name), 0o644))
		}
		w := e.startWorker(t, nil)
		first := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", ResultFormat: schema.FormatExitCode, Specs: []string{"a.sh"}})
		e.dispatch(t, first, w)
		require.Equal(t, schema.StatusSucceeded, e.waitStatus(t, first))
		e.waitReleased(t, w, first)
		_, out, ok := strings.Cut(task(t, e.load(t, first), "a.sh").Trials[0].OutputPath, ":")
		require.True(t, ok)
		require.FileExists(t, filepath.Join(out, "stdout"))

		for _, name := range []string{"logs", "copies"} {
			ts := e.create(t, schema.TasksetSpec{RsyncName: name, TrialCommand: "sh {file}", ResultFormat: schema.FormatExitCode, Specs: []string{"a.sh"}})
			e.dispatch(t, ts, w)
			require.Equal(t, schema.StatusSucceeded, e.waitStatus(t, ts))
			e.waitReleased(t, w, ts)
			require.Equal(t, name+"\n", task(t, e.load(t, ts), "a.sh").Trials[0].Stdout)
			require.FileExists(t, filepath.Join(out, "stdout"), "the outputs of %s survive the fetch of rsync name %q", first, name)
			require.FileExists(t, e.path("work/copies/"+name+"/a.sh"))
		}
	})
}

func TestWorkerRunsInPlace(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"t.sh": `pwd`})
		w := e.startWorker(t, func(c *worker.Config) { c.InPlaceDir = e.project; c.RsyncRemotePath = "" })
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"t.sh"}})
		e.dispatch(t, ts, w)
		require.Equal(t, schema.StatusSucceeded, e.waitStatus(t, ts))
		tr := task(t, e.load(t, ts), "t.sh").Trials[0]
		require.Equal(t, e.project+"\n", tr.Stdout)
		require.NoDirExists(t, e.path("work/alice"))
		require.NoDirExists(t, e.path("work/copies/alice"))
	})
}

func TestWorkerRespawnsASlaveKilledMidTrial(t *testing.T) {
	for _, runner := range []bool{false, true} {
		t.Run(map[bool]string{false: "trial command", true: "runner"}[runner], func(t *testing.T) {
			testWorkerRespawnsASlaveKilledMidTrial(t, runner)
		})
	}
}

// With a runner (the fake of runner_test.go, which leaves a helper
// process in its group), the runner's group dies with the slave too.
func testWorkerRespawnsASlaveKilledMidTrial(t *testing.T, runner bool) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := runnerEnv(t, b)
		// First run: a trial with a child of its own that hangs. Later
		// runs pass.
		e.write(t, map[string]string{"spec/slow.sh": fmt.Sprintf(`
if [ ! -e %[1]s ]; then
  touch %[1]s
  echo $$ > %[2]s.tmp && mv %[2]s.tmp %[2]s
  sleep 300 & echo $! > %[3]s.tmp && mv %[3]s.tmp %[3]s
  wait
fi
echo second run`, e.path("ran"), e.path("leader"), e.path("child"))})
		w := e.startWorker(t, func(c *worker.Config) { c.Slaves = 1 })
		spec := schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"spec/slow.sh"}}
		if runner {
			spec.TrialCommand, spec.Runner = "", e.fake("child")
		}
		ts := e.create(t, spec)
		e.dispatch(t, ts, w)
		leader, child := pidIn(t, e.path("leader")), pidIn(t, e.path("child"))
		var helper int
		if runner {
			helper = pidIn(t, e.path("runner-pids.child"))
		}

		tk := schema.Task(ts, "spec/slow.sh")
		first := e.list(t, schema.TaskTrials(tk))[0]
		slave := e.hget(t, first, schema.FSlave)
		var pid int
		_, err := fmt.Sscan(e.hget(t, slave, schema.FPid), &pid)
		require.NoError(t, err)
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))

		requireDies(t, leader, "the trial of the killed slave")
		requireDies(t, child, "the trial's child")
		if runner {
			requireDies(t, proctest.PidsIn(t, e.path("runner-pids"))[0], "the runner of the killed slave")
			requireDies(t, helper, "what the runner of the killed slave left in its group")
		}
		require.Equal(t, schema.StatusSucceeded, e.waitStatus(t, ts))
		s := e.load(t, ts)
		k := task(t, s, "spec/slow.sh")
		require.Len(t, k.Trials, 2)
		require.Equal(t, schema.StatusError, k.Trials[0].Status)
		require.Equal(t, fmt.Sprintf("slave %s died: killed by signal SIGKILL", slave), k.Trials[0].Error)
		require.Equal(t, schema.StatusPassed, k.Trials[1].Status)
		require.Equal(t, "second run\n", k.Trials[1].Stdout)
		require.NotEqual(t, slave, k.Trials[1].Slave, "the respawned slave has a new id")
		require.Equal(t, schema.SlaveFailureExit, e.hget(t, slave, schema.FStatus))
		require.Len(t, s.Slaves, 2)
		require.Contains(t, s.WorkerLogs[0].Log, "died: killed by signal SIGKILL; 1 running trial(s) marked error")
	})
}

func TestWorkerFailsTheTasksetWhenSlavesKeepCrashing(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		w := e.startWorker(t, func(c *worker.Config) { c.Slaves = 1; c.MaxSlaveCrashes = 2 })
		ts := e.create(t, schema.TasksetSpec{
			SlaveCommand: `echo "custom slave $SLAVE_NUMBER of $RRR_WORKER" >> ` + e.path("starts") + `; exit 3`,
			Specs:        []string{"a.sh"},
		})
		e.dispatch(t, ts, w)
		require.Equal(t, schema.StatusFailed, e.waitStatus(t, ts))
		reason := e.hget(t, ts, schema.FStatusReason)
		require.Contains(t, reason, "crashed 3 times (last: exit code 3)")
		require.Eventually(t, func() bool { return e.arb.Count(schema.CmdFail, ts) == 1 }, wait, 10*time.Millisecond)
		e.waitReleased(t, w, ts)
		starts, err := os.ReadFile(e.path("starts"))
		require.NoError(t, err)
		require.Equal(t, strings.Repeat("custom slave 1 of "+w.key+"\n", 3), string(starts))
	})
}

func TestWorkerStopsSlavesWhenTheTasksetIsCancelled(t *testing.T) {
	for _, runner := range []bool{false, true} {
		t.Run(map[bool]string{false: "trial command", true: "runner"}[runner], func(t *testing.T) {
			testWorkerStopsSlavesWhenTheTasksetIsCancelled(t, runner)
		})
	}
}

func testWorkerStopsSlavesWhenTheTasksetIsCancelled(t *testing.T, runner bool) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := runnerEnv(t, b)
		// The trial ignores SIGTERM: the slave kills it after its grace.
		e.write(t, map[string]string{"hang.sh": "trap '' TERM; echo $$ > " + e.path("hang") + "; sleep 300"})
		w := e.startWorker(t, func(c *worker.Config) { c.Slaves = 1 })
		spec := schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"hang.sh"}}
		if runner {
			spec.TrialCommand, spec.Runner = "", e.fake("ok")
		}
		ts := e.create(t, spec)
		e.dispatch(t, ts, w)
		pid := pidIn(t, e.path("hang"))
		ok, err := e.c.CancelTaskset(bg, ts, "stop it")
		require.NoError(t, err)
		require.True(t, ok)
		requireDies(t, pid, "the trial of a cancelled taskset")
		e.waitReleased(t, w, ts)
		tr := task(t, e.load(t, ts), "hang.sh").Trials[0]
		require.Equal(t, schema.StatusError, tr.Status)
		require.Contains(t, tr.Error, "stopped before the trial finished")
		require.Equal(t, "SIGKILL", tr.Signal)
		require.Eventually(t, func() bool {
			return e.load(t, ts).Slaves[0].Status == schema.SlaveNormalExit
		}, wait, 20*time.Millisecond)
		if runner {
			requireDies(t, proctest.PidsIn(t, e.path("runner-pids"))[0], "the runner of a cancelled taskset")
		}
	})
}

func TestWorkerShutdownHandsBackItsWork(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"hang.sh": "echo $$ > " + e.path("hang") + "; sleep 300"})
		w := e.startWorker(t, func(c *worker.Config) { c.Slaves = 1 })
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"hang.sh"}})
		e.dispatch(t, ts, w)
		pid := pidIn(t, e.path("hang"))
		w.cancel()
		select {
		case err := <-w.done:
			require.NoError(t, err)
			w.done <- nil // for the cleanup
		case <-time.After(wait):
			t.Fatal("the worker did not stop")
		}
		requireDies(t, pid, "the trial of a stopped worker")
		require.Equal(t, "", e.hget(t, w.key, schema.FTaskset))
		alive, err := e.c.Alive(bg, w.key)
		require.NoError(t, err)
		require.False(t, alive, "the heartbeat is removed at once")
		require.Equal(t, schema.StatusRunning, e.hget(t, ts, schema.FStatus))
		tr := task(t, e.load(t, ts), "hang.sh").Trials[0]
		require.Equal(t, schema.StatusError, tr.Status, "retried elsewhere")
		require.Contains(t, tr.Error, "stopped before the trial finished")
	})
}

func TestWorkerRemovedWhileBusyRegistersAsBusy(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"hang.sh": "echo $$ > " + e.path("hang") + "; sleep 300"})
		w := e.startWorker(t, func(c *worker.Config) { c.Slaves = 1 })
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"hang.sh"}})
		e.dispatch(t, ts, w)
		pidIn(t, e.path("hang"))
		// its heartbeat expired (a pause, a partition) and the dispatcher removed it
		require.NoError(t, e.b.RDB.Del(bg, schema.Heartbeat(w.key)).Err())
		removed, err := e.c.RemoveWorker(bg, w.key)
		require.NoError(t, err)
		require.True(t, removed)
		require.Eventually(t, func() bool { return e.hget(t, w.key, schema.FWorkerType) != "" },
			wait, 20*time.Millisecond, "the worker registers again")
		require.Equal(t, ts, e.hget(t, w.key, schema.FTaskset), "busy, not idle: no second taskset for it")
		other := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"hang.sh"}})
		out, err := e.c.Dispatch(bg, other, w.key)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchBusy, out)
	})
}

func TestWorkerLeavesTheTasksetOfAnEarlierLife(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"a.sh"}})
		key := e.c.Keys.Worker("phoenix")
		// An earlier process with this id held ts when it was killed.
		_, err := e.c.RegisterWorker(bg, key, time.Second, nil)
		require.NoError(t, err)
		e.dispatchKey(t, ts, key)
		_, err = e.c.StartWorkerLog(bg, ts, key)
		require.NoError(t, err)

		w := e.startWorker(t, func(c *worker.Config) { c.ID = "phoenix" })
		e.waitReleased(t, w, ts)
		require.Eventually(t, func() bool { return len(e.list(t, schema.WorkerQueue(key))) == 0 },
			wait, 20*time.Millisecond, "the stale queue entry is dropped")
		require.Equal(t, "", e.hget(t, key, schema.FTaskset))
		members, err := e.b.RDB.SMembers(bg, schema.Assigned(ts)).Result()
		require.NoError(t, err)
		require.Empty(t, members, "its place in the taskset is free again")
		require.Contains(t, e.load(t, ts).WorkerLogs[0].Log, "the worker restarted and left the taskset")
	})
}

func TestWorkerRegistersAgainAfterBeingRemoved(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		w := e.startWorker(t, nil)
		// As the dispatcher does once the heartbeat has expired (a
		// network partition, a stopped VM).
		require.NoError(t, e.b.RDB.Del(bg, schema.Heartbeat(w.key)).Err())
		removed, err := e.c.RemoveWorker(bg, w.key)
		require.NoError(t, err)
		require.True(t, removed)
		require.Eventually(t, func() bool {
			ok, err := e.b.RDB.SIsMember(bg, e.c.Keys.Workers(), w.key).Result()
			return err == nil && ok && e.hget(t, w.key, schema.FWorkerType) == schema.DefaultWorkerType
		}, wait, 20*time.Millisecond, "the worker did not register again")
		// and it gets work again
		e.write(t, map[string]string{"a.sh": "true"})
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"a.sh"}})
		e.dispatch(t, ts, w)
		require.Equal(t, schema.StatusSucceeded, e.waitStatus(t, ts))
	})
}

// A trial cannot read the Redis URL (it may hold a password) back from its
// slave: not from the slave's environment, nor from a descriptor it
// inherited; the slave still reached Redis.
func TestTrialCannotReadTheRedisURL(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"spec/a.sh": `
tr '\0' '\n' < /proc/$PPID/environ | grep -c '^RRR_REDIS=' || true
tr '\0' '\n' < /proc/$PPID/environ | grep -c '^RRR_REDIS_FD=' || true
[ -e /proc/self/fd/3 ] && echo fd3-open || echo fd3-closed
grep -c '` + strings.TrimPrefix(b.URL, "redis://") + `' /proc/$PPID/environ || true`})
		w := e.startWorker(t, func(c *worker.Config) {
			// as when the worker's own environment holds it (systemd)
			c.SlaveEnv = append(c.SlaveEnv, worker.EnvRedis+"="+b.URL)
		})
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", ResultFormat: schema.FormatExitCode,
			Specs: []string{"spec/a.sh"}})
		e.dispatch(t, ts, w)
		require.Equal(t, schema.StatusSucceeded, e.waitStatus(t, ts))
		tr := task(t, e.load(t, ts), "spec/a.sh").Trials[0]
		require.Equal(t, "0\n1\nfd3-closed\n0\n", tr.Stdout)
	})
}

// A taskset the worker cannot read is failed with the field as the reason,
// and the worker is free at once: leaving it would only have it
// dispatched to the same worker again, round after round.
func TestWorkerFailsATasksetItCannotRead(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"spec/a.sh": "true"})
		w := e.startWorker(t, nil)
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"spec/a.sh"}})
		require.NoError(t, b.RDB.HSet(bg, ts, schema.FLeastTimeoutSec, "soon").Err())
		e.dispatch(t, ts, w)
		require.Equal(t, schema.StatusFailed, e.waitStatus(t, ts))
		require.Contains(t, e.hget(t, ts, schema.FStatusReason), `least_timeout_sec = "soon"`)
		require.Eventually(t, func() bool { return e.hget(t, w.key, schema.FTaskset) == "" }, wait, 10*time.Millisecond)
		require.NotContains(t, e.list(t, e.c.Keys.ActiveTaskset()), ts)
	})
}
