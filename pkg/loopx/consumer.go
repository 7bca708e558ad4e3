package loopx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/host"
	"github.com/rrr-dev/rrr/schema"
)

// ConsumerConfig tunes the consumer loop of a reliable queue. Zero values
// take the defaults of WithDefaults.
type ConsumerConfig struct {
	// PopTimeout bounds a blocking take; Redis counts it in whole seconds.
	PopTimeout time.Duration
	// ConsumerTTL is the life of the consumer's heartbeat; BeatInterval,
	// shorter, is how often it is refreshed.
	ConsumerTTL  time.Duration
	BeatInterval time.Duration
	// RecoverInterval is how often the entries of dead consumers are handed
	// back to the queue.
	RecoverInterval time.Duration
	// TickInterval is how often Consumer.Tick runs, when there is one.
	TickInterval time.Duration
	// StopTimeout bounds handing back what the consumer holds on a stop.
	StopTimeout time.Duration
}

// Defaults of a consumer.
const (
	DefaultPopTimeout      = time.Second
	DefaultConsumerTTL     = 10 * time.Second
	DefaultBeatInterval    = 2 * time.Second
	DefaultRecoverInterval = 10 * time.Second
	DefaultStopTimeout     = 5 * time.Second
)

// WithDefaults fills zero values.
func (c ConsumerConfig) WithDefaults() ConsumerConfig {
	Default(&c.PopTimeout, DefaultPopTimeout)
	Default(&c.ConsumerTTL, DefaultConsumerTTL)
	Default(&c.BeatInterval, DefaultBeatInterval)
	Default(&c.RecoverInterval, DefaultRecoverInterval)
	Default(&c.StopTimeout, DefaultStopTimeout)
	return c
}

// Default sets *v to def when it is the zero value: the one spelling of
// "zero means the default" of the parts' WithDefaults methods.
func Default[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate checks a filled configuration.
func (c ConsumerConfig) Validate() error {
	switch {
	case c.PopTimeout < time.Second:
		return fmt.Errorf("pop timeout %s: must be at least 1s (Redis counts blocking pops in seconds)", c.PopTimeout)
	case c.ConsumerTTL <= 0 || c.BeatInterval <= 0 || c.RecoverInterval <= 0 || c.StopTimeout <= 0:
		return fmt.Errorf("consumer TTL, beat, recover and stop intervals must be positive")
	case c.BeatInterval >= c.ConsumerTTL:
		return fmt.Errorf("heartbeat interval %s must be shorter than the heartbeat TTL %s, or the consumer looks dead between beats",
			c.BeatInterval, c.ConsumerTTL)
	case c.TickInterval < 0:
		return fmt.Errorf("tick interval %s: must not be negative", c.TickInterval)
	}
	return nil
}

// ConsumerID returns a consumer id unique to this process: host-pid-random.
// A restarted process gets a new one; its old entries come back through
// Recover once the old heartbeat expires.
func ConsumerID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host.Name(), os.Getpid(), hex.EncodeToString(b))
}

// Consumer takes entries from a reliable queue and hands each to Handle,
// then acknowledges it. An entry whose handling fails with a transient
// error stays in the consumer's processing list and is handled again after
// a backoff; one that fails permanently (see Permanent) is logged and
// acknowledged, so a malformed entry never blocks the queue. Entries a dead
// consumer held are handed back to the queue every RecoverInterval.
type Consumer struct {
	Queue  *schema.Queue
	Config ConsumerConfig
	// Handle handles one entry; it must be idempotent, since an entry is
	// handled again when the consumer dies before acknowledging it.
	Handle func(ctx context.Context, entry string) error
	// Tick, when set, runs at once and then every Config.TickInterval; it
	// returns only transient errors.
	Tick   func(ctx context.Context) error
	Log    zerolog.Logger
	Health *Health
	Now    func() time.Time
}

// Run consumes until ctx is cancelled, then finishes the entry in hand,
// hands back what the consumer still holds, and returns nil.
func (c *Consumer) Run(ctx context.Context) error {
	cfg := c.Config
	// Work in hand is finished even when ctx is cancelled: a stop must not
	// leave a command half done (it would be redone, but later).
	work := context.WithoutCancel(ctx)
	for {
		err := c.Queue.Join(ctx, cfg.ConsumerTTL)
		if err == nil {
			break
		}
		if ctx.Err() != nil || !Sleep(ctx, c.Health.Fail("join the queue", err)) {
			return nil
		}
	}
	c.Log.Info().Str("consumer", c.Queue.ID()).Msg("consuming")

	beatCtx, stopBeat := context.WithCancel(work)
	beatDone := make(chan struct{})
	go c.beat(beatCtx, beatDone)
	defer func() {
		stopBeat()
		<-beatDone
		c.leave(work)
	}()

	pending := true // our own unacknowledged entries, from an earlier life or a failure
	nextRecover, nextTick := c.Now(), c.Now()
	for ctx.Err() == nil {
		if pending {
			if err := c.drainPending(ctx, work); err != nil {
				Sleep(ctx, c.Health.Fail("handle pending entries", err))
				continue
			}
			pending = false
		}
		// A failed recovery or tick waits for its next turn, so that it
		// never keeps the consumer from its queue; when Redis is away the
		// take below fails too, and backs off.
		if !c.Now().Before(nextRecover) {
			nextRecover = c.Now().Add(cfg.RecoverInterval)
			n, err := c.Queue.Recover(work)
			if err != nil {
				c.Health.Fail("recover entries of dead consumers", err)
			} else if n > 0 {
				c.Log.Warn().Int("entries", n).Msg("handed back entries of a dead consumer to the queue")
			}
		}
		if c.Tick != nil && cfg.TickInterval > 0 && !c.Now().Before(nextTick) {
			err := Safe(func() error { return c.Tick(ctx) })
			switch {
			case errors.Is(err, ErrPanic):
				c.Log.Error().Err(err).Msg("the periodic sweep panicked; it runs again at its next turn")
			case err != nil && ctx.Err() == nil:
				c.Health.Fail("run the periodic sweep", err)
			}
			nextTick = c.Now().Add(cfg.TickInterval)
		}
		if ctx.Err() != nil {
			break
		}
		entry, err := c.Queue.Take(ctx, cfg.PopTimeout)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			Sleep(ctx, c.Health.Fail("take from the queue", err))
			continue
		}
		c.Health.OK()
		if entry == "" {
			continue
		}
		if err := c.process(work, entry); err != nil {
			pending = true
			Sleep(ctx, c.Health.Fail("handle an entry", err))
		}
	}
	return nil
}

// process handles entry and acknowledges it; it returns only transient
// errors, after which the entry is still pending.
func (c *Consumer) process(ctx context.Context, entry string) error {
	if err := Safe(func() error { return c.Handle(ctx, entry) }); err != nil {
		if !Permanent(err) {
			return err
		}
		ev := c.Log.Warn()
		if errors.Is(err, ErrPanic) {
			ev = c.Log.Error()
		}
		ev.Err(err).Str("entry", entry).Msg("skipping an entry that cannot be handled")
	}
	return c.Queue.Ack(ctx, entry)
}

func (c *Consumer) drainPending(ctx, work context.Context) error {
	entries, err := c.Queue.Pending(work)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		c.Log.Info().Int("entries", len(entries)).Msg("handling entries taken before and not finished")
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return nil // Leave hands the rest back
		}
		if err := c.process(work, e); err != nil {
			return err
		}
	}
	return nil
}

// beat keeps the consumer's heartbeat alive, and its membership: a consumer
// thought dead during an outage was forgotten by Recover and joins again.
func (c *Consumer) beat(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	Heartbeat(ctx, c.Config.BeatInterval, func() {
		if err := c.Queue.Join(ctx, c.Config.ConsumerTTL); err != nil && ctx.Err() == nil {
			c.Health.Fail("refresh the consumer heartbeat", err)
		}
	})
}

func (c *Consumer) leave(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.Config.StopTimeout)
	defer cancel()
	n, err := c.Queue.Leave(ctx)
	if err != nil {
		c.Log.Warn().Err(err).Msg("could not hand back entries on stop; another consumer recovers them once this heartbeat expires")
		return
	}
	c.Log.Info().Int("handed_back", n).Msg("left the queue")
}
