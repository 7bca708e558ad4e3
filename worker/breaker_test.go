package worker_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
	"github.com/rrr-dev/rrr/worker"
)

func TestFastLimit(t *testing.T) {
	sec := func(n int) *int { return &n }
	require.Equal(t, worker.BreakerFloor, worker.FastLimit(nil), "no estimate: the floor")
	require.Equal(t, worker.BreakerFloor, worker.FastLimit(sec(0)))
	require.Equal(t, 3*time.Second, worker.FastLimit(sec(30)), "a tenth of the estimate")
	require.Equal(t, 100*time.Millisecond, worker.FastLimit(sec(1)))
}

// The breaker travels to the slaves with the other timings; 0 is off.
func TestSlaveConfigCarriesTheBreaker(t *testing.T) {
	c := worker.SlaveConfig{Taskset: "ts", Worker: "w", Slave: "s", Number: 1, NumSlaves: 1,
		WorkingCopy: "/wc", OutputDir: "/out", Breaker: 7}
	env := map[string]string{}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	got, err := worker.SlaveConfigFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, 7, got.Breaker)
}

// A bad box (its trials fail at once) beside a healthy one: the bad
// worker's breaker trips, it stops its slaves and leaves the taskset,
// marked unhealthy, and its failures do not count: every spec passes on
// the healthy worker, none is flaky. The healthy worker's trials take
// their time, so its breaker never counts.
func TestBreakerTakesABadBoxOutOfTheTaskset(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		specs := []string{}
		files := map[string]string{}
		for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			specs = append(specs, "spec/"+n+".sh")
			// The healthy box waits until the test saw the breaker trip,
			// so that the bad one gets trials to fail whatever the load.
			files["spec/"+n+".sh"] = `[ -n "$BAD_BOX" ] && { echo "bad box" >&2; exit 1; }
i=0; while [ ! -e ` + e.path("tripped") + ` ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done`
		}
		e.write(t, files)
		good := e.startWorker(t, func(c *worker.Config) { c.Slaves = 1; c.Breaker = 3 })
		bad := e.startWorker(t, func(c *worker.Config) {
			c.Breaker = 3
			c.WorkingDir = e.path("work-bad") // two workers never share working copies
			c.SlaveEnv = append(c.SlaveEnv, "BAD_BOX=1")
		})
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", ResultFormat: schema.FormatExitCode, Specs: specs})
		e.dispatch(t, ts, good)
		e.dispatch(t, ts, bad)
		require.Eventually(t, func() bool { return e.hget(t, schema.WorkerLog(ts, bad.key), schema.FBreakerTrippedAt) != "" },
			wait, 20*time.Millisecond, "the bad worker's breaker trips")
		require.NoError(t, os.WriteFile(e.path("tripped"), nil, 0o644))
		require.Equal(t, schema.StatusSucceeded, e.waitStatus(t, ts))

		s := e.load(t, ts)
		discounted := 0
		for _, k := range s.Tasks {
			require.Equal(t, schema.StatusPassed, k.Status, k.Key)
			require.False(t, model.IsFlaky(k), "%s: a discounted failure is no flakiness", k.Key)
			for _, tr := range k.Trials {
				if tr.Status == schema.StatusPassed {
					require.Contains(t, tr.Slave, good.key+":", "%s passed on the healthy worker", k.Key)
					continue
				}
				require.Contains(t, tr.Slave, bad.key+":", "%s: only the bad box fails", k.Key)
				if tr.Discounted != "" {
					discounted++
				}
			}
		}
		require.GreaterOrEqual(t, discounted, 3, "the run that tripped the breaker is discounted")
		require.Equal(t, 0, s.FailedCount)

		require.NotEmpty(t, e.hget(t, bad.key, schema.FUnhealthy), "the bad worker is marked unhealthy")
		require.NotEmpty(t, e.hget(t, bad.key, schema.FUnhealthyAt))
		require.Empty(t, e.hget(t, good.key, schema.FUnhealthy))
		require.Eventually(t, func() bool { return e.hget(t, bad.key, schema.FTaskset) == "" }, wait, 20*time.Millisecond,
			"the bad worker released the taskset")
		wl := schema.WorkerLog(ts, bad.key)
		require.NotEmpty(t, e.hget(t, wl, schema.FBreakerTrippedAt))
		require.Contains(t, e.hget(t, wl, schema.FBreakerReason), "its last 3 trials failed")
		log, err := e.b.RDB.Get(bg, schema.WorkerLogText(wl)).Result()
		require.NoError(t, err)
		require.Contains(t, log, "circuit breaker")
		require.Empty(t, e.hget(t, schema.WorkerLog(ts, good.key), schema.FBreakerTrippedAt))
	})
}

// rrr worker fills and checks its configuration before New does it again:
// "off" must stay off, not become the default (--max-slave-crashes 0 was
// the default again); the breaker is off unless asked for.
func TestDefaultsTwiceKeepOff(t *testing.T) {
	c := worker.Config{WorkingDir: t.TempDir(), RedisURL: "redis://x", SlaveCommand: []string{"x"},
		FailOnFirstSlaveCrash: true}.WithDefaults().WithDefaults()
	require.NoError(t, c.Validate())
	require.Zero(t, c.Breaker, "off by default")
	require.Zero(t, c.MaxSlaveCrashes)
	d := worker.Config{WorkingDir: t.TempDir(), RedisURL: "redis://x", SlaveCommand: []string{"x"}, Breaker: 4}.WithDefaults()
	require.NoError(t, d.Validate())
	require.Equal(t, 4, d.Breaker)
	require.Equal(t, worker.DefaultMaxSlaveCrashes, d.MaxSlaveCrashes)
	bad := worker.Config{WorkingDir: t.TempDir(), RedisURL: "redis://x", SlaveCommand: []string{"x"}, Breaker: -1}.WithDefaults()
	require.ErrorIs(t, bad.Validate(), worker.ErrConfig)
}
