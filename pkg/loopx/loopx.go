package loopx

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// ErrBadInput marks a value found in Redis that a loop cannot use (a
// malformed command, a key of the wrong kind): it is logged and skipped.
var ErrBadInput = errors.New("bad input")

// ErrPanic marks a handler that panicked: the entry it handled is treated
// as malformed (logged and dropped), so that one poison value cannot make
// every server process crash in turn.
var ErrPanic = errors.New("handler panicked")

// Safe runs f and turns a panic into an error wrapping ErrPanic and
// ErrBadInput, with the stack.
func Safe(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (%w): %v\n%s", ErrPanic, ErrBadInput, r, debug.Stack())
		}
	}()
	return f()
}

// transientReplies are Redis error replies that go away by themselves.
var transientReplies = []string{"LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN",
	"NOREPLICAS", "ERR max number of clients"}

// Permanent reports whether trying err's operation again cannot help: the
// input is malformed (ErrBadInput, schema.ErrInvalid, model.ErrMalformed,
// model.ErrNotFound) or Redis refused the command itself (WRONGTYPE, a
// script error). Anything else (no connection, a time-out, a Redis that is
// loading, schema.ErrStale) is transient and worth a retry.
func Permanent(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrBadInput) || errors.Is(err, schema.ErrInvalid) ||
		errors.Is(err, model.ErrMalformed) || errors.Is(err, model.ErrNotFound) {
		return true
	}
	var reply redis.Error
	if errors.As(err, &reply) && !errors.Is(err, redis.Nil) {
		msg := reply.Error()
		for _, p := range transientReplies {
			if strings.HasPrefix(msg, p) {
				return false
			}
		}
		return true
	}
	return false
}

// Backoff bounds of Health; tests use shorter ones.
const (
	DefaultBackoffMin  = 100 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
	DefaultLogInterval = 30 * time.Second
)

// Health follows the transient failures of one loop: it doubles a backoff
// from Min to Max while they last, logs the first failure and then at most
// one line per LogInterval, and logs once when the loop works again. It is
// safe for concurrent use (a loop and its heartbeat share one).
type Health struct {
	log      zerolog.Logger
	min, max time.Duration
	every    func(string) bool
	now      func() time.Time

	mu        sync.Mutex
	backoff   time.Duration
	failures  int       // since the loop last worked
	silenced  int       // failures not logged since the last line
	logged    bool      // a failure of this episode was logged
	outage    bool      // a failure of this episode may be Redis away (not a corrupt key)
	recovered time.Time // when the loop last worked again after an outage
}

// NewHealth returns a Health logging to log; zero durations take the defaults.
func NewHealth(log zerolog.Logger, lo, hi, logInterval time.Duration, now func() time.Time) *Health {
	if lo <= 0 {
		lo = DefaultBackoffMin
	}
	if hi < lo {
		hi = max(DefaultBackoffMax, lo)
	}
	if logInterval <= 0 {
		logInterval = DefaultLogInterval
	}
	if now == nil {
		now = time.Now
	}
	return &Health{log: log, min: lo, max: hi, every: logx.Every(logInterval, now), now: now}
}

// Fail records a transient failure of what (a short verb phrase such as
// "take a command") and returns how long to wait before trying again.
func (h *Health) Fail(what string, err error) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures++
	h.outage = h.outage || !schema.IsWrongType(err)
	if h.every("fail") {
		hint := "is Redis up?"
		if schema.IsWrongType(err) {
			// Redis is up and refused: the error names the key where it can.
			hint = "Redis is up, but a key holds the wrong type of value: delete or fix it"
		}
		h.log.Error().Err(err).Int("failures", h.failures).Int("not_logged", h.silenced).
			Msgf("cannot %s; retrying with backoff (%s; this repeats at most once per interval)", what, hint)
		h.silenced = 0
		h.logged = true
	} else {
		h.silenced++
		h.log.Debug().Err(err).Int("failures", h.failures).Msgf("cannot %s; retrying", what)
	}
	if h.backoff == 0 {
		h.backoff = h.min
	} else {
		h.backoff = min(2*h.backoff, h.max)
	}
	return h.backoff
}

// OK records that the loop works; after failures that were logged it logs
// the recovery once.
func (h *Health) OK() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures > 0 && h.logged {
		h.log.Info().Int("failures", h.failures).Msg("working again after transient failures")
	}
	if h.outage {
		h.recovered = h.now()
	}
	h.failures, h.silenced, h.backoff, h.logged, h.outage = 0, 0, 0, false, false
}

// RecoveredAt is when the loop last worked again after transient failures
// other than a corrupt key (Redis came back, say); zero if there were none.
func (h *Health) RecoveredAt() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.recovered
}

// Failing reports how many transient failures happened since the loop last
// worked.
func (h *Health) Failing() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failures
}

// RedisLogger routes the messages go-redis prints by itself (one per failed
// dial, say) through log, rate-limited: the first as a warning, then at
// most one per DefaultLogInterval with the number left out (the rest at
// debug level), so that an outage reads as a few lines, not one per
// attempt. Install it with redis.SetLogger.
func RedisLogger(log zerolog.Logger) interface {
	Printf(ctx context.Context, format string, v ...any)
} {
	return NewRedisLogger(log, DefaultLogInterval, time.Now)
}

// NewRedisLogger is RedisLogger with its interval and clock.
func NewRedisLogger(log zerolog.Logger, interval time.Duration, now func() time.Time) interface {
	Printf(ctx context.Context, format string, v ...any)
} {
	return &redisLogger{log: log.With().Str("component", "go-redis").Logger(), every: logx.Every(interval, now)}
}

type redisLogger struct {
	log   zerolog.Logger
	mu    sync.Mutex
	every func(string) bool
	quiet int // lines left out since the last one written
}

func (l *redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.every("go-redis") {
		l.quiet++
		l.log.Debug().Msgf(format, v...)
		return
	}
	l.log.Warn().Int("not_logged", l.quiet).Msgf(format, v...)
	l.quiet = 0
}

// Heartbeat calls beat every interval until ctx ends: the loop of every
// heartbeat (workers, slaves, queue consumers). The first call comes one
// interval after the start, since each caller set its heartbeat as it
// joined; beat logs its own errors.
func Heartbeat(ctx context.Context, interval time.Duration, beat func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			beat()
		}
	}
}

// Sleep waits d or until ctx is done, and reports whether the full d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
