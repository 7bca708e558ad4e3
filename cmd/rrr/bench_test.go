package main

// Benchmarks: figures, not pass or fail. Each runs real processes on a
// redis-server of its own, once (b.N is 1 unless -benchtime says more), and
// logs its figures as "FIGURE | what | value | how" lines that
// scripts/bench.sh gathers into a table:
//
//	go test -run '^$' -bench . -benchtime 1x ./cmd/rrr
//
//	BenchmarkCoordination  no-op trials on 1 worker x 8 slaves: trials per
//	                       second, Redis commands per trial
//	BenchmarkBalance       heavy-tailed sleeps on 4 workers x 4 slaves, run
//	                       twice (without, then with estimates): makespan
//	                       against the lower bound and static splits
//	BenchmarkScale         a taskset of 100,000 spec files: creation time,
//	                       Redis memory per task; a few hundred simulated
//	                       slaves drain it: throughput, nothing lost
//	BenchmarkRunner        files of a framework whose start-up costs 1 s,
//	                       plain trials against a persistent runner
//	                       (bench_runner_test.go)
//
// Sizes can be changed with RRR_TEST_BENCH_TRIALS (coordination, default
// 3000), RRR_TEST_BENCH_SPECS (scale, 100000) and RRR_TEST_BENCH_SLAVES
// (scale, 300), RRR_TEST_BENCH_RUNNER_FILES (runner, 40).

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func benchEnv(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(b, err, "%s=%q: want a number", name, v)
	require.Positive(b, n, name)
	return n
}

// figure logs one row of the table scripts/bench.sh prints.
func figure(b *testing.B, what, value, how string) {
	b.Helper()
	b.Logf("FIGURE | %s | %s | %s", what, value, how)
}

// redisInfo reads one section of INFO as name -> value.
func redisInfo(b *testing.B, rdb *redis.Client, section string) map[string]string {
	b.Helper()
	text, err := rdb.Info(context.Background(), section).Result()
	require.NoError(b, err)
	out := map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = v
		}
	}
	return out
}

// commandCalls reads INFO commandstats: calls per command.
func commandCalls(b *testing.B, rdb *redis.Client) map[string]int64 {
	b.Helper()
	out := map[string]int64{}
	for k, v := range redisInfo(b, rdb, "commandstats") {
		name, ok := strings.CutPrefix(k, "cmdstat_")
		if !ok {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(v, "calls="), ",")
		n, err := strconv.ParseInt(calls, 10, 64)
		require.NoError(b, err, "INFO commandstats: %s", v)
		out[name] = n
	}
	return out
}

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	b.Helper()
	n, err := strconv.ParseInt(redisInfo(b, rdb, "memory")["used_memory"], 10, 64)
	require.NoError(b, err)
	return n
}

// monitor counts, with MONITOR, the commands Redis runs for its clients
// (requests) apart from those that scripts run inside (`[0 lua]`).
type monitor struct {
	conn     net.Conn
	done     chan struct{}
	mu       sync.Mutex
	requests map[string]int64
	inLua    int64
}

func startMonitor(b *testing.B, addr string) *monitor {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(b, err)
	_, err = conn.Write([]byte("MONITOR\r\n"))
	require.NoError(b, err)
	r := bufio.NewReaderSize(conn, 1<<20)
	line, err := r.ReadString('\n')
	require.NoError(b, err)
	require.Equal(b, "+OK\r\n", line)
	m := &monitor{conn: conn, done: make(chan struct{}), requests: map[string]int64{}}
	go func() {
		defer close(m.done)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			// +1700000000.123456 [0 127.0.0.1:53422] "evalsha" "..." ...
			_, rest, ok := strings.Cut(line, " [")
			if !ok {
				continue
			}
			from, rest, _ := strings.Cut(rest, "] ")
			cmd, _, _ := strings.Cut(strings.TrimPrefix(rest, `"`), `"`)
			m.mu.Lock()
			if strings.HasSuffix(from, " lua") {
				m.inLua++
			} else {
				m.requests[strings.ToLower(cmd)]++
			}
			m.mu.Unlock()
		}
	}()
	return m
}

// stop ends the monitor and returns what it counted.
func (m *monitor) stop() (requests map[string]int64, inLua int64) {
	_ = m.conn.Close()
	<-m.done
	return m.requests, m.inLua
}

// perTrial formats counts per trial, the largest first.
func perTrial(counts map[string]int64, trials int) (total float64, list []string) {
	type call struct {
		name string
		n    int64
	}
	var calls []call
	for name, n := range counts {
		if n > 0 {
			calls = append(calls, call{name, n})
			total += float64(n)
		}
	}
	sort.Slice(calls, func(i, j int) bool {
		return calls[i].n > calls[j].n || (calls[i].n == calls[j].n && calls[i].name < calls[j].name)
	})
	for _, c := range calls {
		list = append(list, fmt.Sprintf("%s %.2f", c.name, float64(c.n)/float64(trials)))
	}
	return total / float64(trials), list
}

// counter counts, by name, the commands the benchmark sends itself, to
// leave them out of the figures.
type counter struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *counter) add(cmds ...redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	for _, cmd := range cmds {
		c.n[strings.ToLower(cmd.Name())]++
	}
}

// take returns the counts so far and starts again from zero.
func (c *counter) take() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = nil
	return n
}

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(cmd)
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.add(cmds...)
		return next(ctx, cmds)
	}
}

// subtract removes the benchmark's own commands from counts.
func subtract(counts, own map[string]int64) {
	for name, n := range own {
		counts[name] -= n
	}
}

// waitStatus waits until taskset key has one of the statuses (or, with
// persisted, has been persisted too) and returns its status.
func waitFinal(b *testing.B, rdb *redis.Client, key string, persisted bool, within time.Duration) string {
	b.Helper()
	var status string
	require.Eventually(b, func() bool {
		v, err := rdb.HMGet(context.Background(), key, schema.FStatus, schema.FPersistedAt).Result()
		if err != nil {
			return false
		}
		status, _ = v[0].(string)
		at, _ := v[1].(string)
		return schema.IsFinal(status) && (!persisted || at != "")
	}, within, 20*time.Millisecond, "taskset %s ends", key)
	return status
}

// span is the first start and the last end of a taskset's trials, and
// their count and total duration.
func span(s *model.Snapshot) (first, last time.Time, trials int, work time.Duration) {
	for _, k := range s.Tasks {
		for _, tr := range k.Trials {
			trials++
			work += tr.Duration()
			if first.IsZero() || tr.StartedAt.Before(first) {
				first = tr.StartedAt.Time
			}
			if tr.FinishedAt.After(last) {
				last = tr.FinishedAt.Time
			}
		}
	}
	return first, last, trials, work
}

// ownBound is max(work / slaves, longest spec) over the durations the
// snapshot's specs took: each task's first passed trial.
func ownBound(s *model.Snapshot, slaves int) time.Duration {
	var sum, longest time.Duration
	for _, k := range s.Tasks {
		for _, tr := range k.Trials {
			if tr.Status == schema.StatusPassed {
				sum += tr.Duration()
				longest = max(longest, tr.Duration())
				break
			}
		}
	}
	return max(sum/time.Duration(slaves), longest)
}

// specFiles writes n spec files named by name(i) with body(i) under dir.
func specFiles(b *testing.B, dir string, n int, name func(int) string, body func(int) string) []string {
	b.Helper()
	specs := make([]string, n)
	for i := range n {
		specs[i] = name(i)
		path := filepath.Join(dir, specs[i])
		require.NoError(b, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(b, os.WriteFile(path, []byte(body(i)), 0o644))
	}
	return specs
}

// BenchmarkCoordination runs no-op trials (`true`) on one worker with 8
// slaves: what rrr itself costs per trial, in time and in Redis commands.
// A first taskset measures the throughput and the commands Redis ran
// (INFO commandstats, which counts the commands scripts run too); a second,
// smaller one runs under MONITOR to tell the requests clients sent (round
// trips) from the commands run inside scripts, since MONITOR slows Redis.
func BenchmarkCoordination(b *testing.B) {
	n := benchEnv(b, "RRR_TEST_BENCH_TRIALS", 3000)
	for range b.N {
		f := newFleet(b, fleetOptions{workers: 1, slaves: 8})
		own := &counter{}
		f.rdb.AddHook(own)
		dir := b.TempDir()
		specFiles(b, dir, n, func(i int) string { return fmt.Sprintf("spec/n%05d", i) }, func(int) string { return "" })
		run := func(specs string) (*model.Snapshot, int) {
			_, key := f.start(b, "--dir", dir, "--trial-command", "true {file}", "--format", "exit-code",
				"--rsync-name", "bench", specs)
			require.Equal(b, schema.StatusSucceeded, waitFinal(b, f.rdb, key, true, 10*time.Minute))
			s := f.snapshot(b, key)
			_, _, trials, _ := span(s)
			return s, trials
		}

		before := commandCalls(b, f.rdb)
		own.take()
		b.ResetTimer()
		s, trials := run("spec/*")
		b.StopTimer()
		mine := own.take()
		after := commandCalls(b, f.rdb)
		require.Equal(b, n, s.SucceededCount)
		first, last, _, _ := span(s)
		delta := map[string]int64{}
		for name, c := range after {
			delta[name] = c - before[name]
		}
		// Leave out the benchmark's own reads (polls, the snapshot) and the
		// INFO that read the stats.
		subtract(delta, mine)
		delta["info"]--
		executed, execList := perTrial(delta, trials)

		m := startMonitor(b, f.redis.Addr)
		own.take()
		_, small := run("spec/n00[0-9]*") // 1000 specs
		requests, inLua := m.stop()
		subtract(requests, own.take())
		perReq, reqList := perTrial(requests, small)
		b.Logf("requests per trial, by command: %s", strings.Join(reqList, ", "))

		rate := float64(trials) / last.Sub(first).Seconds()
		wall := s.FinishedAt.Sub(s.CreatedAt.Time)
		b.ReportMetric(rate, "trials/s")
		b.ReportMetric(executed, "redis-cmds/trial")
		b.ReportMetric(perReq, "redis-requests/trial")
		how := "no-op trials (`true`), 1 worker x 8 slaves, default intervals"
		figure(b, fmt.Sprintf("coordination: throughput, %d no-op trials", trials),
			fmt.Sprintf("%.0f trials/s (first trial started to last finished; taskset created to finished %s)",
				rate, wall.Round(time.Millisecond)), how)
		figure(b, "coordination: Redis requests per trial (round trips)", fmt.Sprintf("%.1f (top: %s)",
			perReq, strings.Join(reqList[:min(5, len(reqList))], ", ")), how+", counted with MONITOR on 1000 trials, create to persisted")
		figure(b, "coordination: Redis commands executed per trial", fmt.Sprintf("%.1f (%.1f of them inside Lua scripts; top: %s)",
			executed, float64(inLua)/float64(small), strings.Join(execList[:min(8, len(execList))], ", ")),
			how+", INFO commandstats, create to persisted")
	}
}

// balanceDurations draws n durations from a lognormal distribution (sigma
// 1.2, seeded: a heavy tail, as test suites have), scaled so that they add
// up to total, each at least 50 ms. (A Pareto tail this heavy puts most of
// the work in one spec, and every schedule is then the longest spec.)
func balanceDurations(n int, total time.Duration) []time.Duration {
	rng := rand.New(rand.NewPCG(20260101, 1))
	raw := make([]float64, n)
	sum := 0.0
	for i := range raw {
		raw[i] = math.Exp(1.2 * rng.NormFloat64())
		sum += raw[i]
	}
	out := make([]time.Duration, n)
	for i, r := range raw {
		d := time.Duration(r / sum * float64(total)).Round(10 * time.Millisecond)
		out[i] = max(d, 50*time.Millisecond)
	}
	return out
}

// casesOf writes a spec of d's work as real suites have it: cases of a
// line of work and a body of 20 to 200 bytes each, about one per 100 ms of
// work but with a lognormal spread (sigma 0.5: some files hold few slow
// cases, others many fast ones), so that a file's size grows with its
// work only loosely, as a test file's does. rrr orders a first run by size.
func casesOf(rng *rand.Rand, d time.Duration) string {
	k := max(1, int(math.Round(d.Seconds()/0.1*math.Exp(0.5*rng.NormFloat64()))))
	var sb strings.Builder
	for i := range k {
		fmt.Fprintf(&sb, "sleep %.3f # case %d %s\n", d.Seconds()/float64(k), i, strings.Repeat("x", 20+rng.IntN(181)))
	}
	return sb.String()
}

// spearman is the rank correlation of xs and ys (no ties are expected).
func spearman(xs, ys []float64) float64 {
	rank := func(v []float64) []float64 {
		idx := make([]int, len(v))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(v[a], v[b]) })
		r := make([]float64, len(v))
		for pos, i := range idx {
			r[i] = float64(pos)
		}
		return r
	}
	rx, ry := rank(xs), rank(ys)
	n := float64(len(xs))
	var d2 float64
	for i := range rx {
		d2 += (rx[i] - ry[i]) * (rx[i] - ry[i])
	}
	return 1 - 6*d2/(n*(n*n-1))
}

// staticMakespan is the makespan of assigning durations to slaves by
// assign (which returns the slave of each duration, in the given order).
func staticMakespan(ds []time.Duration, slaves int, assign func(loads []time.Duration, i int) int) time.Duration {
	loads := make([]time.Duration, slaves)
	for i, d := range ds {
		loads[assign(loads, i)] += d
	}
	return slices.Max(loads)
}

func leastLoaded(loads []time.Duration, _ int) int {
	best := 0
	for j, l := range loads {
		if l < loads[best] {
			best = j
		}
	}
	return best
}

// BenchmarkBalance runs a suite of sleeps with heavy-tailed durations on 4
// workers x 4 slaves, twice: the first run knows no durations, the second
// has the estimates the persister stored. It prints each makespan (first
// trial started to last trial finished) against the lower bound
// max(work / slaves, longest spec), beside the makespans of two static
// splits of the same durations: by count (round robin in file order), and
// by timings (longest first into the least loaded slave).
func BenchmarkBalance(b *testing.B) {
	const workers, slavesPer, specs = 4, 4, 200
	const total = 4 * time.Minute
	slaves := workers * slavesPer
	ds := balanceDurations(specs, total)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	longest := slices.Max(ds)
	bound := max(sum/time.Duration(slaves), longest)
	byCount := staticMakespan(ds, slaves, func(_ []time.Duration, i int) int { return i % slaves })
	sorted := slices.Clone(ds)
	slices.SortFunc(sorted, func(a, b time.Duration) int { return int(b - a) })
	byTimings := staticMakespan(sorted, slaves, leastLoaded)

	rng := rand.New(rand.NewPCG(20261203, 2))
	for range b.N {
		f := newFleet(b, fleetOptions{workers: workers, slaves: slavesPer})
		dir := b.TempDir()
		sizes := make([]float64, specs)
		specFiles(b, dir, specs, func(i int) string { return fmt.Sprintf("spec/b%03d.sh", i) },
			func(i int) string {
				body := casesOf(rng, ds[i])
				sizes[i] = float64(len(body))
				return body
			})
		how := fmt.Sprintf("%d specs of sleeping cases, lognormal sigma 1.2, %s in all, longest %s; %d workers x %d slaves",
			specs, sum.Round(time.Second), longest.Round(10*time.Millisecond), workers, slavesPer)
		ratio := func(d time.Duration) string {
			return fmt.Sprintf("%s (%.2fx the bound)", d.Round(10*time.Millisecond), float64(d)/float64(bound))
		}
		figure(b, "balance: lower bound max(work/slaves, longest)", fmt.Sprintf("%s (work/slaves %s, longest %s)",
			bound.Round(10*time.Millisecond), (sum/time.Duration(slaves)).Round(10*time.Millisecond),
			longest.Round(10*time.Millisecond)), how)
		secs := make([]float64, specs)
		for i, d := range ds {
			secs[i] = d.Seconds()
		}
		figure(b, "balance: rank correlation of spec file size and work", fmt.Sprintf("%.2f", spearman(sizes, secs)),
			"Spearman's rho over the 200 specs: how well size stands for work on the first run")
		figure(b, "balance: static split by count (round robin, file order)", ratio(byCount), "computed on the same durations")
		figure(b, "balance: static split by timings (longest first, least loaded)", ratio(byTimings), "computed on the same durations")

		b.ResetTimer()
		for run := 1; run <= 2; run++ {
			p, key := f.start(b, "--wait", "--dir", dir, "--trial-command", "sh {file}", "--format", "exit-code",
				"--rsync-name", "bench", "--taskset-class", "balance", "spec/*.sh")
			require.Equal(b, 0, p.exit(b, 10*time.Minute), p.stderr.String())
			// The second run needs the estimates the persister writes.
			waitFinal(b, f.rdb, key, true, time.Minute)
			s := f.snapshot(b, key)
			estimated := 0
			for _, k := range s.Tasks {
				if k.EstimateSec != nil {
					estimated++
				}
			}
			first, last, trials, work := span(s)
			makespan := last.Sub(first)
			what := "balance: rrr, first run (no estimates)"
			if run == 2 {
				what = "balance: rrr, second run (estimates from the first)"
				require.Equal(b, specs, estimated, "the second run sees the estimates of the first")
			}
			// The machine's noise stretches every spec (16 slaves share 2
			// cores): the bound of the durations this run measured tells
			// the order's part from the machine's.
			own := ownBound(s, slaves)
			b.ReportMetric(float64(makespan)/float64(bound), fmt.Sprintf("makespan/bound-run%d", run))
			b.ReportMetric(float64(makespan)/float64(own), fmt.Sprintf("makespan/own-bound-run%d", run))
			figure(b, what, fmt.Sprintf("%s; %.2fx the bound of its own measured durations (%s); %d trials, measured work %s, wall from create %s",
				ratio(makespan), float64(makespan)/float64(own), own.Round(10*time.Millisecond), trials,
				work.Round(time.Second), s.FinishedAt.Sub(s.CreatedAt.Time).Round(10*time.Millisecond)), how)
		}
		b.StopTimer()
	}
}

// BenchmarkScale creates a taskset of 100,000 spec files on one Redis and
// drains it with a few hundred simulated slaves (goroutines that take,
// start and finish trials through schema.Client, each on its own
// connection) against a real `rrr server`.
func BenchmarkScale(b *testing.B) {
	n := benchEnv(b, "RRR_TEST_BENCH_SPECS", 100000)
	nslaves := benchEnv(b, "RRR_TEST_BENCH_SLAVES", 300)
	for range b.N {
		srv := ownRedis(b, redistest.Options{})
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: nslaves + 10})
		b.Cleanup(func() { _ = rdb.Close() })
		c := schema.NewClient(rdb, "scale")
		ctx := context.Background()
		specs := make([]string, n)
		for i := range specs {
			specs[i] = fmt.Sprintf("spec/models/group%03d/model%06d_spec.rb", i%1000, i)
		}
		mem0 := usedMemory(b, rdb)
		b.ResetTimer()
		start := time.Now()
		key, err := c.CreateTaskset(ctx, "scale", schema.TasksetSpec{TrialCommand: "true {file}", Specs: specs})
		created := time.Since(start)
		require.NoError(b, err)
		mem1 := usedMemory(b, rdb)
		how := fmt.Sprintf("%d spec files, one redis-server, schema.Client.CreateTaskset", n)
		figure(b, fmt.Sprintf("scale: create a taskset of %d spec files", n), created.Round(time.Millisecond).String(), how+" (one Lua script)")
		figure(b, "scale: Redis memory per queued task", fmt.Sprintf("%d bytes", (mem1-mem0)/int64(n)), how+", used_memory delta")
		b.ReportMetric(created.Seconds(), "create-s")

		results := b.TempDir()
		server := spawn(b, build(b), "--redis", srv.URL(), "--namespace", "scale", "server", "--results-dir", results)
		drainStart := time.Now()
		before := commandCalls(b, rdb)
		// The arbiter's backlog: trial results waiting to be settled.
		backlog := make(chan int64, 1)
		sampling, stopSampling := context.WithCancel(ctx)
		go func() {
			var most int64
			for sampling.Err() == nil {
				if n, err := rdb.LLen(sampling, c.Keys.ArbiterQueue()).Result(); err == nil {
					most = max(most, n)
				}
				time.Sleep(100 * time.Millisecond)
			}
			backlog <- most
		}()
		var wg sync.WaitGroup
		var took, dup atomic.Int64
		errs := make(chan error, nslaves)
		for i := range nslaves {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := simulatedSlave(ctx, c, key, i, &took, &dup); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(b, err)
		}
		slavesDone := time.Since(drainStart)
		status := waitFinal(b, rdb, key, false, 10*time.Minute)
		drained := time.Since(drainStart)
		stopSampling()
		after := commandCalls(b, rdb)
		mem2 := usedMemory(b, rdb)
		waitFinal(b, rdb, key, true, 10*time.Minute)
		persisted := time.Since(drainStart)
		require.Eventually(b, func() bool { return rdb.LLen(ctx, c.Keys.ArbiterQueue()).Val() == 0 }, 10*time.Minute,
			20*time.Millisecond, "the arbiter works off its backlog")
		caughtUp := time.Since(drainStart)
		b.StopTimer()
		require.Equal(b, schema.StatusSucceeded, status)
		var cmds int64
		for name, v := range after {
			cmds += v - before[name]
		}

		// Nothing lost: every task passed, exactly once in the counters.
		h, err := rdb.HMGet(ctx, key, schema.FSucceededCount, schema.FFailedCount).Result()
		require.NoError(b, err)
		require.Equal(b, []any{strconv.Itoa(n), "0"}, h)
		require.Zero(b, rdb.LLen(ctx, schema.TasksLeft(key)).Val())
		require.Empty(b, rdb.LRange(ctx, c.Keys.ActiveTaskset(), 0, -1).Val())
		tasks := rdb.LRange(ctx, schema.Tasks(key), 0, -1).Val()
		require.Len(b, tasks, n)
		seen := map[string]bool{}
		for from := 0; from < len(tasks); from += 1000 {
			cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, t := range tasks[from:min(from+1000, len(tasks))] {
					p.HGet(ctx, t, schema.FStatus)
				}
				return nil
			})
			require.NoError(b, err)
			for i, cmd := range cmds {
				require.Equal(b, schema.StatusPassed, cmd.(*redis.StringCmd).Val(), tasks[from+i])
				seen[tasks[from+i]] = true
			}
		}
		require.Len(b, seen, n, "every task once")
		require.NoError(b, server.cmd.Process.Signal(os.Interrupt))
		require.Equal(b, 0, server.exit(b, 30*time.Second))

		// The same number of spec files as a person creates them: `rrr
		// start` expands a glob, uploads the project with rsync and creates
		// the taskset (in a namespace of its own).
		project, remote := b.TempDir(), b.TempDir()
		made := map[string]bool{}
		for _, spec := range specs {
			if d := filepath.Join(project, filepath.Dir(spec)); !made[d] {
				require.NoError(b, os.MkdirAll(d, 0o755))
				made[d] = true
			}
			require.NoError(b, os.WriteFile(filepath.Join(project, spec), nil, 0o644))
		}
		start = time.Now()
		p := spawn(b, build(b), "--redis", srv.URL(), "--namespace", "scale-cli", "start", "--dir", project,
			"--rsync-remote-path", remote, "--trial-command", "true {file}", "spec/**/*_spec.rb")
		require.Equal(b, 0, p.exit(b, 5*time.Minute), p.stderr.String())
		started := time.Since(start)
		require.Equal(b, int64(n), rdb.LLen(ctx, schema.Tasks(strings.TrimSpace(p.stdout.String()))).Val())

		figure(b, fmt.Sprintf("scale: `rrr start` of %d spec files", n), started.Round(time.Millisecond).String(),
			"`rrr start 'spec/**/*_spec.rb'`: glob, rsync upload (local) of the empty files, create")
		trials := took.Load()
		how = fmt.Sprintf("%d spec files, %d simulated slaves (goroutines, own connections), `rrr server`", n, nslaves)
		figure(b, "scale: drain, simulated slaves", fmt.Sprintf("%.0f trials/s (%d trials in %s; the slaves were done after %s, "+
			"the arbiter's queue peaked at %d results, settled meanwhile by its sweeps, and was worked off after %s)",
			float64(trials)/drained.Seconds(), trials, drained.Round(time.Millisecond), slavesDone.Round(time.Millisecond), <-backlog,
			caughtUp.Round(time.Millisecond)), how)
		figure(b, "scale: store the finished taskset", (persisted - drained).Round(time.Millisecond).String(),
			how+", the persister's results store (taskset.json and one output file per trial)")
		figure(b, "scale: Redis commands executed per trial", fmt.Sprintf("%.1f (inside scripts too; create to finished)",
			float64(cmds)/float64(trials)), how+", INFO commandstats")
		figure(b, "scale: Redis memory per task with its trial", fmt.Sprintf("%d bytes", (mem2-mem0)/int64(n)), how+", used_memory delta")
		figure(b, "scale: nothing lost", fmt.Sprintf("%d of %d tasks passed, counted once; tasks_left and active_taskset empty", len(seen), n), how)
		b.ReportMetric(float64(trials)/drained.Seconds(), "trials/s")
	}
}

// simulatedSlave takes tasks of ts and passes each at once, in the two
// round trips of `rrr slave`, until the taskset is over; it counts the
// trials it ran and the tasks it took whose verdict came first from
// another slave.
func simulatedSlave(ctx context.Context, c *schema.Client, ts string, i int, took, dup *atomic.Int64) error {
	slave := schema.Slave(c.Keys.Worker("sim"), strconv.Itoa(i))
	if err := c.RegisterSlave(ctx, ts, slave, time.Hour, nil); err != nil {
		return err
	}
	idle := false
	for n := 0; ; n++ {
		out, taken, err := c.TakeTrial(ctx, ts, slave, fmt.Sprintf("%d-%d", i, n))
		if err != nil {
			return err
		}
		switch out {
		case schema.TakeStopped:
			return nil
		case schema.TakeAgain:
			dup.Add(1)
			continue
		case schema.TakeOK:
			idle = false
			if _, err := c.FinishAndSettle(ctx, ts, taken.Task, taken.Trial, slave, "", 1<<20, schema.Result{
				Status: schema.StatusPassed, Passed: 1, Fields: map[string]string{schema.FStdout: "1 example, 0 failures\n"}}); err != nil {
				return err
			}
			took.Add(1)
			continue
		}
		if !idle {
			idle = true
			if err := c.SendCommand(ctx, schema.Command{Verb: schema.CmdCheck, Key: ts}); err != nil {
				return err
			}
		}
		status, err := c.Field(ctx, ts, schema.FStatus)
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		if schema.IsFinal(status) {
			return nil
		}
		time.Sleep(100 * time.Millisecond) // an idle slave's wait, as a real one polls
	}
}
