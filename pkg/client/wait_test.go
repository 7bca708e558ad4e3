package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var ctx = context.Background()

// fleet plays the parts of workers, slaves and arbiter by hand, with the
// protocol's scripts.
type fleet struct {
	t      *testing.T
	b      redistest.Backend
	sc     *schema.Client
	cl     *client.Client
	stderr *looptest.Buffer
	seq    atomic.Int64
}

func newFleet(t *testing.T, b redistest.Backend) *fleet {
	sc := schema.NewClient(b.RDB, b.NS)
	stderr := &looptest.Buffer{}
	cl := client.New(sc, stderr, zerolog.Nop())
	return &fleet{t: t, b: b, sc: sc, cl: cl, stderr: stderr}
}

func (f *fleet) create(id string, specs ...string) string {
	f.t.Helper()
	key, err := f.sc.CreateTaskset(ctx, id, schema.TasksetSpec{RsyncName: "alice", TrialCommand: "rspec {file}", Specs: specs})
	require.NoError(f.t, err)
	return key
}

// worker registers a live worker of type typ and a slave of it on ts.
func (f *fleet) worker(id, typ, ts string) (worker, slave string) {
	f.t.Helper()
	worker = f.sc.Keys.Worker(id)
	_, err := f.sc.RegisterWorker(ctx, worker, time.Minute, map[string]string{schema.FWorkerType: typ, schema.FSlaves: "1"})
	require.NoError(f.t, err)
	if ts == "" {
		return worker, ""
	}
	out, err := f.sc.Dispatch(ctx, ts, worker)
	require.NoError(f.t, err)
	require.Equal(f.t, schema.DispatchOK, out)
	_, err = f.sc.StartWorkerLog(ctx, ts, worker)
	require.NoError(f.t, err)
	slave = schema.Slave(worker, "1")
	require.NoError(f.t, f.sc.RegisterSlave(ctx, ts, slave, time.Minute, map[string]string{schema.FWorker: worker, schema.FNumber: "1"}))
	return worker, slave
}

// run takes the next task for slave, runs a trial with result r and
// settles it, as a slave and the arbiter would.
func (f *fleet) run(ts, slave string, r schema.Result) string {
	f.t.Helper()
	out, task, err := f.sc.TakeTask(ctx, ts, slave)
	require.NoError(f.t, err)
	require.Equal(f.t, schema.TakeOK, out)
	_, trial, _, err := f.sc.StartTrial(ctx, ts, task, fmt.Sprint(f.seq.Add(1)), slave)
	require.NoError(f.t, err)
	_, err = f.sc.FinishTrial(ctx, trial, r)
	require.NoError(f.t, err)
	_, _, err = f.sc.SettleTask(ctx, task)
	require.NoError(f.t, err)
	return task
}

// subscribed waits until Wait listens on the taskset's events channel, so
// that what the test does next can only reach it through an event.
func (f *fleet) subscribed(ts string) {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		n, err := f.b.RDB.PubSubNumSub(ctx, schema.Events(ts)).Result()
		return err == nil && n[schema.Events(ts)] > 0
	}, 10*time.Second, 5*time.Millisecond, "Wait subscribes to the events channel")
}

type waitResult struct {
	o   *client.Outcome
	err error
}

// wait runs Wait in the background.
func (f *fleet) wait(ts string, opt client.WaitOptions) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		o, err := f.cl.Wait(ctx, ts, opt)
		ch <- waitResult{o, err}
	}()
	return ch
}

func result(t *testing.T, ch <-chan waitResult) *client.Outcome {
	t.Helper()
	select {
	case r := <-ch:
		require.NoError(t, r.err)
		return r.o
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return")
	}
	return nil
}

// eventsOnly polls so rarely that only events can wake Wait in a test.
var eventsOnly = client.WaitOptions{Poll: time.Hour, WorkerWarnAfter: time.Hour}

func passed(n int) schema.Result {
	return schema.Result{Status: schema.StatusPassed, Passed: n}
}

func failed(out string) schema.Result {
	return schema.Result{Status: schema.StatusFailed, Failed: 1, Fields: map[string]string{schema.FStdout: out, schema.FExitCode: "1"}}
}

func TestWaitSucceeds(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("ok", "a.rb", "b.rb")
		_, slave := f.worker("w1", "default", ts)
		ch := f.wait(ts, eventsOnly)
		f.subscribed(ts)
		f.run(ts, slave, passed(3))
		f.run(ts, slave, passed(2))
		o := result(t, ch)
		require.Equal(t, model.Succeeded, o.Verdict)
		require.Equal(t, schema.StatusSucceeded, o.Snapshot.Status)
		require.Empty(t, o.Note)
		require.Len(t, o.Snapshot.Tasks, 2)
	})
}

func TestWaitFailsAndKeepsOutputs(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		key, err := f.sc.CreateTaskset(ctx, "bad", schema.TasksetSpec{TrialCommand: "t {file}", MaxTrials: 2, Specs: []string{"a.rb"}})
		require.NoError(t, err)
		_, s1 := f.worker("w1", "default", key)
		_, s2 := f.worker("w2", "default", key)
		ch := f.wait(key, eventsOnly)
		f.subscribed(key)
		f.run(key, s1, failed("first try"))
		f.run(key, s2, failed("second try"))
		o := result(t, ch)
		require.Equal(t, model.TestsFailed, o.Verdict)
		tr := model.FinalTrial(o.Snapshot.Tasks[0])
		require.Equal(t, "second try", tr.Stdout, "the final read has the outputs")
	})
}

func TestWaitFlaky(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("flaky", "a.rb")
		_, s1 := f.worker("w1", "default", ts)
		_, s2 := f.worker("w2", "default", ts)
		ch := f.wait(ts, eventsOnly)
		f.subscribed(ts)
		f.run(ts, s1, failed("oops")) // requeued: a slave never takes a task twice
		f.run(ts, s2, passed(1))
		o := result(t, ch)
		require.Equal(t, model.Succeeded, o.Verdict)
		require.True(t, model.IsFlaky(o.Snapshot.Tasks[0]))
		require.Equal(t, 1, client.CountSpecs(o.Snapshot).Flaky)
	})
}

func TestWaitShowsProgressOnALog(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("progress", "a.rb", "b.rb", "c.rb")
		_, slave := f.worker("w1", "default", ts)
		ch := f.wait(ts, client.WaitOptions{Poll: time.Hour, WorkerWarnAfter: time.Hour})
		f.subscribed(ts)
		require.Eventually(t, func() bool { return bytes.Contains([]byte(f.stderr.String()), []byte("rrr: 0/3 done")) },
			5*time.Second, 5*time.Millisecond)
		f.run(ts, slave, failed("x"))
		f.run(ts, slave, passed(1))
		f.run(ts, slave, passed(1))
		f.run(ts, slave+"x", passed(1)) // another slave retries the failure
		o := result(t, ch)
		require.Equal(t, model.Succeeded, o.Verdict)
		out := f.stderr.String()
		require.NotContains(t, out, "\r", "a log gets lines, not terminal control")
		require.Contains(t, out, "rrr: 0/3 done")
		lines := strings.Count(out, " done, ")
		require.GreaterOrEqual(t, lines, 1)
		require.LessOrEqual(t, lines, 2, "four quick changes make at most one more line: %s", out)
	})
}

func TestWaitCancelsOnSignal(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("sig", "a.rb", "b.rb")
		_, slave := f.worker("w1", "default", ts)
		f.run(ts, slave, passed(1))
		ints := make(chan os.Signal, 2)
		opt := eventsOnly
		opt.Interrupts, opt.CancelOnSignal = ints, true
		ch := f.wait(ts, opt)
		f.subscribed(ts)
		ints <- syscall.SIGINT
		o := result(t, ch)
		require.Equal(t, model.Cancelled, o.Verdict)
		require.Equal(t, 3, o.Verdict.ExitCode())
		require.Equal(t, schema.StatusCancelled, o.Snapshot.Status)
		require.Contains(t, o.Snapshot.StatusReason, "interrupt")
		require.Contains(t, f.stderr.String(), "cancelling the taskset")
		cmds, err := b.RDB.LRange(ctx, f.sc.Keys.ArbiterQueue(), 0, -1).Result()
		require.NoError(t, err)
		require.Contains(t, cmds, "cancel\t"+ts, "the arbiter is told")
		active, err := f.cl.Reader.Active(ctx)
		require.NoError(t, err)
		require.NotContains(t, active, ts)
	})
}

func TestWaitStopsWaitingOnSignalWithoutCancelling(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("nocancel", "a.rb")
		ints := make(chan os.Signal, 1)
		opt := eventsOnly
		opt.Interrupts = ints
		ch := f.wait(ts, opt)
		f.subscribed(ts)
		ints <- syscall.SIGTERM
		o := result(t, ch)
		require.Equal(t, model.Cancelled, o.Verdict)
		require.Contains(t, o.Note, "stopped waiting")
		require.Equal(t, schema.StatusRunning, o.Snapshot.Status, "the taskset goes on")
		require.Contains(t, f.stderr.String(), "rrr waitfor "+ts)
	})
}

func TestWaitTimesOut(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("slow", "a.rb")
		opt := eventsOnly
		opt.Timeout = 100 * time.Millisecond
		o := result(t, f.wait(ts, opt))
		require.Equal(t, model.Infra, o.Verdict)
		require.Equal(t, 4, o.Verdict.ExitCode())
		require.Contains(t, o.Note, "timed out")
		require.Equal(t, schema.StatusRunning, o.Snapshot.Status, "a wait time-out leaves the taskset running")
	})
}

func TestWaitPollsWithoutEvents(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("poll", "a.rb")
		ch := f.wait(ts, client.WaitOptions{Poll: 20 * time.Millisecond, WorkerWarnAfter: time.Hour})
		f.subscribed(ts)
		// a change no script announces: only a read finds it
		require.NoError(t, b.RDB.HSet(ctx, ts, schema.FStatus, schema.StatusSucceeded).Err())
		require.Equal(t, model.Succeeded, result(t, ch).Verdict)
	})
}

func TestWaitFinishedTasksetReturnsAtOnce(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		ts := f.create("done", "a.rb")
		_, slave := f.worker("w1", "default", ts)
		f.run(ts, slave, passed(1))
		require.Equal(t, model.Succeeded, result(t, f.wait(ts, eventsOnly)).Verdict)
	})
}

func TestWaitReadsTheStoreWhenExpired(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		key := f.sc.Keys.Taskset("gone")
		_, err := f.cl.Wait(ctx, key, eventsOnly)
		require.ErrorIs(t, err, client.ErrNotFound)
		require.Contains(t, err.Error(), "--results-dir")

		dir := t.TempDir()
		stored := snapshot("failed", task("a.rb", "failed", nil, trial("failed", 0, time.Second, "s")))
		stored.Key = key
		doc, err := json.Marshal(stored)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "gone"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "gone", "taskset.json"), doc, 0o644))
		f.cl.Store = func(id string) (*model.Snapshot, error) { return store.Read(dir, id) }
		o := result(t, f.wait(key, eventsOnly))
		require.Equal(t, model.TestsFailed, o.Verdict)

		_, err = f.cl.Wait(ctx, f.sc.Keys.Taskset("never"), eventsOnly)
		require.ErrorIs(t, err, client.ErrNotFound)
		require.Contains(t, err.Error(), "neither in Redis")
	})
}

func TestWaitSaysWhyNoWorkerTakesIt(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fleet, ts string)
		says  string
	}{
		{"no worker of the type", func(f *fleet, ts string) { f.worker("other", "gpu", "") },
			`no live worker of type "default" after`},
		{"every worker busy", func(f *fleet, ts string) {
			other := f.create("other", "x.rb")
			f.worker("w1", "default", other)
		}, `all 1 live workers of type "default" are busy`},
		{"idle workers but no dispatcher", func(f *fleet, ts string) { f.worker("w1", "default", "") },
			"is `rrr server` (the dispatcher) running?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			redistest.Each(t, func(t *testing.T, b redistest.Backend) {
				f := newFleet(t, b)
				ts := f.create("lonely", "a.rb")
				tc.setup(f, ts)
				opt := client.WaitOptions{Poll: 10 * time.Millisecond, WorkerWarnAfter: 30 * time.Millisecond, Timeout: 5 * time.Second}
				ch := f.wait(ts, opt)
				require.Eventually(t, func() bool { return bytes.Contains([]byte(f.stderr.String()), []byte(tc.says)) },
					5*time.Second, 5*time.Millisecond, "stderr: %s", f.stderr.String())
				_, err := f.cl.Cancel(ctx, ts, "test over")
				require.NoError(t, err)
				require.Equal(t, model.Cancelled, result(t, ch).Verdict)
				require.Equal(t, 1, bytes.Count([]byte(f.stderr.String()), []byte(tc.says)), "said once")
			})
		})
	}
}

// A second signal ends the wait at once, even while Redis does not answer.
func TestWaitSecondSignalExitsAtOnce(t *testing.T) {
	srv, err := redistest.Start(redistest.Options{})
	if err != nil {
		if redistest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer srv.Stop()
	rdb := srv.Client()
	defer rdb.Close()
	f := newFleet(t, redistest.Backend{Name: "redis", RDB: rdb, NS: "second", URL: srv.URL()})
	ts := f.create("stuck", "a.rb")
	ints := make(chan os.Signal, 2)
	opt := eventsOnly
	opt.Interrupts, opt.CancelOnSignal = ints, true
	ch := f.wait(ts, opt)
	f.subscribed(ts)
	// Redis stops answering for 20 s: the cancel of the first signal hangs.
	require.NoError(t, rdb.Do(ctx, "CLIENT", "PAUSE", "20000", "ALL").Err())
	ints <- syscall.SIGINT
	require.Eventually(t, func() bool { return bytes.Contains([]byte(f.stderr.String()), []byte("cancelling")) },
		5*time.Second, 5*time.Millisecond)
	ints <- syscall.SIGINT
	o := result(t, ch) // within 10 s, long before Redis answers
	require.Equal(t, model.Cancelled, o.Verdict)
	require.Nil(t, o.Snapshot)
	require.Contains(t, o.Note, "second signal")
}

// Redis going away: a short outage is waited out, a long one is an error.
func TestWaitRidesOutRedisOutages(t *testing.T) {
	m := miniredis.RunT(t)
	// fail fast while Redis is down, so that the test is quick
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1, DialerRetries: 1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	b := redistest.Backend{Name: "miniredis", RDB: rdb, NS: "outage", Mini: m}
	f := newFleet(t, b)
	ts := f.create("outage", "a.rb")
	_, slave := f.worker("w1", "default", ts)
	ch := f.wait(ts, client.WaitOptions{Poll: 10 * time.Millisecond, WorkerWarnAfter: time.Hour, RedisGrace: time.Minute})
	f.subscribed(ts)
	b.Mini.Close()
	require.Eventually(t, func() bool { return strings.Contains(f.stderr.String(), "cannot read the taskset") },
		10*time.Second, 5*time.Millisecond)
	require.NoError(t, b.Mini.Restart())
	f.run(ts, slave, passed(1))
	require.Equal(t, model.Succeeded, result(t, ch).Verdict, "the wait went on after Redis came back")

	ts = f.create("gone", "a.rb")
	ch = f.wait(ts, client.WaitOptions{Poll: 10 * time.Millisecond, WorkerWarnAfter: time.Hour, RedisGrace: 100 * time.Millisecond})
	f.subscribed(ts)
	b.Mini.Close()
	select {
	case r := <-ch:
		require.ErrorContains(t, r.err, "redis unreachable for 100ms")
	case <-time.After(20 * time.Second):
		t.Fatal("Wait did not give up")
	}
}
