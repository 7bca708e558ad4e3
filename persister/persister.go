package persister

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/format"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/partition"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

// DefaultKeep is how long a persisted taskset stays in Redis.
const DefaultKeep = 24 * time.Hour

// DefaultSettleWait bounds the wait for trials still running when their
// taskset ended: a worker stops its slaves within a second and SIGKILLs
// them after its stop grace (10 s), and a dead slave's heartbeat expires
// within 10 s.
const DefaultSettleWait = 20 * time.Second

// Config tunes a persister; zero values take the defaults.
type Config struct {
	// ResultsDir is the results store; it is created when missing.
	ResultsDir string
	// Keep is how long the Redis keys of a persisted taskset live on, for
	// `rrr show` and the dashboard, before they expire.
	Keep time.Duration
	// ConsumerID names this persister on the persister queue (default
	// host-pid-random).
	ConsumerID string
	// SettleWait is how long a finished taskset waits, before it is
	// stored, for the trials still running when it ended (speculative
	// copies, trials of slaves being stopped) to be recorded by their
	// slaves. A trial whose slave's heartbeat is gone is recorded as error
	// at once, and so is one still running after the wait. Default
	// DefaultSettleWait; SettlePoll (200 ms) is how often it looks.
	SettleWait, SettlePoll time.Duration
	// Queue tunes the reliable queue consumer.
	Queue loopx.ConsumerConfig
	// BackoffMin, BackoffMax bound the wait after a transient failure;
	// LogInterval is how often a repeating failure is logged.
	BackoffMin, BackoffMax, LogInterval time.Duration
}

// Deps are what a persister works with.
type Deps struct {
	Client *schema.Client
	Log    zerolog.Logger
	Now    func() time.Time // default time.Now
}

// Persister stores finished tasksets; see the package documentation.
type Persister struct {
	cfg    Config
	c      *schema.Client
	rdb    redis.UniversalClient
	reader *model.Reader
	log    zerolog.Logger
	runner *loopx.Consumer
	now    func() time.Time
	// stopping ends the wait for running trials when Run's context ends.
	stopping <-chan struct{}
}

// New validates cfg, makes sure the results store is writable, and returns
// a persister.
func New(cfg Config, deps Deps) (*Persister, error) {
	if deps.Client == nil {
		return nil, errors.New("persister: a schema client is required")
	}
	if cfg.ResultsDir == "" {
		return nil, errors.New("persister: a results directory is required (--results-dir)")
	}
	if cfg.Keep == 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Keep < time.Second {
		return nil, fmt.Errorf("persister: keep %s: must be at least 1s", cfg.Keep)
	}
	if cfg.ConsumerID == "" {
		cfg.ConsumerID = loopx.ConsumerID()
	}
	if cfg.LogInterval == 0 {
		cfg.LogInterval = loopx.DefaultLogInterval
	}
	if cfg.SettleWait == 0 {
		cfg.SettleWait = DefaultSettleWait
	}
	if cfg.SettlePoll == 0 {
		cfg.SettlePoll = 200 * time.Millisecond
	}
	if cfg.SettleWait < 0 || cfg.SettlePoll < 0 {
		return nil, fmt.Errorf("persister: settle wait %s and poll %s must not be negative", cfg.SettleWait, cfg.SettlePoll)
	}
	cfg.Queue = cfg.Queue.WithDefaults()
	cfg.Queue.TickInterval = 0
	if err := cfg.Queue.Validate(); err != nil {
		return nil, fmt.Errorf("persister: %w", err)
	}
	if err := checkWritable(cfg.ResultsDir); err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	log := deps.Log.With().Str("component", "persister").Logger()
	p := &Persister{cfg: cfg, c: deps.Client, rdb: deps.Client.Redis(),
		reader: model.NewReader(deps.Client.Redis(), deps.Client.Keys), log: log, now: deps.Now}
	p.runner = &loopx.Consumer{
		Queue:  deps.Client.Queue(deps.Client.Keys.PersisterQueue(), cfg.ConsumerID),
		Config: cfg.Queue, Handle: p.Persist, Log: log, Now: deps.Now,
		Health: loopx.NewHealth(log, cfg.BackoffMin, cfg.BackoffMax, cfg.LogInterval, deps.Now),
	}
	return p, nil
}

func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("persister: results directory %s: %w (create it, or choose another with --results-dir)", dir, err)
	}
	f, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return fmt.Errorf("persister: results directory %s is not writable: %w (fix its permissions, or choose another with --results-dir)", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Run persists finished tasksets until ctx is cancelled, then finishes the
// one in hand, hands back what it holds and returns nil.
func (p *Persister) Run(ctx context.Context) error {
	dir, _ := filepath.Abs(p.cfg.ResultsDir)
	p.log.Info().Str("queue", p.c.Keys.PersisterQueue()).Str("results_dir", dir).Stringer("keep", p.cfg.Keep).
		Msg("persister started")
	p.stopping = ctx.Done()
	err := p.runner.Run(ctx)
	p.log.Info().Msg("persister stopped")
	return err
}

// Persist stores finished taskset ts, records its durations and sets the
// expiry of its keys. It is idempotent. An error for which loopx.Permanent
// is true means ts cannot be persisted (no such taskset, a malformed hash).
func (p *Persister) Persist(ctx context.Context, ts string) error {
	id, ok := p.c.Keys.TasksetID(ts)
	if !ok {
		return fmt.Errorf("persist %q: %w: not a taskset key of namespace %s", ts, loopx.ErrBadInput, p.c.Keys.Namespace())
	}
	snap, err := p.reader.Load(ctx, ts, model.LoadOptions{Output: true, Logs: true})
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	if !schema.IsFinal(snap.Status) && snap.Unreadable != nil {
		// Left to the arbiter, which fails it (arbiter/check.go) and pushes it again.
		return fmt.Errorf("persist: %w", snap.Unreadable)
	}
	if !schema.IsFinal(snap.Status) {
		// Only a finished taskset is pushed; a stray key must not block the queue.
		p.log.Warn().Str("taskset", ts).Str("status", snap.Status).Msg("skipping a taskset that has not finished")
		return nil
	}
	closed, err := p.settleTrials(ctx, ts, snap)
	if err != nil {
		return err
	}
	if closed {
		if snap, err = p.reader.Load(ctx, ts, model.LoadOptions{Output: true, Logs: true}); err != nil {
			return fmt.Errorf("persist: %w", err)
		}
	}
	if len(snap.Problems) > 0 {
		p.log.Warn().Str("taskset", ts).Strs("problems", snap.Problems).Msg("persisting without objects that do not decode")
	}
	if err := store.Write(p.cfg.ResultsDir, snap); err != nil {
		if errors.Is(err, store.ErrInvalidID) {
			return fmt.Errorf("persist: %w: %w", loopx.ErrBadInput, err)
		}
		return err
	}
	class := snap.TasksetClass
	if class == "" {
		class = schema.DefaultTasksetClass
	}
	durations := Durations(snap)
	// Before record_persisted sets persisted_at, which readers wait for
	// (rrr local saves the estimates then). Not in its step: writing the
	// same case times again when a persist is retried changes nothing.
	if err := p.c.RecordCaseEstimates(ctx, class, CaseTimes(snap)); err != nil {
		return err
	}
	first, err := p.c.RecordPersisted(ctx, ts, class, durations, Outcomes(snap))
	if err != nil {
		return err
	}
	n, err := p.expire(ctx, ts)
	if err != nil {
		return err
	}
	ev := p.log.Info()
	if !first {
		ev = p.log.Debug()
	}
	ev.Str("taskset", ts).Str("status", snap.Status).Str("path", store.Path(p.cfg.ResultsDir, id)).
		Int("estimates", len(durations)).Int("keys", n).Bool("first_time", first).Msg("persisted")
	return nil
}

// settleTrials waits until no trial of finished taskset ts runs, so that
// what is stored for good has no trial running for ever: when a taskset
// ends, speculative copies and the trials of slaves being stopped are
// still running, and a dead slave's trial of a task that got its verdict
// meanwhile is never reaped by the arbiter (it checks only the tasks
// left). Live slaves record their trials as they stop; a trial whose slave
// is gone, or that still runs after SettleWait (or when the persister is
// stopping), is recorded as error here. changed reports whether a trial
// ended since snap was read.
func (p *Persister) settleTrials(ctx context.Context, ts string, snap *model.Snapshot) (changed bool, err error) {
	type open struct{ key, slave string }
	var running []open
	for _, t := range snap.Tasks {
		for _, tr := range t.Trials {
			if tr.Status == "" {
				running = append(running, open{tr.Key, tr.Slave})
			}
		}
	}
	if len(running) == 0 {
		return false, nil
	}
	deadline := p.now().Add(p.cfg.SettleWait)
	p.log.Debug().Str("taskset", ts).Int("trials", len(running)).Msg("waiting for the trials still running to end")
	for {
		statuses := make([]*redis.SliceCmd, len(running))
		beats := make([]*redis.IntCmd, len(running))
		if err := redisx.Pipelined(ctx, p.rdb, len(running), func(pl redis.Pipeliner, i int) {
			statuses[i] = pl.HMGet(ctx, running[i].key, schema.FStatus, schema.FStartedAt)
			beats[i] = pl.Exists(ctx, schema.Heartbeat(running[i].slave))
		}); err != nil && !errors.Is(err, redis.Nil) {
			return changed, fmt.Errorf("persist %s: read running trials: %w", ts, err)
		}
		timeUp := !p.now().Before(deadline)
		if !timeUp && p.stopping != nil {
			select {
			case <-p.stopping:
				timeUp = true
			default:
			}
		}
		left := running[:0]
		for i, tr := range running {
			// A running trial has a start and no status field.
			v := statuses[i].Val()
			if len(v) < 2 { // the read failed on this key (a wrong type): it cannot run
				changed = true
				continue
			}
			if st, _ := v[0].(string); st != "" || v[1] == nil {
				changed = true // recorded by its slave (or gone with its hash)
				continue
			}
			reason := ""
			switch {
			case tr.slave == "" || beats[i].Val() == 0:
				reason = schema.SlaveLost(tr.slave)
			case timeUp:
				reason = fmt.Sprintf("still running %s after the taskset ended; recorded as error when it was stored", p.cfg.SettleWait)
			default:
				left = append(left, tr)
				continue
			}
			if _, err := p.c.FinishLost(ctx, tr.key, reason, ""); err != nil && !errors.Is(err, schema.ErrInvalid) {
				return changed, fmt.Errorf("persist %s: close trial %s: %w", ts, tr.key, err)
			}
			p.log.Info().Str("trial", tr.key).Str("reason", reason).Msg("closed a trial that was still running when its taskset ended")
			changed = true
		}
		running = left
		if len(running) == 0 {
			return changed, nil
		}
		select {
		case <-time.After(p.cfg.SettlePoll):
		case <-p.stopping:
		}
	}
}

// Durations returns, per spec file, the duration in seconds of its fastest
// passed trial: the time the spec needs when nothing goes wrong (for a
// trial of a batch, the spec's share of the batch's time). A spec file that
// ran in partitions (docs/partitions.md) takes the sum of its partitions',
// and none unless every partition passed.
func Durations(s *model.Snapshot) map[string]float64 {
	out := map[string]float64{}
	broken := map[string]bool{} // a partition without a passed trial
	for _, t := range s.Tasks {
		best := -1.0
		for _, tr := range t.Trials {
			if tr.Status != schema.StatusPassed || tr.StartedAt.IsZero() || tr.FinishedAt.IsZero() {
				continue
			}
			d := tr.Duration().Seconds() // a spec's share of its batch (docs/batches.md)
			if d >= 0 && (best < 0 || d < best) {
				best = d
			}
		}
		switch {
		case best < 0:
			broken[t.SpecFile] = broken[t.SpecFile] || t.Partition() != ""
		case t.Partition() != "":
			out[t.SpecFile] += best
		default:
			out[t.SpecFile] = best
		}
	}
	for spec := range broken {
		if broken[spec] {
			delete(out, spec)
		}
	}
	return out
}

// Outcomes returns, per spec file with a verdict, its letter in the
// history of the class (model.Task.Outcome): passed the first time, flaky,
// failed or errored. Specs without a verdict (a cancelled taskset) say
// nothing of the spec and are left out. A spec file that ran in
// partitions gets the worst of theirs (failed, errored, flaky, passed),
// and nothing when one of them has no verdict.
func Outcomes(s *model.Snapshot) map[string]string {
	rank := map[string]int{schema.HistoryPassed: 0, schema.HistoryFlaky: 1, schema.HistoryError: 2, schema.HistoryFailed: 3}
	out := map[string]string{}
	unknown := map[string]bool{}
	for _, t := range s.Tasks {
		o := t.Outcome()
		if o == "" {
			unknown[t.SpecFile] = true
			continue
		}
		if old, ok := out[t.SpecFile]; !ok || rank[o] > rank[old] {
			out[t.SpecFile] = o
		}
	}
	for spec := range unknown {
		delete(out, spec)
	}
	return out
}

// CaseTimes returns, per spec file whose report's cases a partition could
// select (pkg/partition), the seconds of each case in its trials: the
// fastest a case ran. A spec file is left out when a task of it has no
// finished trial with a report (its list would be short of cases).
func CaseTimes(s *model.Snapshot) map[string]schema.CaseTimes {
	out := map[string]schema.CaseTimes{}
	short := map[string]bool{}
	for _, t := range s.Tasks {
		found := false
		for _, tr := range t.Trials {
			style := partition.StyleOf(tr.Format)
			if style == "" || len(tr.Report) == 0 || len(tr.Report) >= format.MaxCases {
				continue // no cases to select, or a capped report that may lack some
			}
			ct, ok := out[t.SpecFile]
			if !ok {
				ct = schema.CaseTimes{Style: style, Cases: map[string]float64{}}
			}
			if ct.Style != style {
				continue
			}
			for _, c := range tr.Report {
				id := partition.CaseID(style, t.SpecFile, c)
				if id == "" || (style == schema.StyleGo && c.Name != id) {
					continue // not selectable, or a subtest: its parent's time holds it
				}
				if old, seen := ct.Cases[id]; !seen || c.TimeSec < old {
					ct.Cases[id] = c.TimeSec
				}
			}
			out[t.SpecFile] = ct
			found = true
		}
		if !found {
			short[t.SpecFile] = true
		}
	}
	for spec := range short {
		delete(out, spec)
	}
	for spec, ct := range out {
		if len(ct.Cases) == 0 {
			delete(out, spec)
		}
	}
	return out
}

// expire sets the expiry of every key of taskset ts and returns how many
// keys it named. Keys are read from Redis, not from the snapshot, so that
// objects that did not decode expire too. A heartbeat keeps its own short
// TTL: only one without any gets Keep.
func (p *Persister) expire(ctx context.Context, ts string) (int, error) {
	var tasksCmd, logsCmd, slavesCmd *redis.StringSliceCmd
	if _, err := p.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		tasksCmd = pl.LRange(ctx, schema.Tasks(ts), 0, -1)
		logsCmd = pl.LRange(ctx, schema.WorkerLogs(ts), 0, -1)
		slavesCmd = pl.LRange(ctx, schema.TasksetSlaves(ts), 0, -1)
		return nil
	}); err != nil {
		return 0, fmt.Errorf("expire taskset %s: %w", ts, err)
	}
	keys := []string{ts, schema.TasksetLog(ts), schema.TasksetSlaves(ts), schema.WorkerLogs(ts),
		schema.TaskQueue(ts), schema.Tasks(ts), schema.TasksLeft(ts), schema.Assigned(ts), schema.Batched(ts)}
	// Tasks, their trial lists and trials: a script call per chunk of
	// tasks rather than a command per key.
	named, err := p.c.ExpireTasks(ctx, tasksCmd.Val(), p.cfg.Keep)
	if err != nil {
		return 0, fmt.Errorf("expire taskset %s: %w", ts, err)
	}
	for _, l := range logsCmd.Val() {
		keys = append(keys, l, schema.WorkerLogText(l), schema.FastFailures(l))
	}
	slaves := slavesCmd.Val()
	ttls := make([]*redis.DurationCmd, len(slaves))
	if err := redisx.Pipelined(ctx, p.rdb, len(slaves), func(pl redis.Pipeliner, i int) {
		ttls[i] = pl.PTTL(ctx, schema.Heartbeat(slaves[i]))
	}); err != nil {
		return 0, fmt.Errorf("expire taskset %s: read slave heartbeats: %w", ts, err)
	}
	for i, s := range slaves {
		keys = append(keys, s, schema.SlaveTrials(s), schema.SlaveLog(s), schema.SlaveTried(s))
		if ttls[i].Val() == -1 { // present without a TTL (-2: gone)
			keys = append(keys, schema.Heartbeat(s))
		}
	}
	if err := redisx.Pipelined(ctx, p.rdb, len(keys), func(pl redis.Pipeliner, i int) {
		pl.Expire(ctx, keys[i], p.cfg.Keep)
	}); err != nil {
		return 0, fmt.Errorf("expire taskset %s: %w", ts, err)
	}
	return named + len(keys), nil
}
