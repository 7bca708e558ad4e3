package web

import (
	"context"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rrr-dev/rrr/schema"
)

// The metrics are read from Redis on each scrape (a custom Collector), at a
// cost bounded by what is active: the active tasksets' hashes and queue
// lengths, the trials that are new or still running since the last scrape
// (each slave's trial list is read from where the last scrape stopped), a
// sample of at most estimateSample left tasks per taskset for the
// estimates, and the live workers. Finished trials are counted once.
//
// Settle latency (trial finished_at to the task's verdict) has no field in
// Redis: a subscriber to every taskset's events channel times each
// `settled` event on the Redis clock against the task's last finished
// trial.

// estimateSample bounds the left tasks whose estimates one scrape reads.
const estimateSample = 10000

// defaultWork is the estimate of a spec when the taskset has none known.
const defaultWork = 60 * time.Second

var (
	descUp        = prometheus.NewDesc("rrr_redis_up", "1 when this scrape could read Redis, else 0.", nil, nil)
	descTasksets  = prometheus.NewDesc("rrr_tasksets", "Active tasksets by status (waiting: not dispatched yet).", []string{"status"}, nil)
	descQueued    = prometheus.NewDesc("rrr_taskset_queued_tasks", "Tasks waiting in a taskset's queue.", []string{"taskset", "worker_type"}, nil)
	descLeft      = prometheus.NewDesc("rrr_taskset_tasks_left", "Tasks of a taskset without a verdict (queued or running).", []string{"taskset", "worker_type"}, nil)
	descQueuedAll = prometheus.NewDesc("rrr_queued_tasks", "Tasks waiting in the queues of active tasksets, per worker type.", []string{"worker_type"}, nil)
	descWorkLeft  = prometheus.NewDesc("rrr_work_left_seconds", "Estimated work of the tasks left, per worker type (unknown estimates count as the mean of the known ones, or 60 s).", []string{"worker_type"}, nil)
	descDesired   = prometheus.NewDesc("rrr_desired_workers", "Workers needed to finish the work left within the autoscale target (capped by max_workers and tasks left); the figure an autoscaler should follow.", []string{"worker_type"}, nil)
	descWorkers   = prometheus.NewDesc("rrr_workers", "Live workers (heartbeat present).", []string{"worker_type"}, nil)
	descSlaves    = prometheus.NewDesc("rrr_slaves", "Live slaves of live workers, busy (a trial running) or idle.", []string{"worker_type", "state"}, nil)
	descTrials    = prometheus.NewDesc("rrr_trials_total", "Trials of active tasksets seen finished since this process started, by status (rate() gives trials per second).", []string{"status"}, nil)
	descRecovered = prometheus.NewDesc("rrr_recovered_trials_total", "Trials recorded as error by recovery (their slave or worker was lost), seen since this process started.", nil, nil)
)

// tasksetTrials is what the collector remembers of one active taskset.
type tasksetTrials struct {
	offsets map[string]int64 // slave trial list -> entries read
	running map[string]bool  // trial keys seen without a status
}

type collector struct {
	s       *Server
	settle  prometheus.Histogram
	mu      sync.Mutex // one scrape at a time
	seen    map[string]*tasksetTrials
	trials  map[string]float64
	recover float64
}

func (s *Server) metricsHandler() http.Handler {
	c := &collector{s: s, seen: map[string]*tasksetTrials{}, trials: map[string]float64{},
		settle: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rrr_settle_latency_seconds",
			Help:    "Time from a task's last finished trial (finished_at) to its verdict (the settled event), on the Redis clock.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, c.settle)
	go c.watchSettles(s.ctx)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Describe sends the descriptions of every metric.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descTasksets, descQueued, descLeft, descQueuedAll, descWorkLeft, descDesired,
		descWorkers, descSlaves, descTrials, descRecovered} {
		ch <- d
	}
}

// Collect reads Redis; a failure gives rrr_redis_up 0 and the counters.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.s.ctx, 10*time.Second)
	defer cancel()
	err := c.collect(ctx, ch)
	up := 1.0
	if err != nil {
		up = 0
		c.s.log.Warn().Err(err).Msg("metrics: cannot read Redis")
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
	for st, n := range c.trials {
		ch <- prometheus.MustNewConstMetric(descTrials, prometheus.CounterValue, n, st)
	}
	ch <- prometheus.MustNewConstMetric(descRecovered, prometheus.CounterValue, c.recover)
}

func (c *collector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	keys, err := c.s.cl.Reader.Active(ctx)
	if err != nil {
		return err
	}
	fleet, err := c.s.fleet(ctx)
	if err != nil {
		return err
	}
	perWorker := map[string][2]int{} // worker type -> live workers, their slaves
	busy, idle := map[string]int{}, map[string]int{}
	for _, w := range fleet.Workers {
		p := perWorker[w.WorkerType]
		perWorker[w.WorkerType] = [2]int{p[0] + 1, p[1] + max(1, w.Worker.Slaves)}
		for _, sl := range w.Slaves {
			if sl.Busy {
				busy[w.WorkerType]++
			} else {
				idle[w.WorkerType]++
			}
		}
	}

	byStatus := map[string]float64{}
	for _, st := range statuses {
		byStatus[st] = 0
	}
	queuedAll, workLeft, desired := map[string]float64{}, map[string]float64{}, map[string]float64{}
	active := map[string]bool{}
	for _, k := range keys {
		ts, err := c.s.cl.Reader.Taskset(ctx, k)
		if err != nil {
			continue // malformed: the arbiter logs it
		}
		active[k] = true
		byStatus[orWord(ts.Status, "waiting")]++
		pr, err := c.s.sc.ProgressOf(ctx, k, estimateSample)
		if err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(pr.Queued), ts.ID, ts.WorkerType)
		ch <- prometheus.MustNewConstMetric(descLeft, prometheus.GaugeValue, float64(pr.Left), ts.ID, ts.WorkerType)
		queuedAll[ts.WorkerType] += float64(pr.Queued)

		work, err := c.workLeft(ctx, ts.TasksetClass, pr.LeftSample, pr.Left)
		if err != nil {
			return err
		}
		workLeft[ts.WorkerType] += work.Seconds()
		slavesPer := 1.0
		if p := perWorker[ts.WorkerType]; p[0] > 0 {
			slavesPer = float64(p[1]) / float64(p[0])
		}
		n := math.Ceil(math.Min(work.Seconds()/c.s.cfg.AutoscaleTarget.Seconds(), float64(pr.Left)) / slavesPer)
		if ts.MaxWorkers > 0 {
			n = math.Min(n, float64(ts.MaxWorkers))
		}
		desired[ts.WorkerType] += n

		if err := c.countTrials(ctx, k); err != nil {
			return err
		}
	}
	for k := range c.seen {
		if !active[k] {
			delete(c.seen, k)
		}
	}
	for st, n := range byStatus {
		ch <- prometheus.MustNewConstMetric(descTasksets, prometheus.GaugeValue, n, st)
	}
	types := map[string]bool{}
	for _, m := range []map[string]float64{queuedAll, desired} {
		for t := range m {
			types[t] = true
		}
	}
	for t := range perWorker {
		types[t] = true
	}
	for t := range types {
		ch <- prometheus.MustNewConstMetric(descQueuedAll, prometheus.GaugeValue, queuedAll[t], t)
		ch <- prometheus.MustNewConstMetric(descWorkLeft, prometheus.GaugeValue, workLeft[t], t)
		ch <- prometheus.MustNewConstMetric(descDesired, prometheus.GaugeValue, desired[t], t)
		ch <- prometheus.MustNewConstMetric(descWorkers, prometheus.GaugeValue, float64(perWorker[t][0]), t)
		ch <- prometheus.MustNewConstMetric(descSlaves, prometheus.GaugeValue, float64(busy[t]), t, "busy")
		ch <- prometheus.MustNewConstMetric(descSlaves, prometheus.GaugeValue, float64(idle[t]), t, "idle")
	}
	return nil
}

// workLeft estimates the work of n left tasks from a sample of them.
func (c *collector) workLeft(ctx context.Context, class string, sample []string, n int64) (time.Duration, error) {
	if len(sample) == 0 {
		return 0, nil
	}
	specs := make([]string, len(sample))
	for i, t := range sample {
		specs[i] = specOfTask(t)
	}
	est, err := c.s.sc.Estimates(ctx, class, specs)
	if err != nil {
		return 0, err
	}
	var known float64
	nKnown := 0
	for _, e := range est {
		if e != nil {
			known += *e
			nKnown++
		}
	}
	mean := defaultWork.Seconds()
	if nKnown > 0 {
		mean = known / float64(nKnown)
	}
	total := known + mean*float64(len(sample)-nKnown)
	total *= float64(n) / float64(len(sample))
	return time.Duration(total * float64(time.Second)), nil
}

// countTrials reads the trials of taskset k that are new since the last
// scrape or were running then, and counts those that finished.
func (c *collector) countTrials(ctx context.Context, k string) error {
	tt := c.seen[k]
	if tt == nil {
		tt = &tasksetTrials{offsets: map[string]int64{}, running: map[string]bool{}}
		c.seen[k] = tt
	}
	slaves, err := c.s.sc.List(ctx, schema.TasksetSlaves(k))
	if err != nil {
		return err
	}
	from := make([]int64, len(slaves))
	for i, sl := range slaves {
		from[i] = tt.offsets[sl]
	}
	lists, err := c.s.sc.SlaveTrialsSince(ctx, slaves, from)
	if err != nil {
		return err
	}
	prefix := k + ":task:"
	for i, sl := range slaves {
		for _, tr := range lists[i] {
			if strings.HasPrefix(tr, prefix) {
				tt.running[tr] = true
			}
		}
		tt.offsets[sl] += int64(len(lists[i]))
	}
	trials := make([]string, 0, len(tt.running))
	for tr := range tt.running {
		trials = append(trials, tr)
	}
	res, err := c.s.sc.HashFields(ctx, trials, schema.FStatus, schema.FError, schema.FExitCode)
	if err != nil {
		return err
	}
	for i, tr := range trials {
		st := res[i][schema.FStatus]
		if st == "" {
			continue
		}
		delete(tt.running, tr)
		c.trials[st]++
		msg := res[i][schema.FError]
		if _, exited := res[i][schema.FExitCode]; st == schema.StatusError && !exited && isRecovery(msg) {
			c.recover++
		}
	}
	return nil
}

// isRecovery tells a trial recorded as error by recovery (the arbiter, or
// a worker whose slave died: arbiter/check.go, worker/supervise.go) from a
// trial that could not run.
func isRecovery(msg string) bool {
	return strings.HasPrefix(msg, "slave ") || strings.Contains(msg, "names no slave")
}

// watchSettles times every task verdict announced on an events channel.
func (c *collector) watchSettles(ctx context.Context) {
	sub := c.s.sc.SubscribeAllEvents(ctx)
	defer sub.Close()
	for msg := range sub.Channel() {
		ev := schema.ParseEvent(msg.Payload)
		if ev.Kind != schema.EventSettled || len(ev.Args) < 1 {
			continue
		}
		now, err := c.s.sc.Now(ctx)
		if err != nil {
			continue
		}
		if last, err := lastFinished(ctx, c.s.sc, ev.Args[0]); err == nil && !last.IsZero() {
			c.settle.Observe(max(0, now.Sub(last)).Seconds())
		}
	}
}

// lastFinished is the latest finished_at of a task's trials.
func lastFinished(ctx context.Context, sc *schema.Client, task string) (time.Time, error) {
	trials, err := sc.ListFrom(ctx, schema.TaskTrials(task), -5)
	if err != nil {
		return time.Time{}, err
	}
	hs, err := sc.HashFields(ctx, trials, schema.FFinishedAt)
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, h := range hs {
		if t, err := schema.ParseTime(h[schema.FFinishedAt]); err == nil && t.After(last) {
			last = t
		}
	}
	return last, nil
}
