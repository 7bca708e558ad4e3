package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/schema"
)

// Defaults of a dispatcher.
const (
	DefaultInterval   = 2 * time.Second
	DefaultPopTimeout = time.Second
)

// Config tunes a dispatcher; zero values take the defaults.
type Config struct {
	// Interval is the time between rounds when no token wakes the dispatcher.
	Interval time.Duration
	// PopTimeout bounds the blocking wait for a token; Redis counts it in
	// whole seconds.
	PopTimeout time.Duration
	// BackoffMin, BackoffMax bound the wait after a transient failure;
	// LogInterval is how often a repeating failure is logged.
	BackoffMin, BackoffMax, LogInterval time.Duration
}

// Deps are what a dispatcher works with.
type Deps struct {
	Client *schema.Client
	Log    zerolog.Logger
	Now    func() time.Time // default time.Now
}

// Dispatcher assigns tasksets to workers; see the package documentation.
type Dispatcher struct {
	cfg    Config
	c      *schema.Client
	log    zerolog.Logger
	now    func() time.Time
	health *loopx.Health

	mu  sync.Mutex
	bad func(kind string) bool // rate limit of logs about malformed values
}

// WithDefaults returns c with its zero values filled; New calls it, then
// Validate.
func (c Config) WithDefaults() Config {
	loopx.Default(&c.Interval, DefaultInterval)
	loopx.Default(&c.PopTimeout, DefaultPopTimeout)
	loopx.Default(&c.LogInterval, loopx.DefaultLogInterval)
	return c
}

// Validate checks a configuration filled by WithDefaults.
func (c Config) Validate() error {
	switch {
	case c.Interval <= 0:
		return fmt.Errorf("dispatcher: interval %s: must be positive", c.Interval)
	case c.PopTimeout < time.Second:
		return fmt.Errorf("dispatcher: pop timeout %s: must be at least 1s (Redis counts blocking pops in seconds)", c.PopTimeout)
	}
	return nil
}

// New fills the defaults of cfg, checks it and returns a dispatcher.
func New(cfg Config, deps Deps) (*Dispatcher, error) {
	if deps.Client == nil {
		return nil, errors.New("dispatcher: a schema client is required")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	log := deps.Log.With().Str("component", "dispatcher").Logger()
	return &Dispatcher{
		cfg: cfg, c: deps.Client, log: log, now: deps.Now,
		health: loopx.NewHealth(log, cfg.BackoffMin, cfg.BackoffMax, cfg.LogInterval, deps.Now),
		bad:    logx.Every(cfg.LogInterval, deps.Now),
	}, nil
}

// Run makes rounds until ctx is cancelled, then returns nil: at once, on
// every token pushed onto the dispatcher queue, and every Interval.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.log.Info().Str("queue", d.c.Keys.DispatcherQueue()).Stringer("interval", d.cfg.Interval).Msg("dispatcher started")
	defer d.log.Info().Msg("dispatcher stopped")
	next := d.now() // a round at once
	woken := false
	for ctx.Err() == nil {
		if woken || !d.now().Before(next) {
			// A round in progress is finished on a stop; it is short.
			err := loopx.Safe(func() error { return d.Round(context.WithoutCancel(ctx)) })
			if errors.Is(err, loopx.ErrPanic) {
				d.log.Error().Err(err).Msg("a dispatch round panicked; the next one comes at the interval")
			} else if err != nil {
				loopx.Sleep(ctx, d.health.Fail("make a dispatch round", err))
				continue
			}
			d.health.OK()
			next = d.now().Add(d.cfg.Interval)
		}
		var err error
		if woken, err = d.wait(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			loopx.Sleep(ctx, d.health.Fail("wait on the dispatcher queue", err))
		}
	}
	return nil
}

// wait blocks until a token comes or the pop times out, and reports whether
// a token came. Other tokens queued meanwhile are dropped: the round about
// to start sees everything they announce.
func (d *Dispatcher) wait(ctx context.Context) (bool, error) {
	return d.c.WaitDispatcherToken(ctx, d.cfg.PopTimeout)
}

// worker is what a round knows of a live worker.
type worker struct {
	key, workerType string
}

// Round removes dead workers and dispatches the active tasksets once. It
// returns only transient errors and corrupt global keys (named);
// malformed values of a taskset or worker are logged and skipped.
func (d *Dispatcher) Round(ctx context.Context) error {
	return d.c.NameWrongType(ctx, d.round(ctx), d.c.Keys.Globals()...)
}

func (d *Dispatcher) round(ctx context.Context) error {
	idle, err := d.reapWorkers(ctx)
	if err != nil {
		return err
	}
	if len(idle) == 0 {
		return nil
	}
	active, err := d.c.ActiveTasksets(ctx)
	if err != nil {
		return err
	}
	for _, ts := range active {
		if len(idle) == 0 {
			return nil
		}
		if idle, err = d.dispatch(ctx, ts, idle); err != nil {
			if !loopx.Permanent(err) {
				return err
			}
			d.logBad(ts, err, "cannot dispatch an active taskset; skipping it")
		}
	}
	return nil
}

// reapWorkers removes the workers whose heartbeat expired and returns the
// live idle ones, sorted by key.
func (d *Dispatcher) reapWorkers(ctx context.Context) ([]worker, error) {
	members, err := d.c.WorkerKeys(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(members)
	var keys []string
	for _, k := range members {
		if _, ok := d.c.Keys.WorkerID(k); ok {
			keys = append(keys, k)
			continue
		}
		// Removing it would delete whatever key it names: leave it to a person.
		d.logBad(k, fmt.Errorf("%q: %w: not a worker key of namespace %s", k, loopx.ErrBadInput, d.c.Keys.Namespace()),
			"skipping a member of the worker set that is not a worker key; remove it with SREM")
	}
	alive, err := d.c.AliveMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read workers: %w", err)
	}
	hashes, err := d.c.HashFields(ctx, keys, schema.FWorkerType, schema.FTaskset)
	if err != nil {
		return nil, fmt.Errorf("read workers: %w", err)
	}
	var idle []worker
	for i, k := range keys {
		typ, ts := hashes[i][schema.FWorkerType], hashes[i][schema.FTaskset]
		if alive[i] {
			if ts == "" { // a missing hash is refused by dispatch as dead
				idle = append(idle, worker{key: k, workerType: orDefault(typ)})
			}
			continue
		}
		removed, err := d.c.RemoveWorker(ctx, k)
		if err != nil {
			if !loopx.Permanent(err) {
				return nil, err
			}
			d.logBad(k, err, "cannot remove a dead worker; skipping it")
			continue
		}
		if !removed {
			continue // it came back since the read
		}
		ev := d.log.Warn().Str("worker", k)
		if ts != "" {
			// Its slaves are gone too: let the arbiter recover their trials.
			if err := d.c.SendCommand(ctx, schema.Command{Verb: schema.CmdCheck, Key: ts}); err != nil {
				return nil, err
			}
			ev = ev.Str("taskset", ts)
		}
		ev.Msg("removed a worker whose heartbeat expired")
	}
	return idle, nil
}

// dispatch offers taskset ts to the idle workers and returns those still
// idle afterwards.
func (d *Dispatcher) dispatch(ctx context.Context, ts string, idle []worker) ([]worker, error) {
	if _, ok := d.c.Keys.TasksetID(ts); !ok {
		return idle, fmt.Errorf("%q: %w: not a taskset key of namespace %s", ts, loopx.ErrBadInput, d.c.Keys.Namespace())
	}
	h, err := d.c.HashFields(ctx, []string{ts}, schema.FStatus, schema.FWorkerType)
	if err == nil && h[0] == nil {
		err = fmt.Errorf("%w: %s holds the wrong type of value", schema.ErrWrongType, ts)
	}
	if err != nil {
		return idle, fmt.Errorf("read taskset %s: %w", ts, err)
	}
	// No status yet is a taskset of the original client that no worker
	// has had: dispatch sets it running.
	if status := h[0][schema.FStatus]; status != schema.StatusRunning && status != "" {
		return idle, nil // it leaves the active list in the same script that ends it
	}
	want := orDefault(h[0][schema.FWorkerType])
	still := idle[:0:0]
	full := false
	for _, w := range idle {
		if full || w.workerType != want {
			still = append(still, w)
			continue
		}
		out, err := d.c.Dispatch(ctx, ts, w.key)
		if err != nil {
			return idle, err
		}
		switch out {
		case schema.DispatchOK:
			d.log.Info().Str("taskset", ts).Str("worker", w.key).Msg("dispatched")
		case schema.DispatchFull, schema.DispatchStopped:
			full = true
			still = append(still, w)
		case schema.DispatchType, schema.DispatchWorked:
			still = append(still, w)
		case schema.DispatchDead, schema.DispatchBusy:
			// it died or was given a taskset since the read: not idle
		default:
			return idle, fmt.Errorf("dispatch %s to %s: %w: unexpected reply %q", ts, w.key, loopx.ErrBadInput, out)
		}
	}
	return still, nil
}

func orDefault(workerType string) string {
	if workerType == "" {
		return schema.DefaultWorkerType
	}
	return workerType
}

// logBad logs a malformed value at most once per log interval.
func (d *Dispatcher) logBad(key string, err error, msg string) {
	d.mu.Lock()
	logIt := d.bad(key)
	d.mu.Unlock()
	if logIt {
		d.log.Warn().Err(err).Str("key", key).Msg(msg)
	}
}
