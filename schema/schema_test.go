package schema_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var ctx = context.Background()

type env struct {
	b  redistest.Backend
	c  *schema.Client
	k  schema.Keys
	rd *redis.Client
}

func newEnv(b redistest.Backend) env {
	c := schema.NewClient(b.RDB, b.NS)
	return env{b: b, c: c, k: c.Keys, rd: b.RDB}
}

func spec(specs ...string) schema.TasksetSpec {
	return schema.TasksetSpec{RsyncName: "alice", TrialCommand: "true {file}", Specs: specs}
}

func (e env) create(t *testing.T, id string, s schema.TasksetSpec) string {
	t.Helper()
	ts, err := e.c.CreateTaskset(ctx, id, s)
	require.NoError(t, err)
	return ts
}

func (e env) hget(t *testing.T, key, field string) string {
	t.Helper()
	return redistest.HGet(t, e.rd, key, field)
}

func (e env) list(t *testing.T, key string) []string {
	t.Helper()
	return redistest.List(t, e.rd, key)
}

// trial takes the task at the head of the queue for slave, starts a trial
// and finishes it with status; it returns the task key.
func (e env) trial(t *testing.T, ts, slave, status string) (string, string) {
	t.Helper()
	out, task, err := e.c.TakeTask(ctx, ts, slave)
	require.NoError(t, err)
	require.Equal(t, schema.TakeOK, out)
	trial := e.start(t, ts, task, slave)
	ok, err := e.c.FinishTrial(ctx, trial, schema.Result{Status: status, Passed: 1})
	require.NoError(t, err)
	require.True(t, ok)
	return task, trial
}

var trialSeq struct {
	sync.Mutex
	n int
}

func (e env) start(t *testing.T, ts, task, slave string) string {
	t.Helper()
	trialSeq.Lock()
	trialSeq.n++
	id := strconv.Itoa(trialSeq.n)
	trialSeq.Unlock()
	out, trial, started, err := e.c.StartTrial(ctx, ts, task, id, slave)
	require.NoError(t, err)
	require.Equal(t, schema.StartOK, out)
	require.WithinDuration(t, time.Now(), started, time.Minute)
	return trial
}

func TestCreateTasksetOrdersByEstimate(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		require.NoError(t, e.rd.HSet(ctx, e.k.Estimate("default"), "b.rb", "5", "c.rb", "30.2", "d.rb", "5").Err())
		ts := e.create(t, "t1", spec("a.rb", "b.rb", "c.rb", "d.rb", "e.rb"))
		require.Equal(t, e.k.Taskset("t1"), ts)

		task := func(s string) string { return schema.Task(ts, s) }
		// unknown first in given order, then longest first, ties in given order
		want := []string{task("a.rb"), task("e.rb"), task("c.rb"), task("b.rb"), task("d.rb")}
		require.Equal(t, want, e.list(t, schema.TaskQueue(ts)))
		require.Equal(t, want, e.list(t, schema.Tasks(ts)))
		require.Equal(t, want, e.list(t, schema.TasksLeft(ts)))
		require.Equal(t, []string{ts}, e.list(t, e.k.ActiveTaskset()))
		require.Equal(t, []string{"0"}, e.list(t, e.k.DispatcherQueue()))

		require.Equal(t, "running", e.hget(t, ts, schema.FStatus))
		require.Equal(t, "0", e.hget(t, ts, schema.FSucceededCount))
		require.Equal(t, "0", e.hget(t, ts, schema.FFailedCount))
		require.Equal(t, "5", e.hget(t, ts, schema.FTaskCount))
		require.Equal(t, "3", e.hget(t, ts, schema.FMaxTrials))
		require.Equal(t, "alice", e.hget(t, ts, schema.FRsyncName))
		require.Equal(t, "true {file}", e.hget(t, ts, schema.FTrialCommand))
		created, err := schema.ParseTime(e.hget(t, ts, schema.FCreatedAt))
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), created, time.Minute)

		require.Equal(t, "31", e.hget(t, task("c.rb"), schema.FEstimateSec), "estimates round up to whole seconds")
		require.Equal(t, "", e.hget(t, task("a.rb"), schema.FEstimateSec))
		require.Equal(t, "c.rb", e.hget(t, task("c.rb"), schema.FSpecFile))
		require.Equal(t, ts, e.hget(t, task("c.rb"), schema.FTaskset))
	})
}

func TestCreateTasksetRefusesBadInput(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		e.create(t, "dup", spec("a.rb"))
		for name, tc := range map[string]struct {
			id string
			s  schema.TasksetSpec
		}{
			"exists":                   {"dup", spec("b.rb")},
			"no specs":                 {"x1", spec()},
			"absolute":                 {"x2", spec("/etc/passwd")},
			"leaves root":              {"x3", spec("a/../../b.rb")},
			"twice":                    {"x4", spec("a.rb", "./a.rb")},
			"colon in id":              {"x:5", spec("a.rb")},
			"dots in id":               {"..-x5", spec("a.rb")},
			"bad name":                 {"x10", schema.TasksetSpec{RsyncName: "../x", TrialCommand: "x", Specs: []string{"a.rb"}}},
			"no command":               {"x6", schema.TasksetSpec{Specs: []string{"a.rb"}}},
			"bad format":               {"x7", schema.TasksetSpec{TrialCommand: "x", ResultFormat: "xml", Specs: []string{"a.rb"}}},
			"bad trials":               {"x8", schema.TasksetSpec{TrialCommand: "x", MaxTrials: -1, Specs: []string{"a.rb"}}},
			"short timout":             {"x9", schema.TasksetSpec{TrialCommand: "x", LeastTimeout: time.Millisecond, Specs: []string{"a.rb"}}},
			"runner and trial command": {"x11", schema.TasksetSpec{TrialCommand: "x", Runner: "pytest", Specs: []string{"a.rb"}}},
			"blank runner":             {"x12", schema.TasksetSpec{Runner: "  ", Specs: []string{"a.rb"}}},
		} {
			_, err := e.c.CreateTaskset(ctx, tc.id, tc.s)
			require.ErrorIs(t, err, schema.ErrInvalid, name)
		}
		// a runner alone is enough, and is kept
		ts, err := e.c.CreateTaskset(ctx, "r1", schema.TasksetSpec{Runner: "pytest -q", Specs: []string{"a.py"}})
		require.NoError(t, err)
		require.Equal(t, "pytest -q", e.hget(t, ts, schema.FRunner))
		require.Equal(t, "", e.hget(t, ts, schema.FTrialCommand))
		// nothing of the refused tasksets was written
		require.Equal(t, []string{e.k.Taskset("dup"), ts}, e.list(t, e.k.ActiveTaskset()))
		require.Equal(t, []string{schema.Task(e.k.Taskset("dup"), "a.rb")}, e.list(t, schema.Tasks(e.k.Taskset("dup"))))
		for _, id := range []string{"x1", "x2", "x3", "x4", "x6", "x7", "x8", "x9", "..-x5", "x10", "x11", "x12"} {
			n, err := e.rd.Exists(ctx, e.k.Taskset(id)).Result()
			require.NoError(t, err)
			require.Zero(t, n, id)
		}
	})
}

func TestScriptTimeIsRFC3339(t *testing.T) {
	b := redistest.Mini(t)
	e := newEnv(b)
	for _, want := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2000, 2, 29, 12, 30, 5, 123456000, time.UTC),
		time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 2, 28, 23, 0, 0, 1000, time.UTC),
	} {
		b.Mini.SetTime(want)
		got, err := e.c.Stamp(ctx, "h", "at")
		require.NoError(t, err)
		require.True(t, want.Equal(got), "want %s got %s", want, got)
		require.Equal(t, schema.FormatTime(want), e.hget(t, "h", "at"))
	}
}

func TestTakeTaskSkipsTriedTasks(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a", "b"))
		s1 := schema.Slave(e.k.Worker("w"), "1")
		s2 := schema.Slave(e.k.Worker("w"), "2")

		out, a, err := e.c.TakeTask(ctx, ts, s1)
		require.NoError(t, err)
		require.Equal(t, schema.TakeOK, out)
		require.Equal(t, schema.Task(ts, "a"), a)

		// a goes back to the head; s1 took it before and gets b instead
		require.NoError(t, e.rd.LPush(ctx, schema.TaskQueue(ts), a).Err())
		_, got, err := e.c.TakeTask(ctx, ts, s1)
		require.NoError(t, err)
		require.Equal(t, schema.Task(ts, "b"), got)

		out, _, err = e.c.TakeTask(ctx, ts, s1)
		require.NoError(t, err)
		require.Equal(t, schema.TakeTried, out, "only a, which s1 tried, is queued")
		require.Equal(t, []string{a}, e.list(t, schema.TaskQueue(ts)), "a tried task stays queued for others")

		_, got, err = e.c.TakeTask(ctx, ts, s2)
		require.NoError(t, err)
		require.Equal(t, a, got)
		out, _, err = e.c.TakeTask(ctx, ts, s2)
		require.NoError(t, err)
		require.Equal(t, schema.TakeEmpty, out)
	})
}

func TestStartTrial(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a", "b"))
		slave := schema.Slave(e.k.Worker("w"), "1")
		task := schema.Task(ts, "a")

		trial := e.start(t, ts, task, slave)
		require.Equal(t, []string{trial}, e.list(t, schema.TaskTrials(task)))
		require.Equal(t, []string{trial}, e.list(t, schema.SlaveTrials(slave)))
		require.Equal(t, task, e.hget(t, trial, schema.FTask))
		require.Equal(t, slave, e.hget(t, trial, schema.FSlave))
		// unset statuses are absent, not "": the original tests for nil
		for _, k := range []string{trial, task} {
			has, err := e.rd.HExists(ctx, k, schema.FStatus).Result()
			require.NoError(t, err)
			require.False(t, has, "%s has no status field yet", k)
		}

		_, _, _, err := e.c.StartTrial(ctx, ts, task, trial[len(schema.TaskTrials(task))+1:], slave)
		require.ErrorIs(t, err, schema.ErrInvalid, "a trial id is used once")
		_, _, _, err = e.c.StartTrial(ctx, ts, schema.Task(ts, "nope"), "x", slave)
		require.ErrorIs(t, err, schema.ErrInvalid, "a missing task")
		other := e.create(t, "o", spec("a"))
		_, _, _, err = e.c.StartTrial(ctx, other, task, "y", slave)
		require.ErrorIs(t, err, schema.ErrInvalid, "a task of another taskset")

		// a settled task is skipped, a stopped taskset stops the slave
		_, err = e.c.FinishTrial(ctx, trial, schema.Result{Status: schema.StatusPassed})
		require.NoError(t, err)
		_, _, err = e.c.SettleTask(ctx, task)
		require.NoError(t, err)
		out, _, _, err := e.c.StartTrial(ctx, ts, task, "late", slave)
		require.NoError(t, err)
		require.Equal(t, schema.StartSettled, out)
		_, err = e.c.CancelTaskset(ctx, ts, "")
		require.NoError(t, err)
		out, _, _, err = e.c.StartTrial(ctx, ts, schema.Task(ts, "b"), "z", slave)
		require.NoError(t, err)
		require.Equal(t, schema.StartStopped, out)
		require.Len(t, e.list(t, schema.TaskTrials(schema.Task(ts, "b"))), 0)
	})
}

func TestFinishTrialFirstResultWins(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a"))
		slave := schema.Slave(e.k.Worker("w"), "1")
		trial := e.start(t, ts, schema.Task(ts, "a"), slave)

		for _, r := range []schema.Result{
			{Status: "ok"},
			{Status: schema.StatusPassed, Fields: map[string]string{schema.FStatus: "passed"}},
			{Status: schema.StatusPassed, Fields: map[string]string{schema.FStartedAt: "x"}},
		} {
			_, err := e.c.FinishTrial(ctx, trial, r)
			require.ErrorIs(t, err, schema.ErrInvalid)
		}
		_, err := e.c.FinishTrial(ctx, schema.Trial(schema.Task(ts, "a"), "nope"), schema.Result{Status: "passed"})
		require.ErrorIs(t, err, schema.ErrInvalid)
		require.Equal(t, "", e.hget(t, trial, schema.FStatus), "refused results change nothing")
		require.Empty(t, e.list(t, e.k.ArbiterQueue()))

		ok, err := e.c.FinishTrial(ctx, trial, schema.Result{Status: schema.StatusError,
			Fields: map[string]string{schema.FError: "slave lost"}})
		require.NoError(t, err)
		require.True(t, ok)
		// the zombie slave's late result changes nothing
		ok, err = e.c.FinishTrial(ctx, trial, schema.Result{Status: schema.StatusPassed, Passed: 3,
			Fields: map[string]string{schema.FStdout: "late"}})
		require.NoError(t, err)
		require.False(t, ok)

		require.Equal(t, "error", e.hget(t, trial, schema.FStatus))
		require.Equal(t, "slave lost", e.hget(t, trial, schema.FError))
		require.Equal(t, "0", e.hget(t, trial, schema.FPassed))
		require.Equal(t, "", e.hget(t, trial, schema.FStdout))
		_, err = schema.ParseTime(e.hget(t, trial, schema.FFinishedAt))
		require.NoError(t, err)
		require.Equal(t, []string{"trial\t" + trial}, e.list(t, e.k.ArbiterQueue()))
	})
}

func TestSettleTaskRules(t *testing.T) {
	type step struct {
		status string // trial status, "" leaves it running
		want   schema.SettleOutcome
	}
	cases := map[string][]step{
		"pass":                {{"passed", "passed"}},
		"pending":             {{"pending", "pending"}},
		"retry then pass":     {{"failed", "requeued"}, {"timeout", "requeued"}, {"passed", "passed"}},
		"max trials":          {{"failed", "requeued"}, {"error", "requeued"}, {"failed", "failed"}},
		"running waits":       {{"", "running"}},
		"pending beats fails": {{"failed", "requeued"}, {"pending", "pending"}},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			redistest.Each(t, func(t *testing.T, b redistest.Backend) {
				e := newEnv(b)
				ts := e.create(t, "t", spec("a", "b"))
				task := schema.Task(ts, "a")
				var got schema.SettleOutcome
				for i, s := range steps {
					slave := schema.Slave(e.k.Worker("w"), strconv.Itoa(i))
					trial := e.start(t, ts, task, slave)
					require.NoError(t, e.rd.LRem(ctx, schema.TaskQueue(ts), 0, task).Err())
					if s.status != "" {
						_, err := e.c.FinishTrial(ctx, trial, schema.Result{Status: s.status})
						require.NoError(t, err)
					}
					var err error
					got, _, err = e.c.SettleTask(ctx, task)
					require.NoError(t, err)
					require.Equal(t, s.want, got, "step %d", i)
				}
				if got == schema.SettleRequeued {
					require.Equal(t, task, e.list(t, schema.TaskQueue(ts))[0], "a retry goes to the head")
				}
				left := e.list(t, schema.TasksLeft(ts))
				switch got {
				case "passed", "pending":
					require.Equal(t, "1", e.hget(t, ts, schema.FSucceededCount))
					require.Equal(t, []string{schema.Task(ts, "b")}, left)
				case "failed":
					require.Equal(t, "1", e.hget(t, ts, schema.FFailedCount))
					require.Equal(t, []string{schema.Task(ts, "b")}, left)
				default:
					require.Len(t, left, 2)
					require.Equal(t, "", e.hget(t, task, schema.FStatus))
				}
			})
		})
	}
}

func TestSettleTaskExactlyOnceUnderRace(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a", "b"))
		slave := schema.Slave(e.k.Worker("w"), "1")
		task, _ := e.trial(t, ts, slave, schema.StatusFailed)
		// a second trial passes while the first failed; many arbiters settle
		trial2 := e.start(t, ts, task, schema.Slave(e.k.Worker("w"), "2"))
		_, err := e.c.FinishTrial(ctx, trial2, schema.Result{Status: schema.StatusPassed})
		require.NoError(t, err)

		var wg sync.WaitGroup
		outs := make(chan schema.SettleOutcome, 40)
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, _, err := e.c.SettleTask(ctx, task)
				require.NoError(t, err)
				outs <- out
			}()
		}
		wg.Wait()
		close(outs)
		count := map[schema.SettleOutcome]int{}
		for o := range outs {
			count[o]++
		}
		require.Equal(t, map[schema.SettleOutcome]int{"passed": 1, "settled": 39}, count)
		require.Equal(t, "1", e.hget(t, ts, schema.FSucceededCount))
		require.Equal(t, "0", e.hget(t, ts, schema.FFailedCount))
		require.Equal(t, "passed", e.hget(t, task, schema.FStatus))

		// a late result for the settled task is history, not a verdict
		trial3 := e.start(t, ts, schema.Task(ts, "b"), slave)
		_ = trial3
		late := schema.Trial(task, "late")
		require.NoError(t, e.rd.HSet(ctx, late, schema.FTask, task, schema.FStatus, "").Err())
		require.NoError(t, e.rd.RPush(ctx, schema.TaskTrials(task), late).Err())
		ok, err := e.c.FinishTrial(ctx, late, schema.Result{Status: schema.StatusFailed})
		require.NoError(t, err)
		require.True(t, ok, "the trial keeps its result as history")
		out, _, err := e.c.SettleTask(ctx, task)
		require.NoError(t, err)
		require.Equal(t, schema.SettleSettled, out)
		require.Equal(t, "passed", e.hget(t, task, schema.FStatus))
		require.Equal(t, "0", e.hget(t, ts, schema.FFailedCount))
	})
}

func TestSettleTaskDetectsStaleRead(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a"))
		task, trial := e.trial(t, ts, schema.Slave(e.k.Worker("w"), "1"), schema.StatusFailed)
		// a caller that read no trial, while there is one: the script says stale
		keys := []string{task, schema.TaskTrials(task), ts, schema.TasksLeft(ts), schema.TaskQueue(ts),
			e.k.ActiveTaskset(), e.k.PersisterQueue()}
		raw := redis.NewScript(settleSource(t))
		v, err := raw.Run(ctx, e.rd, keys).Result()
		require.NoError(t, err)
		require.Equal(t, []any{"stale", ""}, v)
		v, err = raw.Run(ctx, e.rd, append(keys, trial+"x")).Result()
		require.NoError(t, err)
		require.Equal(t, []any{"stale", ""}, v)
		require.Equal(t, "", e.hget(t, task, schema.FStatus))
		require.Len(t, e.list(t, schema.TaskQueue(ts)), 0, "a stale read requeues nothing")
	})
}

func TestLastSettleFinishesTaskset(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a", "b"))
		slave := schema.Slave(e.k.Worker("w"), "1")
		sub := e.rd.Subscribe(ctx, schema.Events(ts))
		defer sub.Close()
		_, err := sub.Receive(ctx)
		require.NoError(t, err)

		a, _ := e.trial(t, ts, slave, schema.StatusPassed)
		out, fin, err := e.c.SettleTask(ctx, a)
		require.NoError(t, err)
		require.Equal(t, schema.SettlePassed, out)
		require.Equal(t, "", fin)
		st, err := e.c.FinishTaskset(ctx, ts)
		require.NoError(t, err)
		require.Equal(t, "", st, "a task is left")

		bt, _ := e.trial(t, ts, slave, schema.StatusPassed)
		out, fin, err = e.c.SettleTask(ctx, bt)
		require.NoError(t, err)
		require.Equal(t, schema.SettlePassed, out)
		require.Equal(t, schema.StatusSucceeded, fin)
		require.Equal(t, "succeeded", e.hget(t, ts, schema.FStatus))
		_, err = schema.ParseTime(e.hget(t, ts, schema.FFinishedAt))
		require.NoError(t, err)
		require.Empty(t, e.list(t, e.k.ActiveTaskset()))
		require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))
		st, err = e.c.FinishTaskset(ctx, ts)
		require.NoError(t, err)
		require.Equal(t, "", st, "finishing twice does nothing")
		require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))

		var kinds []string
		for len(kinds) < 5 {
			msg, err := sub.ReceiveMessage(ctx)
			require.NoError(t, err)
			kinds = append(kinds, schema.ParseEvent(msg.Payload).Kind)
		}
		require.Equal(t, []string{"started", "settled", "started", "settled", "finished"}, kinds)
	})
}

func TestFailedTaskFailsTaskset(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("a")
		s.MaxTrials = 1
		ts := e.create(t, "t", s)
		a, _ := e.trial(t, ts, schema.Slave(e.k.Worker("w"), "1"), schema.StatusFailed)
		out, fin, err := e.c.SettleTask(ctx, a)
		require.NoError(t, err)
		require.Equal(t, schema.SettleFailed, out)
		require.Equal(t, schema.StatusFailed, fin)
	})
}

func TestRequeueTask(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a", "b"))
		slave := schema.Slave(e.k.Worker("w"), "1")
		_, a, err := e.c.TakeTask(ctx, ts, slave) // lost: no trial was made
		require.NoError(t, err)

		out, err := e.c.RequeueTask(ctx, ts, a, 1)
		require.NoError(t, err)
		require.Equal(t, schema.RequeueStale, out)
		out, err = e.c.RequeueTask(ctx, ts, a, 0)
		require.NoError(t, err)
		require.Equal(t, schema.RequeueDone, out)
		require.Equal(t, []string{schema.Task(ts, "b"), a}, e.list(t, schema.TaskQueue(ts)))
		out, err = e.c.RequeueTask(ctx, ts, a, 0)
		require.NoError(t, err)
		require.Equal(t, schema.RequeueQueued, out)

		_, err = e.c.RequeueTask(ctx, ts, schema.Task(ts, "zz"), 0)
		require.ErrorIs(t, err, schema.ErrInvalid)
		_, err = e.c.CancelTaskset(ctx, ts, "")
		require.NoError(t, err)
		out, err = e.c.RequeueTask(ctx, ts, a, 0)
		require.NoError(t, err)
		require.Equal(t, schema.RequeueStopped, out)
	})
}

// settle_task scans the task queue only for a task that was queued again
// after it was taken: such a task must still leave the queue with its
// verdict, and the others must stay queued in order.
func TestSettleTaskRemovesARequeuedTaskFromTheQueue(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a", "b", "c", "d"))
		a, b2, c, d := schema.Task(ts, "a"), schema.Task(ts, "b"), schema.Task(ts, "c"), schema.Task(ts, "d")
		slave := schema.Slave(e.k.Worker("w"), "1")
		other := schema.Slave(e.k.Worker("w"), "2")

		// a: taken and passed, never requeued.
		task, _ := e.trial(t, ts, slave, schema.StatusPassed)
		require.Equal(t, a, task)
		out, _, err := e.c.SettleTask(ctx, a)
		require.NoError(t, err)
		require.Equal(t, schema.SettlePassed, out)
		require.Empty(t, e.hget(t, a, schema.FRequeued))
		require.Equal(t, []string{b2, c, d}, e.list(t, schema.TaskQueue(ts)))
		require.Equal(t, []string{b2, c, d}, e.list(t, schema.TasksLeft(ts)))

		// b: running, queued again for an idle slave (speculative
		// execution), then its first trial passes while the copy waits.
		_, task, err = e.c.TakeTask(ctx, ts, slave)
		require.NoError(t, err)
		require.Equal(t, b2, task)
		trial := e.start(t, ts, b2, slave)
		requeued, err := e.c.RequeueTask(ctx, ts, b2, 1)
		require.NoError(t, err)
		require.Equal(t, schema.RequeueDone, requeued)
		require.Equal(t, "1", e.hget(t, b2, schema.FRequeued))
		require.Equal(t, []string{c, d, b2}, e.list(t, schema.TaskQueue(ts)))
		_, err = e.c.FinishTrial(ctx, trial, schema.Result{Status: schema.StatusPassed})
		require.NoError(t, err)
		out, _, err = e.c.SettleTask(ctx, b2)
		require.NoError(t, err)
		require.Equal(t, schema.SettlePassed, out)
		require.Equal(t, []string{c, d}, e.list(t, schema.TaskQueue(ts)), "the copy leaves the queue")

		// c: fails, is retried at the head, and passes on another slave.
		task, _ = e.trial(t, ts, slave, schema.StatusFailed)
		require.Equal(t, c, task)
		out, _, err = e.c.SettleTask(ctx, c)
		require.NoError(t, err)
		require.Equal(t, schema.SettleRequeued, out)
		require.Equal(t, "1", e.hget(t, c, schema.FRequeued))
		require.Equal(t, []string{c, d}, e.list(t, schema.TaskQueue(ts)))
		task, _ = e.trial(t, ts, other, schema.StatusPassed)
		require.Equal(t, c, task)
		out, _, err = e.c.SettleTask(ctx, c)
		require.NoError(t, err)
		require.Equal(t, schema.SettlePassed, out)
		require.Equal(t, []string{d}, e.list(t, schema.TaskQueue(ts)))
		require.Equal(t, []string{d}, e.list(t, schema.TasksLeft(ts)))
		require.Equal(t, "3", e.hget(t, ts, schema.FSucceededCount))
	})
}

func TestCancelAndFail(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "c", spec("a", "b"))
		ok, err := e.c.CancelTaskset(ctx, ts, "by alice")
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = e.c.CancelTaskset(ctx, ts, "again")
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = e.c.FailTaskset(ctx, ts, "setup failed")
		require.NoError(t, err)
		require.False(t, ok, "a cancelled taskset cannot fail")
		require.Equal(t, "cancelled", e.hget(t, ts, schema.FStatus))
		require.Equal(t, "by alice", e.hget(t, ts, schema.FStatusReason))
		require.Empty(t, e.list(t, e.k.ActiveTaskset()))
		require.Empty(t, e.list(t, schema.TaskQueue(ts)))
		require.Len(t, e.list(t, schema.TasksLeft(ts)), 2, "tasks that did not run stay left")
		require.Equal(t, []string{ts}, e.list(t, e.k.PersisterQueue()))
		log, err := e.rd.Get(ctx, schema.TasksetLog(ts)).Result()
		require.NoError(t, err)
		require.Contains(t, log, "taskset cancelled: by alice")

		f := e.create(t, "f", spec("a"))
		ok, err = e.c.FailTaskset(ctx, f, "setup failed")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "failed", e.hget(t, f, schema.FStatus))

		_, err = e.c.CancelTaskset(ctx, e.k.Taskset("none"), "")
		require.ErrorIs(t, err, schema.ErrInvalid)
		_, err = scriptStop(e, f, "succeeded")
		require.ErrorIs(t, err, schema.ErrInvalid)
	})
}

func TestDispatch(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("a")
		s.MaxWorkers = 1
		ts := e.create(t, "t", s)
		w1, w2, w3 := e.k.Worker("w1"), e.k.Worker("w2"), e.k.Worker("w3")
		for _, w := range []string{w1, w2} {
			stale, err := e.c.RegisterWorker(ctx, w, time.Minute, map[string]string{schema.FWorkerType: "default"})
			require.NoError(t, err)
			require.Equal(t, "", stale)
		}
		_, err := e.c.RegisterWorker(ctx, w3, time.Minute, map[string]string{schema.FWorkerType: "gpu"})
		require.NoError(t, err)

		out, err := e.c.Dispatch(ctx, ts, w3)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchType, out)
		out, err = e.c.Dispatch(ctx, ts, w1)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchOK, out)
		require.Equal(t, []string{ts}, e.list(t, schema.WorkerQueue(w1)))
		require.Equal(t, ts, e.hget(t, w1, schema.FTaskset))
		out, err = e.c.Dispatch(ctx, ts, w2)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchFull, out, "max_workers is 1")
		out, err = e.c.Dispatch(ctx, ts, w1)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchBusy, out)

		// w1 leaves (its rsync failed): the place is free, but not for w1
		_, err = e.c.StartWorkerLog(ctx, ts, w1)
		require.NoError(t, err)
		ok, err := e.c.ReleaseWorker(ctx, w1, ts)
		require.NoError(t, err)
		require.True(t, ok)
		out, err = e.c.Dispatch(ctx, ts, w1)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchWorked, out)
		require.NoError(t, e.rd.Del(ctx, schema.Heartbeat(w2)).Err())
		out, err = e.c.Dispatch(ctx, ts, w2)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchDead, out)
		require.NoError(t, e.c.Beat(ctx, w2, time.Minute))
		out, err = e.c.Dispatch(ctx, ts, w2)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchOK, out)

		_, err = e.c.CancelTaskset(ctx, ts, "")
		require.NoError(t, err)
		out, err = e.c.Dispatch(ctx, ts, w3)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchStopped, out)
	})
}

// The original RRRSpec client leaves status unset; its first dispatch sets
// it running, as the original dispatcher did.
func TestDispatchStartsATasksetWithoutStatus(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a"))
		require.NoError(t, e.rd.HDel(ctx, ts, schema.FStatus).Err())
		w := e.k.Worker("w1")
		_, err := e.c.RegisterWorker(ctx, w, time.Minute, map[string]string{schema.FWorkerType: "default"})
		require.NoError(t, err)

		out, err := e.c.Dispatch(ctx, e.k.Taskset("gone"), w)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchStopped, out, "a taskset that does not exist is not dispatched")
		require.Equal(t, "", e.hget(t, w, schema.FTaskset))

		out, err = e.c.Dispatch(ctx, ts, w)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchOK, out)
		require.Equal(t, schema.StatusRunning, e.hget(t, ts, schema.FStatus))
		require.Equal(t, []string{ts}, e.list(t, schema.WorkerQueue(w)))
	})
}

func TestDispatchRaceKeepsMaxWorkers(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("a")
		s.MaxWorkers = 3
		ts := e.create(t, "t", s)
		var workers []string
		for i := range 12 {
			w := e.k.Worker(fmt.Sprint("w", i))
			_, err := e.c.RegisterWorker(ctx, w, time.Minute, nil)
			require.NoError(t, err)
			workers = append(workers, w)
		}
		// two dispatchers offer the taskset to every worker at once
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := map[string]int{}
		for range 2 {
			for _, w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out, err := e.c.Dispatch(ctx, ts, w)
					require.NoError(t, err)
					if out == schema.DispatchOK {
						mu.Lock()
						ok[w]++
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		require.Len(t, ok, 3)
		for w, n := range ok {
			require.Equal(t, 1, n, "a worker gets a taskset once")
			require.Equal(t, []string{ts}, e.list(t, schema.WorkerQueue(w)))
		}
		n, err := e.rd.SCard(ctx, schema.Assigned(ts)).Result()
		require.NoError(t, err)
		require.EqualValues(t, 3, n)
	})
}

func TestWorkerLifecycle(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a"))
		w := e.k.Worker("box1")
		_, err := e.c.RegisterWorker(ctx, w, time.Minute, map[string]string{schema.FHost: "box1"})
		require.NoError(t, err)
		out, err := e.c.Dispatch(ctx, ts, w)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchOK, out)

		// the process restarts under the same id: it learns what it held
		stale, err := e.c.RegisterWorker(ctx, w, time.Minute, nil)
		require.NoError(t, err)
		require.Equal(t, ts, stale)

		removed, err := e.c.RemoveWorker(ctx, w)
		require.NoError(t, err)
		require.False(t, removed, "a live worker stays")
		require.NoError(t, e.rd.Del(ctx, schema.Heartbeat(w)).Err())
		removed, err = e.c.RemoveWorker(ctx, w)
		require.NoError(t, err)
		require.True(t, removed)
		n, err := e.rd.Exists(ctx, w, schema.WorkerQueue(w)).Result()
		require.NoError(t, err)
		require.Zero(t, n)
		members, err := e.rd.SMembers(ctx, e.k.Workers()).Result()
		require.NoError(t, err)
		require.Empty(t, members)
		members, err = e.rd.SMembers(ctx, schema.Assigned(ts)).Result()
		require.NoError(t, err)
		require.Empty(t, members, "its place in the taskset is free")
	})
}

func TestReliableQueue(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		q := e.k.ArbiterQueue()
		for _, c := range []string{"check\tA", "trial\tB", "check\tC"} {
			require.NoError(t, e.rd.RPush(ctx, q, c).Err())
		}
		dead := e.c.Queue(q, "a1")
		require.NoError(t, dead.Join(ctx, time.Minute))
		got1, err := dead.Take(ctx, time.Second)
		require.NoError(t, err)
		got2, err := dead.Take(ctx, time.Second)
		require.NoError(t, err)
		require.Equal(t, []string{"check\tA", "trial\tB"}, []string{got1, got2})
		require.NoError(t, dead.Ack(ctx, got1))

		live := e.c.Queue(q, "a2")
		require.NoError(t, live.Join(ctx, time.Minute))
		n, err := live.Recover(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "a live consumer keeps what it holds")

		require.NoError(t, e.rd.Del(ctx, schema.Heartbeat(schema.Processing(q, "a1"))).Err()) // a1 dies
		n, err = live.Recover(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, []string{"trial\tB", "check\tC"}, e.list(t, q), "handed back to the head, in order")
		ids, err := e.rd.SMembers(ctx, schema.Consumers(q)).Result()
		require.NoError(t, err)
		require.Equal(t, []string{"a2"}, ids)

		got, err := live.Take(ctx, time.Second)
		require.NoError(t, err)
		require.Equal(t, "trial\tB", got)
		pending, err := live.Pending(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"trial\tB"}, pending)
		n, err = live.Leave(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, []string{"trial\tB", "check\tC"}, e.list(t, q))

		empty := e.c.Queue("nothing", "x")
		got, err = empty.Take(ctx, 100*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, "", got)
	})
}

func TestAppendLogIsCapped(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		require.NoError(t, e.c.AppendLog(ctx, "log", "0123456789", 16))
		require.NoError(t, e.c.AppendLog(ctx, "log", "abcdefghij", 16))
		require.NoError(t, e.c.AppendLog(ctx, "log", "more", 16))
		v, err := e.rd.Get(ctx, "log").Result()
		require.NoError(t, err)
		require.Equal(t, "0123456789abcdef\n[rrr: log truncated: it reached 16 bytes]\n", v)
		require.ErrorIs(t, e.c.AppendLog(ctx, "log", "x", 0), schema.ErrInvalid)
	})
}

func TestRegisterSlaveAndWorkerLog(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a"))
		w := e.k.Worker("w")
		s := schema.Slave(w, "42")
		for range 2 {
			require.NoError(t, e.c.RegisterSlave(ctx, ts, s, time.Minute, map[string]string{schema.FWorker: w}))
			log, err := e.c.StartWorkerLog(ctx, ts, w)
			require.NoError(t, err)
			require.Equal(t, schema.WorkerLog(ts, w), log)
		}
		require.Equal(t, []string{s}, e.list(t, schema.TasksetSlaves(ts)))
		require.Equal(t, []string{schema.WorkerLog(ts, w)}, e.list(t, schema.WorkerLogs(ts)))
		require.Equal(t, w, e.hget(t, s, schema.FWorker))
		require.Equal(t, ts, e.hget(t, s, schema.FTaskset))
		has, err := e.rd.HExists(ctx, s, schema.FStatus).Result()
		require.NoError(t, err)
		require.False(t, has, "a running slave has no status field")
		alive, err := e.c.Alive(ctx, s)
		require.NoError(t, err)
		require.True(t, alive)
		at, err := e.c.Stamp(ctx, schema.WorkerLog(ts, w), schema.FRsyncFinishedAt, "extra", "1")
		require.NoError(t, err)
		require.Equal(t, schema.FormatTime(at), e.hget(t, schema.WorkerLog(ts, w), schema.FRsyncFinishedAt))
		require.Equal(t, "1", e.hget(t, schema.WorkerLog(ts, w), "extra"))
	})
}

func TestRecordPersistedOnce(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a"))
		est := e.k.Estimate("default")
		_, err := e.c.RecordPersisted(ctx, ts, "default", map[string]float64{"a": 1}, nil)
		require.ErrorIs(t, err, schema.ErrInvalid, "a running taskset is not persisted")
		_, err = e.c.CancelTaskset(ctx, ts, "")
		require.NoError(t, err)
		require.NoError(t, e.rd.HSet(ctx, est, "a", "10").Err())
		ok, err := e.c.RecordPersisted(ctx, ts, "default", map[string]float64{"a": 20, "new": 3.25}, nil)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = e.c.RecordPersisted(ctx, ts, "default", map[string]float64{"a": 20}, nil)
		require.NoError(t, err)
		require.False(t, ok)
		require.Equal(t, "15.000", e.hget(t, est, "a"), "half old, half new")
		require.Equal(t, "3.250", e.hget(t, est, "new"))
		_, err = e.c.RecordPersisted(ctx, ts, "default", map[string]float64{"a": -1}, nil)
		require.ErrorIs(t, err, schema.ErrInvalid)
	})
}

// Estimates and history are folded a chunk of specs at a time: a taskset
// of more specs than a chunk (1,000) gets every one of them folded.
func TestRecordPersistedFoldsManySpecs(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a"))
		_, err := e.c.CancelTaskset(ctx, ts, "")
		require.NoError(t, err)
		est, hist := e.k.Estimate("default"), e.k.History("default")
		durations, outcomes := map[string]float64{}, map[string]string{}
		for i := range 2500 {
			s := fmt.Sprintf("spec/s%04d_spec.rb", i)
			durations[s], outcomes[s] = float64(i), "P"
		}
		require.NoError(t, e.rd.HSet(ctx, est, "spec/s0000_spec.rb", "10", "spec/s2499_spec.rb", "1").Err())
		require.NoError(t, e.rd.HSet(ctx, hist, "spec/s1234_spec.rb", "XF").Err())
		ok, err := e.c.RecordPersisted(ctx, ts, "default", durations, outcomes)
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, 2500, e.rd.HLen(ctx, est).Val())
		require.EqualValues(t, 2500, e.rd.HLen(ctx, hist).Val())
		w := schema.EstimateWeight
		require.Equal(t, fmt.Sprintf("%.3f", w*0+(1-w)*10), e.hget(t, est, "spec/s0000_spec.rb"), "folded with the old estimate")
		require.Equal(t, fmt.Sprintf("%.3f", w*2499+(1-w)*1), e.hget(t, est, "spec/s2499_spec.rb"), "in the last chunk too")
		require.Equal(t, "1777.000", e.hget(t, est, "spec/s1777_spec.rb"))
		require.Equal(t, "XFP", e.hget(t, hist, "spec/s1234_spec.rb"))
		require.Equal(t, "P", e.hget(t, hist, "spec/s2001_spec.rb"))
	})
}

func TestCleanSpec(t *testing.T) {
	for in, want := range map[string]string{
		"spec/a_spec.rb": "spec/a_spec.rb",
		"./a//b.rb":      "a/b.rb",
		"a/../b.rb":      "b.rb",
		"/abs.rb":        "",
		"../up.rb":       "",
		"a/../../up.rb":  "",
		"..":             "",
		".":              "",
		"":               "",
		"a\nb":           "",
	} {
		got, err := schema.CleanSpec(in)
		if want == "" {
			require.ErrorIs(t, err, schema.ErrInvalid, in)
			continue
		}
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
}

func TestParseCommand(t *testing.T) {
	c, err := schema.ParseCommand("trial\trrrspec:taskset:x:task:a:trial:1")
	require.NoError(t, err)
	require.Equal(t, schema.Command{Verb: "trial", Key: "rrrspec:taskset:x:task:a:trial:1"}, c)
	require.Equal(t, "trial\trrrspec:taskset:x:task:a:trial:1", c.String())
	for _, bad := range []string{"", "check", "check\t", "explode\tk"} {
		_, err := schema.ParseCommand(bad)
		require.ErrorIs(t, err, schema.ErrInvalid, bad)
	}
}

func TestKeys(t *testing.T) {
	k := schema.NewKeys("")
	require.Equal(t, "rrrspec:taskset:abc", k.Taskset("abc"))
	id, ok := k.TasksetID("rrrspec:taskset:abc")
	require.True(t, ok)
	require.Equal(t, "abc", id)
	_, ok = k.TasksetID("rrrspec:taskset:abc:task:x")
	require.False(t, ok)
	_, ok = k.TasksetID("other:taskset:abc")
	require.False(t, ok)
	require.Equal(t, "rrrspec:worker:h1", k.Worker("h1"))
	require.Equal(t, "rrrspec:worker:h1:slave:7:heartbeat", schema.Heartbeat(schema.Slave(k.Worker("h1"), "7")))
	require.Equal(t, "ns:estimate_sec:unit", schema.NewKeys("ns").Estimate("unit"))
	keys := []string{k.ArbiterQueue(), k.DispatcherQueue(), k.PersisterQueue(), k.ActiveTaskset(), k.Workers(), k.RsyncInfo()}
	sort.Strings(keys)
	require.Equal(t, []string{"rrrspec:active_taskset", "rrrspec:arbiter_queue", "rrrspec:dispatcher_queue",
		"rrrspec:persister_queue", "rrrspec:rsync_info", "rrrspec:worker"}, keys)
}

func settleSource(t *testing.T) string { return schema.SettleSource(t) }

func scriptStop(e env, ts, status string) (bool, error) { return e.c.StopTaskset(ctx, ts, status) }
