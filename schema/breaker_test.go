package schema_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// The circuit breaker: a worker's run of fast failures grows with each
// one and ends with any other trial; at the threshold, with another worker
// on the taskset, it trips: the worker is unhealthy, its worker log says
// it left, and the run's trials no longer count toward max_trials, so the
// specs they failed are run again; later fast failures of that worker are
// discounted at once. Alone on the taskset it does not trip.
func TestBreakerTripsAndDiscountsTheRun(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("a_spec.rb", "b_spec.rb", "c_spec.rb", "d_spec.rb")
		s.MaxTrials = 2
		ts := e.create(t, "t", s)
		bad, good := e.k.Worker("bad"), e.k.Worker("good")
		for _, w := range []string{bad, good} {
			_, err := e.c.RegisterWorker(ctx, w, time.Minute, map[string]string{schema.FWorkerType: "default"})
			require.NoError(t, err)
		}
		out, err := e.c.Dispatch(ctx, ts, bad)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchOK, out)
		_, err = e.c.StartWorkerLog(ctx, ts, bad)
		require.NoError(t, err)
		fast := schema.Result{Status: schema.StatusError, Fields: map[string]string{schema.FFastFailure: "1", schema.FError: "no such file"}}
		fail := schema.Result{Status: schema.StatusFailed, Failed: 1}
		pass := schema.Result{Status: schema.StatusPassed, Passed: 1}
		finish := func(worker, slave, id string, r schema.Result) (*schema.Taken, schema.Finished) {
			t.Helper()
			out, taken, err := e.c.TakeTrial(ctx, ts, slave, id)
			require.NoError(t, err)
			require.Equal(t, schema.TakeOK, out)
			f, err := e.c.FinishAndCount(ctx, ts, taken.Task, taken.Trial, slave, worker, "", 1<<20, r)
			require.NoError(t, err)
			return taken, f
		}
		slave, other := schema.Slave(bad, "1"), schema.Slave(good, "1")
		run := schema.FastFailures(schema.WorkerLog(ts, bad))

		// a fails fast; b's pass ends the run, and clears an unhealthy
		// mark of before; c and d fail fast: a run of two.
		require.NoError(t, e.rd.HSet(ctx, bad, schema.FUnhealthy, "old", schema.FUnhealthyAt, "2026-01-01T00:00:00Z").Err())
		a, f := finish(bad, slave, "1", fast)
		require.Equal(t, 1, f.Run)
		require.Equal(t, schema.SettleRequeued, f.Outcome)
		_, f = finish(bad, slave, "2", pass)
		require.Equal(t, 0, f.Run)
		require.Empty(t, e.list(t, run))
		require.Empty(t, e.hget(t, bad, schema.FUnhealthy))
		require.Empty(t, e.hget(t, bad, schema.FUnhealthyAt))
		_, f = finish(bad, slave, "3", fast)
		require.Equal(t, 1, f.Run)
		_, f = finish(bad, slave, "4", fast)
		require.Equal(t, 2, f.Run)

		// Alone on the taskset: the code may be what fails; it holds.
		tr, err := e.c.TripBreaker(ctx, ts, bad, 2, "its last 2 trials failed fast")
		require.NoError(t, err)
		require.Equal(t, schema.TripAlone, tr)
		require.Empty(t, e.hget(t, bad, schema.FUnhealthy))
		tr, err = e.c.TripBreaker(ctx, ts, bad, 3, "x")
		require.NoError(t, err)
		require.Equal(t, schema.TripBelow, tr)

		out, err = e.c.Dispatch(ctx, ts, good)
		require.NoError(t, err)
		require.Equal(t, schema.DispatchOK, out)
		trials := e.list(t, run)
		require.Len(t, trials, 2)
		tr, err = e.c.TripBreaker(ctx, ts, bad, 2, "its last 2 trials failed fast")
		require.NoError(t, err)
		require.Equal(t, schema.TripTripped, tr)
		require.Equal(t, "its last 2 trials failed fast", e.hget(t, bad, schema.FUnhealthy))
		require.NotEmpty(t, e.hget(t, bad, schema.FUnhealthyAt))
		wl := schema.WorkerLog(ts, bad)
		require.NotEmpty(t, e.hget(t, wl, schema.FBreakerTrippedAt))
		require.Equal(t, "its last 2 trials failed fast", e.hget(t, wl, schema.FBreakerReason))
		for _, trial := range trials {
			require.Equal(t, "its last 2 trials failed fast", e.hget(t, trial, schema.FDiscounted))
		}
		require.Empty(t, e.hget(t, a.Trial, schema.FDiscounted), "a's fast failure was not in the run")
		require.Contains(t, e.rd.Get(ctx, schema.TasksetLog(ts)).Val(), "worker "+bad+" left the taskset")
		tr, err = e.c.TripBreaker(ctx, ts, bad, 2, "again")
		require.NoError(t, err)
		require.Equal(t, schema.TripAlready, tr)

		// The queue is d, c, a (retries go to its head). d's one counted
		// failure is the good worker's: queued again. c passes. a's two
		// count: it failed.
		d, f := finish(good, other, "5", fail)
		require.Equal(t, schema.Task(ts, "d_spec.rb"), d.Task)
		require.Equal(t, schema.SettleRequeued, f.Outcome, "d's fast failure on the bad worker is not counted")
		c, f := finish(good, other, "6", pass)
		require.Equal(t, schema.Task(ts, "c_spec.rb"), c.Task)
		require.Equal(t, schema.SettlePassed, f.Outcome)
		_, f = finish(good, other, "7", fail)
		require.Equal(t, schema.SettleFailed, f.Outcome, "a's first failure ended no run that tripped: it counts")

		// A fast failure of the tripped worker after the trip (another
		// of its slaves) is discounted at once: d is queued again.
		later, f := finish(bad, schema.Slave(bad, "2"), "8", fast)
		require.Equal(t, d.Task, later.Task)
		require.Equal(t, schema.RunTripped, f.Run)
		require.Equal(t, schema.SettleRequeued, f.Outcome)
		require.Equal(t, "its last 2 trials failed fast", e.hget(t, later.Trial, schema.FDiscounted))

		// A restart clears the mark.
		_, err = e.c.RegisterWorker(ctx, bad, time.Minute, map[string]string{schema.FWorkerType: "default"})
		require.NoError(t, err)
		require.Empty(t, e.hget(t, bad, schema.FUnhealthy))
	})
}

// A fast_failure field on a trial that did not fail counts as no fast
// failure: it ends the run.
func TestBreakerIgnoresFastPasses(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a_spec.rb", "b_spec.rb"))
		w := e.k.Worker("w")
		slave := schema.Slave(w, "1")
		run := schema.FastFailures(schema.WorkerLog(ts, w))
		require.NoError(t, e.rd.RPush(ctx, run, "x").Err())
		out, tk, err := e.c.TakeTrial(ctx, ts, slave, "1")
		require.NoError(t, err)
		require.Equal(t, schema.TakeOK, out)
		f, err := e.c.FinishAndCount(ctx, ts, tk.Task, tk.Trial, slave, w, "", 1<<20,
			schema.Result{Status: schema.StatusPassed, Fields: map[string]string{schema.FFastFailure: "1"}})
		require.NoError(t, err)
		require.Equal(t, 0, f.Run)
		require.Empty(t, e.list(t, run))
	})
}

// Two workers whose runs both reached the threshold: the first trips; the
// second is then the last worker whose breaker has not tripped, although
// the first still holds the taskset until its slaves stopped, so it stays
// (workers tripping at once must not all leave).
func TestBreakerKeepsTheLastUntrippedWorker(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.create(t, "t", spec("a_spec.rb"))
		ws := []string{e.k.Worker("w0"), e.k.Worker("w1")}
		for _, w := range ws {
			_, err := e.c.RegisterWorker(ctx, w, time.Minute, map[string]string{schema.FWorkerType: "default"})
			require.NoError(t, err)
			out, err := e.c.Dispatch(ctx, ts, w)
			require.NoError(t, err)
			require.Equal(t, schema.DispatchOK, out)
			_, err = e.c.StartWorkerLog(ctx, ts, w)
			require.NoError(t, err)
			require.NoError(t, e.rd.RPush(ctx, schema.FastFailures(schema.WorkerLog(ts, w)), w+":t1", w+":t2").Err())
		}
		out, err := e.c.TripBreaker(ctx, ts, ws[0], 2, "its last 2 trials failed fast")
		require.NoError(t, err)
		require.Equal(t, schema.TripTripped, out)
		out, err = e.c.TripBreaker(ctx, ts, ws[1], 2, "its last 2 trials failed fast")
		require.NoError(t, err)
		require.Equal(t, schema.TripAlone, out, "w0 still holds the taskset, but it tripped: w1 is the last")
		require.Empty(t, e.hget(t, ws[1], schema.FUnhealthy))
	})
}
