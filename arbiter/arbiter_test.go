package arbiter_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/arbiter"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func TestMain(m *testing.M) {
	redis.SetLogger(loopx.RedisLogger(zerolog.Nop()))
	redistest.Main(m)
}

var ctx = context.Background()

type env struct {
	b    redistest.Backend
	c    *schema.Client
	k    schema.Keys
	rd   *redis.Client
	logs *looptest.Logs
}

func newEnv(b redistest.Backend) *env {
	c := schema.NewClient(b.RDB, b.NS)
	return &env{b: b, c: c, k: c.Keys, rd: b.RDB, logs: &looptest.Logs{}}
}

// arbiter returns an arbiter with short intervals; sweep 0 means the
// default (tests that call Handle and Check directly never run it).
func (e *env) arbiter(t *testing.T, id string, sweep time.Duration) *arbiter.Arbiter {
	t.Helper()
	a, err := arbiter.New(arbiter.Config{ConsumerID: id, SweepInterval: sweep,
		Queue:      loopx.ConsumerConfig{ConsumerTTL: 5 * time.Second, BeatInterval: 50 * time.Millisecond, RecoverInterval: 50 * time.Millisecond},
		BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond, LogInterval: time.Hour},
		arbiter.Deps{Client: e.c, Log: e.logs.Logger()})
	require.NoError(t, err)
	return a
}

func (e *env) create(t *testing.T, id string, maxTrials int, specs ...string) string {
	t.Helper()
	ts, err := e.c.CreateTaskset(ctx, id, schema.TasksetSpec{TrialCommand: "true {file}", MaxTrials: maxTrials, Specs: specs})
	require.NoError(t, err)
	return ts
}

func (e *env) slave(t *testing.T, ts, name string) string {
	t.Helper()
	w := e.k.Worker("box-" + name)
	s := schema.Slave(w, name)
	require.NoError(t, e.c.RegisterSlave(ctx, ts, s, time.Minute, map[string]string{schema.FWorker: w}))
	return s
}

func (e *env) kill(t *testing.T, slave string) {
	t.Helper()
	require.NoError(t, e.rd.Del(ctx, schema.Heartbeat(slave)).Err())
}

func (e *env) take(t *testing.T, ts, slave string) string {
	t.Helper()
	out, task, err := e.c.TakeTask(ctx, ts, slave)
	require.NoError(t, err)
	require.Equal(t, schema.TakeOK, out)
	return task
}

var trialSeq atomic.Int64

func (e *env) start(t *testing.T, ts, task, slave string) string {
	t.Helper()
	out, trial, _, err := e.c.StartTrial(ctx, ts, task, strconv.FormatInt(trialSeq.Add(1), 10), slave)
	require.NoError(t, err)
	require.Equal(t, schema.StartOK, out)
	return trial
}

func (e *env) finish(t *testing.T, trial, status string) {
	t.Helper()
	ok, err := e.c.FinishTrial(ctx, trial, schema.Result{Status: status})
	require.NoError(t, err)
	require.True(t, ok)
}

// run takes the next task for slave and runs one trial of it to status.
func (e *env) run(t *testing.T, ts, slave, status string) (string, string) {
	t.Helper()
	task := e.take(t, ts, slave)
	trial := e.start(t, ts, task, slave)
	e.finish(t, trial, status)
	return task, trial
}

func (e *env) hget(t *testing.T, key, field string) string {
	t.Helper()
	return redistest.HGet(t, e.rd, key, field)
}

func (e *env) list(t *testing.T, key string) []string {
	t.Helper()
	return redistest.List(t, e.rd, key)
}

func handle(t *testing.T, a *arbiter.Arbiter, verb, key string) {
	t.Helper()
	require.NoError(t, a.Handle(ctx, schema.Command{Verb: verb, Key: key}.String()))
}

// counts is the verdict of a taskset as its hash says.
type counts struct{ Status, Succeeded, Failed string }

func (e *env) counts(t *testing.T, ts string) counts {
	return counts{e.hget(t, ts, schema.FStatus), e.hget(t, ts, schema.FSucceededCount), e.hget(t, ts, schema.FFailedCount)}
}

func TestTrialCommandSettlesTheTask(t *testing.T) {
	for name, tc := range map[string]struct {
		maxTrials  int
		status     string
		task       string
		taskset    counts
		queued     bool
		persisting bool
	}{
		"passed":               {1, schema.StatusPassed, "passed", counts{"succeeded", "1", "0"}, false, true},
		"pending":              {1, schema.StatusPending, "pending", counts{"succeeded", "1", "0"}, false, true},
		"failed, last trial":   {1, schema.StatusFailed, "failed", counts{"failed", "0", "1"}, false, true},
		"failed, retries left": {3, schema.StatusFailed, "", counts{"running", "0", "0"}, true, false},
		"error, retries left":  {2, schema.StatusError, "", counts{"running", "0", "0"}, true, false},
		"timeout, last trial":  {1, schema.StatusTimeout, "failed", counts{"failed", "0", "1"}, false, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			redistest.Each(t, func(t *testing.T, b redistest.Backend) {
				e := newEnv(b)
				a := e.arbiter(t, "a1", 0)
				ts := e.create(t, "t", tc.maxTrials, "a_spec.rb")
				task, trial := e.run(t, ts, e.slave(t, ts, "1"), tc.status)
				handle(t, a, schema.CmdTrial, trial)
				require.Equal(t, tc.task, e.hget(t, task, schema.FStatus))
				require.Equal(t, tc.taskset, e.counts(t, ts))
				if tc.queued {
					require.Equal(t, []string{task}, e.list(t, schema.TaskQueue(ts)), "a failure with retries left is queued again")
				} else {
					require.Empty(t, e.list(t, schema.TaskQueue(ts)))
				}
				if tc.persisting {
					require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))
					require.Empty(t, e.list(t, e.k.ActiveTaskset()))
				}
				// handling the same command again changes nothing
				handle(t, a, schema.CmdTrial, trial)
				require.Equal(t, tc.taskset, e.counts(t, ts))
			})
		})
	}
}

func TestPassBeatsFailures(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 3, "flaky_spec.rb")
		s1, s2, s3 := e.slave(t, ts, "1"), e.slave(t, ts, "2"), e.slave(t, ts, "3")
		task, tr1 := e.run(t, ts, s1, schema.StatusFailed)
		handle(t, a, schema.CmdTrial, tr1)
		_, tr2 := e.run(t, ts, s2, schema.StatusTimeout)
		handle(t, a, schema.CmdTrial, tr2)
		require.Equal(t, "", e.hget(t, task, schema.FStatus), "two failures of three allowed: still open")
		_, tr3 := e.run(t, ts, s3, schema.StatusPassed)
		handle(t, a, schema.CmdTrial, tr3)
		require.Equal(t, "passed", e.hget(t, task, schema.FStatus))
		require.Equal(t, counts{"succeeded", "1", "0"}, e.counts(t, ts))
	})
}

func TestPassOfASpeculativeCopyBeatsTheLastFailure(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 1, "slow_spec.rb")
		s1, s2 := e.slave(t, ts, "1"), e.slave(t, ts, "2")
		task := e.take(t, ts, s1)
		tr1 := e.start(t, ts, task, s1)
		handle(t, a, schema.CmdCheck, ts) // queue empty, all running: duplicate the tail
		require.Equal(t, []string{task}, e.list(t, schema.TaskQueue(ts)))
		tr2 := e.start(t, ts, e.take(t, ts, s2), s2)

		e.finish(t, tr1, schema.StatusFailed)
		handle(t, a, schema.CmdTrial, tr1)
		require.Equal(t, "", e.hget(t, task, schema.FStatus), "a copy still runs: max_trials 1 does not fail it yet")
		e.finish(t, tr2, schema.StatusPassed)
		handle(t, a, schema.CmdTrial, tr2)
		require.Equal(t, "passed", e.hget(t, task, schema.FStatus))
		require.Equal(t, counts{"succeeded", "1", "0"}, e.counts(t, ts))
	})
}

func TestMaxTrialsBoundsRetries(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 3, "broken_spec.rb", "fine_spec.rb")
		var task string
		for i := range 3 {
			require.Equal(t, "", e.hget(t, schema.Task(ts, "broken_spec.rb"), schema.FStatus), "trial %d", i)
			var trial string
			task, trial = e.run(t, ts, e.slave(t, ts, strconv.Itoa(i)), schema.StatusFailed)
			require.Equal(t, schema.Task(ts, "broken_spec.rb"), task, "a failed task is retried first")
			handle(t, a, schema.CmdTrial, trial)
		}
		require.Equal(t, "failed", e.hget(t, task, schema.FStatus))
		require.Len(t, e.list(t, schema.TaskTrials(task)), 3)
		require.Equal(t, []string{schema.Task(ts, "fine_spec.rb")}, e.list(t, schema.TaskQueue(ts)), "no fourth trial is queued")
		require.Equal(t, counts{"running", "0", "1"}, e.counts(t, ts))
	})
}

func TestLateResultChangesNothing(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 2, "a_spec.rb")
		s1, s2 := e.slave(t, ts, "1"), e.slave(t, ts, "2")
		task := e.take(t, ts, s1)
		slow := e.start(t, ts, task, s1)
		// a speculative copy passes first
		_, err := e.c.RequeueTask(ctx, ts, task, 1)
		require.NoError(t, err)
		fast := e.start(t, ts, e.take(t, ts, s2), s2)
		e.finish(t, fast, schema.StatusPassed)
		handle(t, a, schema.CmdTrial, fast)
		require.Equal(t, "passed", e.hget(t, task, schema.FStatus))

		require.Equal(t, counts{"succeeded", "1", "0"}, e.counts(t, ts))

		e.finish(t, slow, schema.StatusFailed)
		handle(t, a, schema.CmdTrial, slow)
		require.Equal(t, "passed", e.hget(t, task, schema.FStatus))
		require.Equal(t, counts{"succeeded", "1", "0"}, e.counts(t, ts))
		require.Equal(t, "failed", e.hget(t, slow, schema.FStatus), "the late result is kept as history")
	})
}

func TestCheckRequeuesATaskItsSlaveLost(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 1, "a_spec.rb", "b_spec.rb")
		s1 := e.slave(t, ts, "1")
		lost := e.take(t, ts, s1) // the slave dies before starting a trial
		e.kill(t, s1)
		other := schema.Task(ts, "b_spec.rb")
		require.Equal(t, []string{other}, e.list(t, schema.TaskQueue(ts)))

		handle(t, a, schema.CmdCheck, ts)
		require.ElementsMatch(t, []string{lost, other}, e.list(t, schema.TaskQueue(ts)), "the lost task is queued again")
		handle(t, a, schema.CmdCheck, ts)
		require.Len(t, e.list(t, schema.TaskQueue(ts)), 2, "a queued task is not queued twice")
		require.Equal(t, 1, e.logs.Count("info", "taken and never started"))
	})
}

func TestCheckFinishesTrialsOfDeadSlavesAndRetriesThem(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 2, "a_spec.rb", "b_spec.rb")
		dead, live, spare := e.slave(t, ts, "dead"), e.slave(t, ts, "live"), e.slave(t, ts, "spare")
		deadTask := e.take(t, ts, dead)
		deadTrial := e.start(t, ts, deadTask, dead)
		liveTrial := e.start(t, ts, e.take(t, ts, live), live)
		e.kill(t, dead)

		handle(t, a, schema.CmdCheck, ts)
		require.Equal(t, schema.StatusError, e.hget(t, deadTrial, schema.FStatus))
		require.Equal(t, "slave "+dead+" lost: heartbeat expired", e.hget(t, deadTrial, schema.FError))
		require.Equal(t, "", e.hget(t, liveTrial, schema.FStatus), "a trial of a live slave runs on")
		require.Equal(t, []string{deadTask}, e.list(t, schema.TaskQueue(ts)), "the lost trial is retried")
		require.Contains(t, e.list(t, e.k.ArbiterQueue()), "trial\t"+deadTrial, "the arbiter is told, as for any trial")

		_, retry := e.run(t, ts, spare, schema.StatusPassed)
		handle(t, a, schema.CmdTrial, retry)
		require.Equal(t, "passed", e.hget(t, deadTask, schema.FStatus))
		require.Equal(t, counts{"running", "1", "0"}, e.counts(t, ts))
	})
}

func TestCheckFinishesATasksetWithNothingLeft(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 1, "a_spec.rb")
		task := schema.Task(ts, "a_spec.rb")
		// as an older writer might leave it: the verdict without the finish
		require.NoError(t, e.rd.HSet(ctx, task, schema.FStatus, "failed").Err())
		require.NoError(t, e.rd.HSet(ctx, ts, schema.FFailedCount, "1").Err())
		require.NoError(t, e.rd.Del(ctx, schema.TasksLeft(ts), schema.TaskQueue(ts)).Err())

		handle(t, a, schema.CmdCheck, ts)
		require.Equal(t, counts{"failed", "0", "1"}, e.counts(t, ts))
		require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))
		require.Empty(t, e.list(t, e.k.ActiveTaskset()))
		handle(t, a, schema.CmdCheck, ts)
		require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()), "a finished taskset is finished once")
	})
}

func TestCheckGivesVerdictsWhoseTrialCommandWasLost(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 1, "a_spec.rb", "b_spec.rb")
		s := e.slave(t, ts, "1")
		e.run(t, ts, s, schema.StatusPassed)
		e.run(t, ts, s, schema.StatusFailed)
		require.NoError(t, e.rd.Del(ctx, e.k.ArbiterQueue()).Err()) // both trial commands are lost
		handle(t, a, schema.CmdCheck, ts)
		require.Equal(t, counts{"failed", "1", "1"}, e.counts(t, ts))
	})
}

func TestCheckDuplicatesTheTailWhenEverythingRuns(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 3, "retried_spec.rb", "old_spec.rb", "young_spec.rb")
		s := []string{e.slave(t, ts, "1"), e.slave(t, ts, "2"), e.slave(t, ts, "3"), e.slave(t, ts, "4")}
		retried, tr := e.run(t, ts, s[0], schema.StatusFailed)
		handle(t, a, schema.CmdTrial, tr) // requeued at the head
		trials := map[string]string{}
		for i, want := range []string{retried, schema.Task(ts, "old_spec.rb"), schema.Task(ts, "young_spec.rb")} {
			task := e.take(t, ts, s[i+1])
			require.Equal(t, want, task)
			trials[task] = e.start(t, ts, task, s[i+1])
		}
		// old and young have one trial each; old has run longer
		require.NoError(t, e.rd.HSet(ctx, trials[schema.Task(ts, "old_spec.rb")], schema.FStartedAt, "2026-01-01T00:00:00.000000Z").Err())
		require.NoError(t, e.rd.HSet(ctx, trials[schema.Task(ts, "young_spec.rb")], schema.FStartedAt, "2026-01-01T00:00:05.000000Z").Err())

		handle(t, a, schema.CmdCheck, ts)
		require.Equal(t, []string{schema.Task(ts, "old_spec.rb")}, e.list(t, schema.TaskQueue(ts)),
			"the fewest trials, then the longest running")
		require.Equal(t, 1, e.logs.Count("info", "speculative execution"))
		handle(t, a, schema.CmdCheck, ts)
		require.Len(t, e.list(t, schema.TaskQueue(ts)), 1, "nothing more while the queue is not empty")
	})
}

func TestCheckReleasesATaskEveryLiveSlaveTried(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 3, "broken_spec.rb")
		s1, s2 := e.slave(t, ts, "1"), e.slave(t, ts, "2")
		for _, s := range []string{s1, s2} {
			_, trial := e.run(t, ts, s, schema.StatusFailed)
			handle(t, a, schema.CmdTrial, trial)
		}
		out, _, err := e.c.TakeTask(ctx, ts, s1)
		require.NoError(t, err)
		require.Equal(t, schema.TakeTried, out, "both slaves took it once: stuck without the arbiter")

		handle(t, a, schema.CmdCheck, ts)
		_, trial := e.run(t, ts, s1, schema.StatusFailed)
		handle(t, a, schema.CmdTrial, trial)
		require.Equal(t, counts{"failed", "0", "1"}, e.counts(t, ts), "the third trial ran, and the task failed for good")
	})
}

func TestCheckLeavesATaskThatCannotBeRetriedAnyMore(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 1, "slow_spec.rb")
		s1, s2 := e.slave(t, ts, "1"), e.slave(t, ts, "2")
		task := e.take(t, ts, s1)
		e.start(t, ts, task, s1)
		handle(t, a, schema.CmdCheck, ts) // a speculative copy
		_, copyTrial := e.run(t, ts, s2, schema.StatusFailed)
		handle(t, a, schema.CmdTrial, copyTrial)
		handle(t, a, schema.CmdCheck, ts) // queue empty, all running, but 2 trials = max_trials + 1
		require.Empty(t, e.list(t, schema.TaskQueue(ts)), "no copy past max_trials + 1 trials")
		handle(t, a, schema.CmdCheck, ts)
		out, _, err := e.c.TakeTask(ctx, ts, s2)
		require.NoError(t, err)
		require.Equal(t, schema.TakeEmpty, out, "s2 may not run it again: its failure used the last trial")
	})
}

// TestTrialsPerTaskAreNotBoundedByMaxTrialsPlusOne replays, without any
// fault, a trace the SPIN model finds (docs/model.md, "Trials per task"): a
// check cannot tell a task a live slave took and has not started from one a
// dead slave lost, and requeue_task's stale check counts trials, which that
// take does not add. With max_trials 1, three trials run; the verdict is
// still given once and counted once.
func TestTrialsPerTaskAreNotBoundedByMaxTrialsPlusOne(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 1, "slow_spec.rb")
		s1, s2, s3 := e.slave(t, ts, "1"), e.slave(t, ts, "2"), e.slave(t, ts, "3")
		task := e.take(t, ts, s2) // s2 took it, and has not started its trial yet
		handle(t, a, schema.CmdCheck, ts)
		require.Equal(t, []string{task}, e.list(t, schema.TaskQueue(ts)), "taken, no trial: queued again as if its slave were lost")
		require.Equal(t, task, e.take(t, ts, s1))
		t1 := e.start(t, ts, task, s1)
		handle(t, a, schema.CmdCheck, ts)
		require.Equal(t, []string{task}, e.list(t, schema.TaskQueue(ts)), "one trial running, queue empty: a speculative copy")
		t2 := e.start(t, ts, task, s2) // s2 starts the task it took at first
		require.Equal(t, task, e.take(t, ts, s3))
		t3 := e.start(t, ts, task, s3)
		require.Len(t, e.list(t, schema.TaskTrials(task)), 3, "three trials with max_trials 1")

		e.finish(t, t2, schema.StatusPassed)
		handle(t, a, schema.CmdTrial, t2)
		for _, tr := range []string{t1, t3} {
			e.finish(t, tr, schema.StatusFailed)
			handle(t, a, schema.CmdTrial, tr)
		}
		require.Equal(t, schema.StatusPassed, e.hget(t, task, schema.FStatus))
		require.Equal(t, counts{schema.StatusSucceeded, "1", "0"}, e.counts(t, ts), "one verdict, counted once")
	})
}

func TestCancelAndFailCommands(t *testing.T) {
	for verb, want := range map[string]string{schema.CmdCancel: schema.StatusCancelled, schema.CmdFail: schema.StatusFailed} {
		t.Run(verb, func(t *testing.T) {
			t.Parallel()
			redistest.Each(t, func(t *testing.T, b redistest.Backend) {
				e := newEnv(b)
				a := e.arbiter(t, "a1", 0)
				ts := e.create(t, "t", 1, "a_spec.rb", "b_spec.rb")
				handle(t, a, verb, ts)
				require.Equal(t, want, e.hget(t, ts, schema.FStatus))
				require.Empty(t, e.list(t, schema.TaskQueue(ts)), "the queue is cleared")
				require.Empty(t, e.list(t, e.k.ActiveTaskset()))
				require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))
				reason := e.hget(t, ts, schema.FStatusReason)
				require.NotEmpty(t, reason)

				handle(t, a, verb, ts)
				handle(t, a, schema.CmdCancel, ts)
				require.Equal(t, want, e.hget(t, ts, schema.FStatus), "stopping twice is a no-op")
				require.Equal(t, reason, e.hget(t, ts, schema.FStatusReason))
				require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))
				handle(t, a, schema.CmdCheck, ts)
				require.Empty(t, e.list(t, schema.TaskQueue(ts)), "a check of a stopped taskset queues nothing")
			})
		})
	}
}

func TestMalformedCommandsAreLoggedAndSkipped(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", 1, "a_spec.rb")
		require.NoError(t, e.rd.Set(ctx, e.k.Taskset("wrongtype"), "a string", 0).Err())
		bad := []string{"nonsense", "trial\t", "explode\t" + ts, "check\tnot-a-key", "trial\t" + e.k.Namespace() + ":nope",
			"cancel\t" + e.k.Taskset("missing"), "check\t" + e.k.Taskset("missing"), "check\t" + e.k.Taskset("wrongtype")}
		for _, c := range bad {
			require.NoError(t, e.rd.RPush(ctx, e.k.ArbiterQueue(), c).Err())
		}
		// a sweep never cancels: only the command after the bad ones can
		require.NoError(t, e.c.SendCommand(ctx, schema.Command{Verb: schema.CmdCancel, Key: ts}))

		looptest.Start(t, e.arbiter(t, "a1", time.Hour).Run)
		require.Eventually(t, func() bool { return e.hget(t, ts, schema.FStatus) == schema.StatusCancelled }, 10*time.Second,
			5*time.Millisecond, "the good command after the bad ones is handled")
		require.Eventually(t, func() bool { return e.logs.Count("warn", "skipping an entry") == len(bad) }, 10*time.Second,
			5*time.Millisecond, e.logs.String())
		require.Empty(t, e.list(t, e.k.ArbiterQueue()))
		require.Eventually(t, func() bool { return len(e.list(t, schema.Processing(e.k.ArbiterQueue(), "a1"))) == 0 },
			10*time.Second, 5*time.Millisecond, "bad commands are acknowledged, not retried")
		require.Zero(t, e.logs.Count("error", ""), "a bad value is not a failure of the loop")
	})
}

// The commands below are cancels: a sweep never cancels a taskset, so only
// handling the recovered command can.

func TestArbiterKilledMidCommandIsRecoveredByAnother(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", 1, "a_spec.rb")
		require.NoError(t, e.rd.Del(ctx, e.k.ArbiterQueue()).Err())
		require.NoError(t, e.c.SendCommand(ctx, schema.Command{Verb: schema.CmdCancel, Key: ts}))
		// an arbiter takes the command and is killed before handling it
		killed := e.c.Queue(e.k.ArbiterQueue(), "killed")
		require.NoError(t, killed.Join(ctx, time.Minute))
		cmd, err := killed.Take(ctx, time.Second)
		require.NoError(t, err)
		require.Equal(t, "cancel\t"+ts, cmd)

		looptest.Start(t, e.arbiter(t, "survivor", time.Hour).Run)
		require.NoError(t, e.rd.Del(ctx, schema.Heartbeat(schema.Processing(e.k.ArbiterQueue(), "killed"))).Err()) // its heartbeat expires
		require.Eventually(t, func() bool { return e.hget(t, ts, schema.FStatus) == schema.StatusCancelled }, 10*time.Second, 5*time.Millisecond)
		require.Eventually(t, func() bool {
			return len(e.list(t, schema.Processing(e.k.ArbiterQueue(), "killed"))) == 0 &&
				len(e.list(t, schema.Processing(e.k.ArbiterQueue(), "survivor"))) == 0 && len(e.list(t, e.k.ArbiterQueue())) == 0
		}, 10*time.Second, 5*time.Millisecond, "the command was handed back, handled and acknowledged")
	})
}

func TestArbiterRestartedWithTheSameIDHandlesItsPendingCommands(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", 1, "a_spec.rb")
		require.NoError(t, e.rd.Del(ctx, e.k.ArbiterQueue()).Err())
		require.NoError(t, e.c.SendCommand(ctx, schema.Command{Verb: schema.CmdCancel, Key: ts}))
		earlier := e.c.Queue(e.k.ArbiterQueue(), "same")
		require.NoError(t, earlier.Join(ctx, time.Minute)) // still alive as far as Redis knows
		_, err := earlier.Take(ctx, time.Second)
		require.NoError(t, err)

		looptest.Start(t, e.arbiter(t, "same", time.Hour).Run)
		require.Eventually(t, func() bool { return e.hget(t, ts, schema.FStatus) == schema.StatusCancelled }, 10*time.Second, 5*time.Millisecond)
		require.Eventually(t, func() bool { return len(e.list(t, schema.Processing(e.k.ArbiterQueue(), "same"))) == 0 },
			10*time.Second, 5*time.Millisecond)
	})
}

func TestSweepRecoversWithoutAnyCommand(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", 2, "a_spec.rb", "b_spec.rb")
		s1, s2 := e.slave(t, ts, "1"), e.slave(t, ts, "2")
		lost := e.take(t, ts, s1)
		running := e.start(t, ts, e.take(t, ts, s2), s2)
		e.kill(t, s1)
		e.kill(t, s2)
		require.NoError(t, e.rd.Del(ctx, e.k.ArbiterQueue()).Err())

		looptest.Start(t, e.arbiter(t, "a1", 50*time.Millisecond).Run)
		require.Eventually(t, func() bool { return len(e.list(t, schema.TaskQueue(ts))) == 2 }, 10*time.Second, 5*time.Millisecond)
		require.Contains(t, e.list(t, schema.TaskQueue(ts)), lost)
		require.Equal(t, schema.StatusError, e.hget(t, running, schema.FStatus))
	})
}

// TestTwoArbitersRace runs a taskset to its end with two arbiters and four
// slaves at once, every trial command delivered twice and checks sent all
// along: every counter must come out exact.
func TestTwoArbitersRace(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		const n = 40
		var specs []string
		for i := range n {
			specs = append(specs, fmt.Sprintf("spec_%02d.rb", i))
		}
		ts := e.create(t, "race", 2, specs...)
		// i%4 == 3 always fails, i%4 == 1 fails once then passes, others pass
		verdict := func(spec string, failuresSoFar int) string {
			var i int
			_, _ = fmt.Sscanf(spec, "spec_%02d.rb", &i)
			switch {
			case i%4 == 3, i%4 == 1 && failuresSoFar == 0:
				return schema.StatusFailed
			}
			return schema.StatusPassed
		}
		looptest.Start(t, e.arbiter(t, "a1", 20*time.Millisecond).Run)
		looptest.Start(t, e.arbiter(t, "a2", 20*time.Millisecond).Run)

		var failures sync.Map // spec -> *atomic.Int32
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		var wg sync.WaitGroup
		for i := range 4 {
			s := e.slave(t, ts, strconv.Itoa(i))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for runCtx.Err() == nil {
					out, task, err := e.c.TakeTask(runCtx, ts, s)
					if err != nil {
						return
					}
					if out != schema.TakeOK {
						_ = e.c.SendCommand(runCtx, schema.Command{Verb: schema.CmdCheck, Key: ts})
						time.Sleep(2 * time.Millisecond) // a slave's idle poll, not a test wait
						continue
					}
					started, trial, _, err := e.c.StartTrial(runCtx, ts, task, strconv.FormatInt(trialSeq.Add(1), 10), s)
					if err != nil || started != schema.StartOK {
						continue
					}
					spec := e.hget(t, task, schema.FSpecFile)
					f, _ := failures.LoadOrStore(spec, new(atomic.Int32))
					status := verdict(spec, int(f.(*atomic.Int32).Load()))
					if status == schema.StatusFailed {
						f.(*atomic.Int32).Add(1)
					}
					if _, err := e.c.FinishTrial(runCtx, trial, schema.Result{Status: status}); err != nil {
						return
					}
					_ = e.c.SendCommand(runCtx, schema.Command{Verb: schema.CmdTrial, Key: trial}) // delivered twice
				}
			}()
		}
		require.Eventually(t, func() bool { return schema.IsFinal(e.hget(t, ts, schema.FStatus)) }, 60*time.Second, 10*time.Millisecond)
		cancel()
		wg.Wait()

		require.Equal(t, counts{"failed", strconv.Itoa(n - n/4), strconv.Itoa(n / 4)}, e.counts(t, ts))
		for i, spec := range specs {
			task := schema.Task(ts, spec)
			want := "passed"
			if i%4 == 3 {
				want = "failed"
			}
			require.Equal(t, want, e.hget(t, task, schema.FStatus), spec)
		}
		require.Empty(t, e.list(t, schema.TasksLeft(ts)))
		require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()), "finished exactly once")
	})
}

func TestArbiterSurvivesRedisGoingAway(t *testing.T) {
	looptest.Outage(t, func(t *testing.T, b redistest.Backend, down, up func()) {
		e := newEnv(b)
		ts := e.create(t, "t", 1, "a_spec.rb", "b_spec.rb")
		s := e.slave(t, ts, "1")
		// The arbiter dials on a connection pool of its own, as in its own
		// process: go-redis's dial circuit breaker, tripped by its retries
		// during the outage, must not fail the test's reads after it.
		opt, err := redis.ParseURL(b.URL)
		require.NoError(t, err)
		own := redis.NewClient(opt)
		t.Cleanup(func() { _ = own.Close() })
		ae := newEnv(redistest.Backend{Name: b.Name, RDB: own, NS: b.NS})
		ae.logs = e.logs
		looptest.Start(t, ae.arbiter(t, "a1", 50*time.Millisecond).Run)
		first, _ := e.run(t, ts, s, schema.StatusPassed)
		require.Eventually(t, func() bool { return e.hget(t, first, schema.FStatus) == "passed" }, 10*time.Second, 5*time.Millisecond)

		down()
		require.Eventually(t, func() bool { return e.logs.Count("debug", "retrying") >= 3 }, 30*time.Second, 10*time.Millisecond,
			"the loop keeps trying")
		require.Equal(t, 1, e.logs.Count("error", "cannot"), "one error line per interval, not one per attempt:\n%s", e.logs.String())
		up()
		require.Eventually(t, func() bool { return e.rd.Ping(ctx).Err() == nil }, 10*time.Second, 10*time.Millisecond)

		second, _ := e.run(t, ts, s, schema.StatusPassed)
		require.Eventually(t, func() bool { return e.hget(t, second, schema.FStatus) == "passed" }, 30*time.Second, 5*time.Millisecond)
		require.Equal(t, counts{"succeeded", "2", "0"}, e.counts(t, ts))
		require.Eventually(t, func() bool { return e.logs.Count("info", "working again") == 1 }, 10*time.Second, 5*time.Millisecond, e.logs.String())
		require.Equal(t, 1, e.logs.Count("error", "cannot"))
	})
}

func TestNewRefusesBadConfig(t *testing.T) {
	c := schema.NewClient(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "")
	for name, cfg := range map[string]arbiter.Config{
		"negative sweep":       {SweepInterval: -time.Second},
		"pop under a second":   {Queue: loopx.ConsumerConfig{PopTimeout: time.Millisecond}},
		"beat slower than ttl": {Queue: loopx.ConsumerConfig{ConsumerTTL: time.Second, BeatInterval: time.Minute}},
	} {
		_, err := arbiter.New(cfg, arbiter.Deps{Client: c})
		require.Error(t, err, name)
	}
	_, err := arbiter.New(arbiter.Config{}, arbiter.Deps{})
	require.Error(t, err, "a client is required")
	a, err := arbiter.New(arbiter.Config{}, arbiter.Deps{Client: c})
	require.NoError(t, err)
	require.NotEmpty(t, a.ConsumerID())
}

func TestSpeculationIsBounded(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 2, "failing_spec.rb")
		s := []string{e.slave(t, ts, "1"), e.slave(t, ts, "2"), e.slave(t, ts, "3"), e.slave(t, ts, "4")}
		task := e.take(t, ts, s[0])
		first := e.start(t, ts, task, s[0])

		handle(t, a, schema.CmdCheck, ts)
		require.Equal(t, []string{task}, e.list(t, schema.TaskQueue(ts)), "one trial runs: an idle slave gets a copy")
		require.Equal(t, task, e.take(t, ts, s[1]))
		second := e.start(t, ts, task, s[1])
		handle(t, a, schema.CmdCheck, ts)
		require.Empty(t, e.list(t, schema.TaskQueue(ts)), "two copies run: no third")

		// the first copy fails, the second runs on: one more copy may run,
		// the task's last (max_trials 2 + 1 trials in all)
		_, err := e.c.FinishTrial(ctx, first, schema.Result{Status: schema.StatusFailed})
		require.NoError(t, err)
		handle(t, a, schema.CmdTrial, first)
		handle(t, a, schema.CmdCheck, ts)
		require.Equal(t, []string{task}, e.list(t, schema.TaskQueue(ts)))
		require.Equal(t, task, e.take(t, ts, s[2]))
		e.start(t, ts, task, s[2])

		_, err = e.c.FinishTrial(ctx, second, schema.Result{Status: schema.StatusFailed})
		require.NoError(t, err)
		handle(t, a, schema.CmdTrial, second)
		handle(t, a, schema.CmdCheck, ts)
		require.Empty(t, e.list(t, schema.TaskQueue(ts)), "three trials of max_trials 2: no more copies")
		require.Equal(t, 2, e.logs.Count("info", "speculative execution"), "the second and third trials were copies")
	})
}

// The taskset's own log tells a person what the arbiter did, one line per
// retry, recovery, speculative copy and the end, stamped '%F %T' as the
// original RRRSpec's arbiter stamped it.
func TestTasksetLogTellsWhatTheArbiterDid(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		a := e.arbiter(t, "a1", 0)
		ts := e.create(t, "t", 2, "flaky_spec.rb", "lost_spec.rb")
		s1, s2, s3 := e.slave(t, ts, "1"), e.slave(t, ts, "2"), e.slave(t, ts, "3")
		flaky := e.take(t, ts, s1)
		tr := e.start(t, ts, flaky, s1)
		lost := e.take(t, ts, s2)
		require.Equal(t, schema.Task(ts, "lost_spec.rb"), lost)
		lostTrial := e.start(t, ts, lost, s2)
		e.finish(t, tr, schema.StatusFailed)
		handle(t, a, schema.CmdTrial, tr) // queued again for another trial
		e.kill(t, s2)
		handle(t, a, schema.CmdCheck, ts) // recovery
		for range 2 {
			_, trial := e.run(t, ts, s3, schema.StatusPassed)
			handle(t, a, schema.CmdTrial, trial)
		}
		require.Equal(t, schema.StatusSucceeded, e.hget(t, ts, schema.FStatus))

		log, err := e.rd.Get(ctx, schema.TasksetLog(ts)).Result()
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
		stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S`)
		for _, l := range lines {
			require.Regexp(t, stamp, l)
		}
		require.Contains(t, log, "task "+flaky+" queued again for another trial")
		require.Contains(t, log, "trial "+lostTrial+" recorded as error: slave "+s2+" lost: heartbeat expired")
		require.Contains(t, lines[len(lines)-1], "taskset succeeded: every task has its verdict")
	})
}
