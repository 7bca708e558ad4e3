package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/web"
	"github.com/rrr-dev/rrr/schema"
)

// scrape reads /metrics into "name{labels}" -> value.
func scrape(t *testing.T, f *fx) map[string]float64 {
	t.Helper()
	code, body := f.get("/metrics")
	require.Equal(t, http.StatusOK, code, body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err, body)
	out := map[string]float64{}
	for name, fam := range fams {
		for _, m := range fam.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			key := name + "{" + strings.Join(ls, ",") + "}"
			switch {
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	f := newFx(t, web.Config{AutoscaleTarget: 10 * time.Second}, "a_spec.sh", "b_spec.sh", "c_spec.sh", "d_spec.sh")
	ctx := context.Background()
	rdb := f.rdb
	require.NoError(t, rdb.HSet(ctx, f.sc.Keys.Estimate("default"), "c_spec.sh", "30", "d_spec.sh", "10").Err())
	w := f.sc.Keys.Worker("w1")
	_, err := f.sc.RegisterWorker(ctx, w, 10*time.Second, map[string]string{schema.FWorkerType: "default", schema.FSlaves: "2"})
	require.NoError(t, err)
	require.NoError(t, rdb.HSet(ctx, w, schema.FTaskset, f.key).Err())
	s1, s2 := schema.Slave(w, "1"), schema.Slave(w, "2")
	for _, s := range []string{s1, s2} {
		require.NoError(t, f.sc.RegisterSlave(ctx, f.key, s, 10*time.Second, nil))
	}
	f.run(s1, schema.StatusPassed, "")
	f.run(s1, schema.StatusFailed, "")

	m := scrape(t, f)
	require.Equal(t, 1.0, m["rrr_redis_up{}"])
	require.Equal(t, 1.0, m["rrr_tasksets{status=running}"])
	require.Equal(t, 0.0, m["rrr_tasksets{status=succeeded}"])
	require.Equal(t, 2.0, m["rrr_taskset_queued_tasks{taskset="+f.id+",worker_type=default}"])
	require.Equal(t, 2.0, m["rrr_taskset_tasks_left{taskset="+f.id+",worker_type=default}"])
	require.Equal(t, 2.0, m["rrr_queued_tasks{worker_type=default}"])
	require.Equal(t, 40.0, m["rrr_work_left_seconds{worker_type=default}"])
	// 40 s of work in 10 s wants 4 slaves, 2 tasks left cap it at 2: one worker of 2 slaves
	require.Equal(t, 1.0, m["rrr_desired_workers{worker_type=default}"])
	require.Equal(t, 1.0, m["rrr_workers{worker_type=default}"])
	require.Equal(t, 1.0, m["rrr_trials_total{status=passed}"])
	require.Equal(t, 1.0, m["rrr_trials_total{status=failed}"])
	require.Equal(t, 2.0, m["rrr_slaves{state=idle,worker_type=default}"])

	// a running trial on s2, then recovered as error: counted once, as recovery
	_, task, err := f.sc.TakeTask(ctx, f.key, s2)
	require.NoError(t, err)
	_, trial, _, err := f.sc.StartTrial(ctx, f.key, task, "1", s2)
	require.NoError(t, err)
	m = scrape(t, f)
	require.Equal(t, 1.0, m["rrr_slaves{state=busy,worker_type=default}"])
	require.Equal(t, 0.0, m["rrr_recovered_trials_total{}"])
	_, err = f.sc.FinishTrial(ctx, trial, schema.Result{Status: schema.StatusError,
		Fields: map[string]string{schema.FError: "slave " + s2 + " lost: heartbeat expired"}})
	require.NoError(t, err)
	_, _, err = f.sc.SettleTask(ctx, task)
	require.NoError(t, err)
	m = scrape(t, f)
	require.Equal(t, 1.0, m["rrr_recovered_trials_total{}"])
	require.Equal(t, 1.0, m["rrr_trials_total{status=error}"])
	m = scrape(t, f)
	require.Equal(t, 1.0, m["rrr_trials_total{status=error}"], "a trial is counted once")
	require.Equal(t, 1.0, m["rrr_trials_total{status=passed}"])

	f.mr.Close()
	m = scrape(t, f)
	require.Equal(t, 0.0, m["rrr_redis_up{}"], "Redis down is a metric, not a failed scrape")
}

// The settle latency is timed from the settled events.
func TestMetricsSettleLatency(t *testing.T) {
	f := newFx(t, web.Config{}, "a_spec.sh", "b_spec.sh")
	m := scrape(t, f) // starts the subscriber
	require.Equal(t, 0.0, m["rrr_settle_latency_seconds{}"])
	require.Eventually(t, func() bool {
		n, _ := f.rdb.PubSubNumPat(context.Background()).Result()
		return n == 1
	}, 5*time.Second, 10*time.Millisecond)
	f.run("rrrspec:worker:w1:slave:1", schema.StatusPassed, "")
	require.Eventually(t, func() bool { return scrape(t, f)["rrr_settle_latency_seconds{}"] == 1 }, 5*time.Second, 20*time.Millisecond)
}
