package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// BenchmarkFleet stands for a fleet of 1,000 slaves on one Redis: goroutines
// with connections of their own that run trials through the two round trips
// of `rrr slave` (take_trial, then finish_trial settling in place), against `rrr server` and
// RRR_TEST_BENCH_ARBITERS-1 more `rrr arbiter` processes. Two phases:
//
//   - drain: every slave passes its trials at once, 100,000 tasks in all;
//     trials per second, Redis's CPU, and the settle latency (from a
//     slave's finishing call to its task's verdict, read from the
//     taskset's events);
//   - paced: every slave finishes one trial a second, for 20 s (the steady
//     load of a fleet of 1,000 slaves running one-second specs); Redis's
//     CPU as a share of one core, and the settle latency.
//
// Nothing may be lost: every task of the drain passes, counted once.
func BenchmarkFleet(b *testing.B) {
	nslaves := benchEnv(b, "RRR_TEST_BENCH_FLEET_SLAVES", 1000)
	ntasks := benchEnv(b, "RRR_TEST_BENCH_FLEET_SPECS", 100000)
	arbiters := benchEnv(b, "RRR_TEST_BENCH_ARBITERS", 1)
	paced := time.Duration(benchEnv(b, "RRR_TEST_BENCH_FLEET_PACED_SEC", 20)) * time.Second
	for range b.N {
		srv := ownRedis(b, redistest.Options{})
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: nslaves + 20})
		b.Cleanup(func() { _ = rdb.Close() })
		c := schema.NewClient(rdb, "fleet")
		ctx := context.Background()
		bin := build(b)
		global := []string{"--redis", srv.URL(), "--namespace", "fleet"}
		var loops []*proc
		loops = append(loops, spawn(b, bin, append(global, "server", "--results-dir", b.TempDir(), "--consumer-id", "bench-server")...))
		for i := 1; i < arbiters; i++ {
			loops = append(loops, spawn(b, bin, append(global, "arbiter", "--consumer-id", "bench-arbiter-"+strconv.Itoa(i))...))
		}
		how := fmt.Sprintf("%d simulated slaves (goroutines, own connections), `rrr server`", nslaves)
		if arbiters > 1 {
			how += fmt.Sprintf(" + %d `rrr arbiter`", arbiters-1)
		}
		b.ResetTimer()

		// Drain.
		specs := make([]string, ntasks)
		for i := range specs {
			specs[i] = fmt.Sprintf("spec/group%03d/case%06d_spec.rb", i%1000, i)
		}
		key, err := c.CreateTaskset(ctx, "drain", schema.TasksetSpec{TrialCommand: "true {file}", Specs: specs})
		require.NoError(b, err)
		run := fleetRun(b, rdb, c, srv.Addr, key, nslaves, 0, time.Time{})
		status := waitFinal(b, rdb, key, false, 10*time.Minute)
		require.Equal(b, schema.StatusSucceeded, status)
		h, err := rdb.HMGet(ctx, key, schema.FSucceededCount, schema.FFailedCount).Result()
		require.NoError(b, err)
		require.Equal(b, []any{strconv.Itoa(ntasks), "0"}, h, "every task passed, counted once")
		require.Zero(b, rdb.LLen(ctx, schema.TasksLeft(key)).Val())
		r := run.stop()
		figure(b, fmt.Sprintf("fleet: %d slaves drain %d tasks", nslaves, ntasks), fmt.Sprintf(
			"%.0f trials/s (%d trials in %s); Redis CPU %.0f%% of one core; settle latency p50 %s, p99 %s; every task passed once",
			float64(r.trials)/r.wall.Seconds(), r.trials, r.wall.Round(time.Millisecond), r.cpu*100,
			r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond)), how+", no-op trials")
		b.ReportMetric(float64(r.trials)/r.wall.Seconds(), "drain-trials/s")

		// Paced: each slave finishes a trial a second.
		specs = specs[:min(len(specs), int(paced.Seconds()+5)*nslaves)]
		key, err = c.CreateTaskset(ctx, "paced", schema.TasksetSpec{TrialCommand: "true {file}", Specs: specs})
		require.NoError(b, err)
		run = fleetRun(b, rdb, c, srv.Addr, key, nslaves, time.Second, time.Now().Add(paced))
		r = run.wait()
		_, err = c.CancelTaskset(ctx, key, "benchmark over")
		require.NoError(b, err)
		figure(b, fmt.Sprintf("fleet: %d slaves finishing one trial a second each", nslaves), fmt.Sprintf(
			"%.0f trials/s for %s; Redis CPU %.0f%% of one core; settle latency p50 %s, p99 %s",
			float64(r.trials)/r.wall.Seconds(), r.wall.Round(time.Second), r.cpu*100,
			r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond)), how+", INFO cpu (used_cpu_user + used_cpu_sys) over the run")
		b.ReportMetric(r.cpu*100, "paced-redis-cpu-%")
		b.StopTimer()
		for _, p := range loops {
			require.NoError(b, p.cmd.Process.Signal(os.Interrupt))
			require.Equal(b, 0, p.exit(b, 30*time.Second))
		}
	}
}

// fleetResult is what a run of simulated slaves measured.
type fleetResult struct {
	trials   int64
	wall     time.Duration
	cpu      float64 // Redis CPU seconds per second of wall
	p50, p99 time.Duration
}

type fleetRunning struct {
	b        *testing.B
	rdb      *redis.Client
	n        int
	started  time.Time
	cpu0     float64
	wg       sync.WaitGroup
	trials   atomic.Int64
	errs     chan error
	finished sync.Map // task -> time.Time its trial finished
	mu       sync.Mutex
	lat      []time.Duration
	sub      *redis.PubSub
	subDone  chan struct{}
	cancel   context.CancelFunc
}

// fleetRun starts nslaves simulated slaves on taskset ts. pace > 0: a slave
// starts a trial at most every pace; until: slaves stop taking trials then
// (zero: when the taskset ends).
func fleetRun(b *testing.B, rdb *redis.Client, c *schema.Client, addr, ts string, nslaves int, pace time.Duration, until time.Time) *fleetRunning {
	ctx, cancel := context.WithCancel(context.Background())
	r := &fleetRunning{b: b, rdb: rdb, n: nslaves, errs: make(chan error, nslaves), subDone: make(chan struct{}), cancel: cancel}
	r.sub = r.rdb.Subscribe(ctx, schema.Events(ts))
	_, err := r.sub.Receive(ctx)
	require.NoError(b, err)
	go func() {
		defer close(r.subDone)
		for m := range r.sub.Channel(redis.WithChannelSize(100000)) {
			parts := strings.Split(m.Payload, "\t")
			if len(parts) < 2 || parts[0] != "settled" {
				continue
			}
			if at, ok := r.finished.Load(parts[1]); ok {
				r.mu.Lock()
				r.lat = append(r.lat, time.Since(at.(time.Time)))
				r.mu.Unlock()
			}
		}
	}()
	r.cpu0 = redisCPU(b, r.rdb)
	r.started = time.Now()
	for i := range nslaves {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := r.slave(ctx, c, ts, i, pace, until); err != nil && ctx.Err() == nil {
				r.errs <- err
			}
		}()
	}
	return r
}

// slave is one simulated slave: the protocol calls of `rrr slave` around a
// trial that passes at once.
func (r *fleetRunning) slave(ctx context.Context, c *schema.Client, ts string, i int, pace time.Duration, until time.Time) error {
	slave := schema.Slave(c.Keys.Worker("sim"), strconv.Itoa(i))
	if err := c.RegisterSlave(ctx, ts, slave, time.Hour, nil); err != nil {
		return err
	}
	if pace > 0 { // spread the fleet's starts over one pace
		time.Sleep(time.Duration(i) * pace / time.Duration(r.n))
	}
	for n := 0; ; n++ {
		began := time.Now()
		if !until.IsZero() && began.After(until) {
			return nil
		}
		out, taken, err := c.TakeTrial(ctx, ts, slave, fmt.Sprintf("%d-%d", i, n))
		if err != nil {
			return err
		}
		switch out {
		case schema.TakeStopped:
			return nil
		case schema.TakeAgain:
			continue
		case schema.TakeEmpty, schema.TakeTried:
			status, err := c.Field(ctx, ts, schema.FStatus)
			if err != nil {
				return err
			}
			if schema.IsFinal(status) {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		r.finished.Store(taken.Task, time.Now())
		if _, err := c.FinishAndSettle(ctx, ts, taken.Task, taken.Trial, slave, "", 1<<20,
			schema.Result{Status: schema.StatusPassed, Passed: 1}); err != nil {
			return err
		}
		r.trials.Add(1)
		if pace > 0 {
			time.Sleep(time.Until(began.Add(pace)))
		}
	}
}

// wait waits for the slaves to stop by themselves and measures.
func (r *fleetRunning) wait() fleetResult {
	r.wg.Wait()
	return r.measure()
}

// stop measures now (the taskset ended) and stops the slaves.
func (r *fleetRunning) stop() fleetResult {
	res := r.measure()
	r.cancel()
	r.wg.Wait()
	return res
}

func (r *fleetRunning) measure() fleetResult {
	b := r.b
	wall := time.Since(r.started)
	cpu := redisCPU(b, r.rdb) - r.cpu0
	time.Sleep(200 * time.Millisecond) // the last settles' events
	require.NoError(b, r.sub.Close())
	<-r.subDone
	select {
	case err := <-r.errs:
		require.NoError(b, err)
	default:
	}
	r.mu.Lock()
	lat := slices.Clone(r.lat)
	r.mu.Unlock()
	require.NotEmpty(b, lat, "settled events")
	slices.Sort(lat)
	return fleetResult{trials: r.trials.Load(), wall: wall, cpu: cpu / wall.Seconds(),
		p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
}

// redisCPU is the CPU time Redis has used, in seconds (INFO cpu).
func redisCPU(b *testing.B, rdb *redis.Client) float64 {
	info := redisInfo(b, rdb, "cpu")
	var total float64
	for _, k := range []string{"used_cpu_sys", "used_cpu_user"} {
		v, err := strconv.ParseFloat(info[k], 64)
		require.NoError(b, err, "INFO cpu %s", k)
		total += v
	}
	return total
}
