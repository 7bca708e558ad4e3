package main

// Randomized fault runs (scripts/chaos.sh): each run starts a real fleet
// (redis-server with an append-only file, `rrr server` or, in half the
// runs, the dispatcher, two arbiters and the persister as processes of
// their own; 3 workers), runs a
// generated suite of passing, failing, flaky, slow and hanging specs, and
// injects 1-3 faults drawn from a seeded generator at random moments. The
// checker of TestFault (checkFault) judges each run. A run logs its seed
// and faults ("CHAOS ..."); a failing one is replayed with
//
//	RRR_TEST_CHAOS_SEED=<seed> RRR_TEST_CHAOS_RUNS=1 go test -count=1 -run TestChaos -v ./cmd/rrr

import (
	"context"

	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/schema"
)

// chaosKinds are the faults a run draws from, by name (the names of the
// report of scripts/chaos.sh).
var chaosKinds = []string{"slave", "trial", "worker", "server", "redis", "worker-pause", "redis-pause", "cancel", "arbiter", "persister"}

const chaosTTL = 3 * time.Second // the workers' --heartbeat-ttl

func chaosEnv(t *testing.T, name string, def int64) int64 {
	t.Helper()
	env := os.Getenv(name)
	if env == "" {
		return def
	}
	n, err := strconv.ParseInt(env, 10, 64)
	require.NoError(t, err, "%s=%q: want a number", name, env)
	require.Positive(t, n, name)
	return n
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("randomized fault runs end to end: not with -short")
	}
	runs := chaosEnv(t, "RRR_TEST_CHAOS_RUNS", 2)
	// The test command's short version replays fixed seeds, so that CI is
	// repeatable; scripts/chaos.sh draws a new one each time.
	base := chaosEnv(t, "RRR_TEST_CHAOS_SEED", 882208)
	for i := range runs {
		seed := base + i
		t.Run("seed="+strconv.FormatInt(seed, 10), func(t *testing.T) {
			t.Parallel()
			chaosRun(t, seed)
		})
	}
}

func chaosRun(t *testing.T, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	var kinds []string
	for range 1 + rng.IntN(3) {
		kinds = append(kinds, chaosKinds[rng.IntN(len(chaosKinds))])
	}
	at := make([]float64, len(kinds)) // the part of the tasks done when each fault hits
	for i := range at {
		at[i] = 0.05 + 0.8*rng.Float64()
	}
	slicesSort(at)
	// Half the runs have the server's loops as processes of their own,
	// with two arbiters: "server" then kills one of them (an arbiter, the
	// persister or the dispatcher).
	loops := rng.IntN(2) == 1
	mode := "server"
	if loops {
		mode = "loops"
	}
	t.Logf("CHAOS seed=%d mode=%s faults=%s", seed, mode, strings.Join(kinds, ","))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("CHAOS FAILED seed=%d faults=%s; replay: RRR_TEST_CHAOS_SEED=%d RRR_TEST_CHAOS_RUNS=1 go test -count=1 -run TestChaos -v ./cmd/rrr",
				seed, strings.Join(kinds, ","), seed)
		}
	})

	s := genFaultSuite(t, 120, true)
	f := newFleet(t, fleetOptions{workers: 3, slaves: 2, appendOnly: true, loops: loops,
		serverArgs: []string{"--interval", "500ms", "--sweep-interval", "1s"},
		workerArgs: []string{"--heartbeat-ttl", chaosTTL.String(), "--heartbeat-interval", "500ms", "--stop-grace", "3s"}})
	started := time.Now()
	run, key := f.start(t, "--wait", "--dir", s.dir, "--trial-command", "sh {file}", "--format", "exit-code",
		"--rsync-name", "chaos", "--max-trials", "5", "--unknown-spec-timeout", "3s", "specs/*.sh")
	cancelled := false
	for i, kind := range kinds {
		if cancelled {
			// A cancelled taskset gives no more verdicts to wait for.
			t.Logf("CHAOS fault %s: the taskset was cancelled before it", kind)
			continue
		}
		f.waitDone(t, key, at[i])
		if run.exited() {
			t.Logf("CHAOS fault %s: the taskset had ended", kind)
			continue
		}
		if chaosFault(t, f, rng, key, kind) {
			cancelled = true
		}
	}
	require.NotEqual(t, -1, run.exit(t, 3*time.Minute))
	want := wantClean
	status, _ := f.rdb.HGet(context.Background(), key, schema.FStatus).Result()
	if cancelled && status == schema.StatusCancelled {
		// The cancel may come after the taskset finished by itself; then
		// it is a clean run.
		want = wantCancelled
	}
	f.checkFault(t, run, key, s, want)
	t.Logf("CHAOS ok seed=%d faults=%s status=%s in %s", seed, strings.Join(kinds, ","), status,
		time.Since(started).Round(time.Millisecond))
}

func slicesSort(a []float64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// chaosFault injects one fault of kind; it reports whether it was a cancel.
func chaosFault(t *testing.T, f *fleet, rng *rand.Rand, key, kind string) bool {
	t.Helper()
	w := rng.IntN(len(f.workers))
	switch kind {
	case "slave", "trial":
		// A slave of any worker that runs a trial, or that trial.
		_, trial := f.running(t, key, nil, 0, 1, 2)
		pid := 0
		for _, sl := range f.snapshot(t, key).Slaves {
			if sl.Key == trial.Slave {
				pid = sl.Pid
			}
		}
		require.Positive(t, pid, "the pid of slave %s", trial.Slave)
		if kind == "trial" {
			for p := range f.descendants(pid) {
				pid = p
				break
			}
		}
		_ = syscall.Kill(pid, syscall.SIGKILL) // it may have ended meanwhile
	case "worker":
		chaosRestart(t, rng, f.workers[w], func() { f.restartWorker(t, w) })
	case "server", "arbiter", "persister":
		// With separate loops: one of them ("server": any; else one of
		// that name). In rrr server every loop dies with the server.
		if f.loopArgs == nil {
			kind = "server"
			chaosRestart(t, rng, f.server, func() { f.startServer(t) })
			break
		}
		var pick []int
		for i, name := range f.loopNames {
			if kind == "server" || name == kind {
				pick = append(pick, i)
			}
		}
		i := pick[rng.IntN(len(pick))]
		kind = f.loopNames[i]
		chaosRestart(t, rng, f.loops[i], func() { f.restartLoop(t, i) })
	case "redis":
		f.redis.Kill()
		time.Sleep(time.Duration(200+rng.IntN(2000)) * time.Millisecond)
		require.NoError(t, f.redis.Restart())
	case "worker-pause", "redis-pause":
		pid := f.workers[w].pid()
		if kind == "redis-pause" {
			pid = f.redis.Pid()
		}
		require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
		time.Sleep(chaosTTL + time.Duration(500+rng.IntN(2000))*time.Millisecond)
		require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	case "cancel":
		p := spawnEnv(t, f.env, f.bin, append(append([]string{}, f.global...), "cancel", key)...)
		require.Equal(t, 0, p.exit(t, 30*time.Second), p.stderr.String())
		return true
	default:
		t.Fatalf("no fault %q", kind)
	}
	t.Logf("CHAOS fault %s injected", kind)
	return false
}

// chaosRestart kills p's process group (unless it ended by itself), waits
// 0-2 s, and starts it again.
func chaosRestart(t *testing.T, rng *rand.Rand, p *proc, start func()) {
	t.Helper()
	if !p.exited() {
		p.killGroup(t)
	}
	time.Sleep(time.Duration(rng.IntN(2000)) * time.Millisecond)
	start()
}
