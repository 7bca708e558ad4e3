package arbiter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/schema"
)

// DefaultSweepInterval is how often every active taskset is checked.
const DefaultSweepInterval = 5 * time.Second

// DefaultOutageGrace is how long after Redis comes back the arbiter waits
// before it takes a missing slave heartbeat for a dead slave: one slave
// heartbeat TTL (worker.DefaultHeartbeatTTL). Heartbeats expire during an
// outage while their slaves live on; they beat again within their interval.
const DefaultOutageGrace = 4 * time.Second

// Config tunes an arbiter; zero values take the defaults.
type Config struct {
	// ConsumerID names this arbiter on the arbiter queue (default
	// host-pid-random); it must differ between arbiters that run at once.
	ConsumerID string
	// SweepInterval is how often every active taskset is checked, so that
	// recovery does not depend on a slave sending `check`.
	SweepInterval time.Duration
	// WatchInterval is how often the heartbeats of the slaves of active
	// tasksets are looked at, so that a lost slave's work moves on one
	// heartbeat TTL after it died (default DefaultWatchInterval).
	WatchInterval time.Duration
	// Queue tunes the reliable queue consumer (pop, heartbeat, recovery).
	Queue loopx.ConsumerConfig
	// OutageGrace is how long after the arbiter could reach Redis again it
	// trusts no missing slave heartbeat (default DefaultOutageGrace; at
	// least the slaves' heartbeat TTL). Negative: no grace.
	OutageGrace time.Duration
	// BackoffMin, BackoffMax bound the wait after a transient failure;
	// LogInterval is how often a repeating failure is logged.
	BackoffMin, BackoffMax, LogInterval time.Duration
}

// Deps are what an arbiter works with.
type Deps struct {
	Client *schema.Client
	Log    zerolog.Logger
	Now    func() time.Time // default time.Now
}

// Arbiter settles tasks and tasksets; see the package documentation.
type Arbiter struct {
	cfg    Config
	c      *schema.Client
	log    zerolog.Logger
	now    func() time.Time
	health *loopx.Health

	mu     sync.Mutex
	bad    func(kind string) bool // rate limit of logs about malformed tasksets
	graced time.Time              // the recovery whose grace was last logged
	queue  *schema.Queue
	runner *loopx.Consumer
}

// WithDefaults returns c with its zero values filled (a new consumer id
// among them); New calls it, then Validate.
func (c Config) WithDefaults() Config {
	loopx.Default(&c.ConsumerID, loopx.ConsumerID())
	loopx.Default(&c.SweepInterval, DefaultSweepInterval)
	loopx.Default(&c.WatchInterval, DefaultWatchInterval)
	loopx.Default(&c.LogInterval, loopx.DefaultLogInterval)
	loopx.Default(&c.OutageGrace, DefaultOutageGrace)
	c.Queue = c.Queue.WithDefaults()
	c.Queue.TickInterval = c.SweepInterval
	return c
}

// Validate checks a configuration filled by WithDefaults.
func (c Config) Validate() error {
	switch {
	case c.SweepInterval <= 0:
		return fmt.Errorf("arbiter: sweep interval %s: must be positive", c.SweepInterval)
	case c.WatchInterval <= 0:
		return fmt.Errorf("arbiter: watch interval %s: must be positive", c.WatchInterval)
	}
	if err := c.Queue.Validate(); err != nil {
		return fmt.Errorf("arbiter: %w", err)
	}
	return nil
}

// New fills the defaults of cfg, checks it and returns an arbiter.
func New(cfg Config, deps Deps) (*Arbiter, error) {
	if deps.Client == nil {
		return nil, errors.New("arbiter: a schema client is required")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	log := deps.Log.With().Str("component", "arbiter").Logger()
	a := &Arbiter{
		cfg: cfg, c: deps.Client, log: log, now: deps.Now,
		health: loopx.NewHealth(log, cfg.BackoffMin, cfg.BackoffMax, cfg.LogInterval, deps.Now),
		bad:    logx.Every(cfg.LogInterval, deps.Now),
		queue:  deps.Client.Queue(deps.Client.Keys.ArbiterQueue(), cfg.ConsumerID),
	}
	a.runner = &loopx.Consumer{Queue: a.queue, Config: cfg.Queue, Handle: a.Handle, Tick: a.Sweep,
		Log: log, Health: a.health, Now: deps.Now}
	return a, nil
}

// ConsumerID is the arbiter's id on the arbiter queue.
func (a *Arbiter) ConsumerID() string { return a.cfg.ConsumerID }

// Run handles arbiter commands and sweeps the active tasksets until ctx is
// cancelled; then it finishes the command in hand, hands back what it holds
// and returns nil.
func (a *Arbiter) Run(ctx context.Context) error {
	a.log.Info().Str("queue", a.c.Keys.ArbiterQueue()).Stringer("sweep_interval", a.cfg.SweepInterval).
		Stringer("watch_interval", a.cfg.WatchInterval).Msg("arbiter started")
	wctx, stopWatch := context.WithCancel(ctx)
	var watching sync.WaitGroup
	watching.Add(1)
	go func() { defer watching.Done(); a.watch(wctx) }()
	err := a.runner.Run(ctx)
	stopWatch()
	watching.Wait()
	a.log.Info().Msg("arbiter stopped")
	return err
}

// Handle carries out one arbiter command (the wire form, "<verb>\t<key>").
// A malformed command is an error for which loopx.Permanent is true: it
// cannot succeed later. Handle is idempotent.
func (a *Arbiter) Handle(ctx context.Context, entry string) error {
	cmd, err := schema.ParseCommand(entry)
	if err != nil {
		return fmt.Errorf("%w: %w", loopx.ErrBadInput, err)
	}
	switch cmd.Verb {
	case schema.CmdTrial:
		return a.settleTrial(ctx, cmd.Key)
	case schema.CmdCheck:
		return a.Check(ctx, cmd.Key)
	case schema.CmdCancel:
		return a.stop(ctx, cmd.Key, schema.StatusCancelled)
	case schema.CmdFail:
		return a.stop(ctx, cmd.Key, schema.StatusFailed)
	}
	return fmt.Errorf("arbiter command %q: %w: unknown verb", entry, loopx.ErrBadInput)
}

// settleTrial settles the task of a finished trial.
func (a *Arbiter) settleTrial(ctx context.Context, trial string) error {
	task, err := a.c.Field(ctx, trial, schema.FTask)
	if err != nil {
		return fmt.Errorf("read trial %s: %w", trial, err)
	}
	if task == "" {
		return fmt.Errorf("trial %s: %w: no such trial (or it names no task)", trial, loopx.ErrBadInput)
	}
	out, finished, err := a.c.SettleTask(ctx, task)
	if err != nil {
		return err
	}
	a.log.Debug().Str("trial", trial).Str("task", task).Str("outcome", string(out)).Msg("settled")
	if ts, ok := schema.TasksetOfTask(task); ok {
		a.noteSettled(ctx, ts, task, out, finished)
	}
	if finished != "" {
		a.log.Info().Str("task", task).Str("status", finished).Msg("taskset finished: its last task got its verdict")
	}
	return nil
}

// noteSettled writes what a settle changed that a person reading the
// taskset's log wants to know: a failure for good, a retry, the end.
func (a *Arbiter) noteSettled(ctx context.Context, ts, task string, out schema.SettleOutcome, finished string) {
	switch out {
	case schema.SettleFailed:
		a.note(ctx, ts, "task %s failed: no trial passed", task)
	case schema.SettleRequeued:
		a.note(ctx, ts, "task %s queued again for another trial", task)
	}
	if finished != "" {
		why := "every task has its verdict"
		if r, err := a.c.Field(ctx, ts, schema.FStatusReason); err == nil && r != "" {
			why = r // max failures reached
		}
		a.note(ctx, ts, "taskset %s: %s", finished, why)
	}
}

// note appends a line to the taskset's own log (the original RRRSpec's
// arbiter wrote one per requeue and at the end). A failure to write it is
// logged and otherwise ignored: the log decides nothing.
func (a *Arbiter) note(ctx context.Context, ts, format string, args ...any) {
	if err := a.c.LogTaskset(ctx, ts, fmt.Sprintf(format, args...)); err != nil {
		a.log.Warn().Err(err).Str("taskset", ts).Msg("append to the taskset log")
	}
}

// stop cancels or fails a taskset. The client and the worker stop it
// themselves before sending the command, so this is usually a no-op; it
// exists for senders that only speak the original protocol.
func (a *Arbiter) stop(ctx context.Context, ts, status string) error {
	if _, ok := a.c.Keys.TasksetID(ts); !ok {
		return fmt.Errorf("%s %q: %w: not a taskset key of namespace %s", status, ts, loopx.ErrBadInput, a.c.Keys.Namespace())
	}
	var stopped bool
	var err error
	if status == schema.StatusCancelled {
		stopped, err = a.c.CancelTaskset(ctx, ts, "cancelled by a cancel command")
	} else {
		stopped, err = a.c.FailTaskset(ctx, ts, "failed by a fail command")
	}
	if err != nil {
		return err
	}
	if stopped {
		a.log.Info().Str("taskset", ts).Str("status", status).Msg("taskset stopped by command")
	}
	return nil
}

// Sweep checks every active taskset, oldest first. A taskset that cannot
// be checked (a malformed value) is logged, at most once per log interval,
// and skipped; Sweep returns only transient errors.
func (a *Arbiter) Sweep(ctx context.Context) error {
	active, err := a.c.ActiveTasksets(ctx)
	if err != nil {
		return a.c.NameWrongType(ctx, err, schema.KeyType{Key: a.c.Keys.ActiveTaskset(), Type: "list"})
	}
	for _, ts := range active {
		if ctx.Err() != nil {
			return nil
		}
		// A check in progress is finished even on a stop.
		err := a.Check(context.WithoutCancel(ctx), ts)
		if err == nil {
			continue
		}
		if !loopx.Permanent(err) {
			return err
		}
		a.mu.Lock()
		logIt := a.bad(ts)
		a.mu.Unlock()
		if logIt {
			a.log.Warn().Err(err).Str("taskset", ts).Msg("cannot check an active taskset; skipping it (fix or delete the value)")
		}
	}
	return nil
}
