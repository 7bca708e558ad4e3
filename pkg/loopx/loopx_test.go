package loopx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// reply is a Redis error reply, as go-redis returns them.
type reply string

func (r reply) Error() string { return string(r) }
func (reply) RedisError()     {}

func TestPermanent(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"nil":             {nil, false},
		"cancelled":       {fmt.Errorf("take: %w", context.Canceled), false},
		"bad input":       {fmt.Errorf("x: %w", loopx.ErrBadInput), true},
		"script refusal":  {fmt.Errorf("settle: %w: no such task", schema.ErrInvalid), true},
		"malformed hash":  {fmt.Errorf("load: %w", model.ErrMalformed), true},
		"missing object":  {fmt.Errorf("load: %w", model.ErrNotFound), true},
		"stale read":      {fmt.Errorf("settle: %w", schema.ErrStale), false},
		"connection":      {fmt.Errorf("take: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), false},
		"wrong type":      {fmt.Errorf("x: %w", reply("WRONGTYPE Operation against a key holding the wrong kind of value")), true},
		"script error":    {reply("ERR user_script:1: Script attempted to access nonexistent global variable"), true},
		"loading":         {reply("LOADING Redis is loading the dataset in memory"), false},
		"too many":        {reply("ERR max number of clients reached"), false},
		"read only":       {reply("READONLY You can't write against a read only replica."), false},
		"plain go error":  {errors.New("disk full"), false},
		"redis nil reply": {fmt.Errorf("x: %w", redisNil{}), false},
	} {
		require.Equal(t, tc.want, loopx.Permanent(tc.err), name)
	}
}

// redisNil stands for redis.Nil, which is also an error reply.
type redisNil struct{}

func (redisNil) Error() string { return "redis: nil" }
func (redisNil) RedisError()   {}
func (redisNil) Is(target error) bool {
	return target != nil && target.Error() == "redis: nil"
}

func TestSafe(t *testing.T) {
	require.NoError(t, loopx.Safe(func() error { return nil }))
	plain := errors.New("plain")
	require.Equal(t, plain, loopx.Safe(func() error { return plain }))
	err := loopx.Safe(func() error { panic("boom") })
	require.ErrorIs(t, err, loopx.ErrPanic)
	require.True(t, loopx.Permanent(err), "a panic is not retried")
	require.Contains(t, err.Error(), "boom")
}

func TestHealthLogsOncePerInterval(t *testing.T) {
	var logs looptest.Logs
	now := time.Unix(1000, 0)
	h := loopx.NewHealth(logs.Logger(), 10*time.Millisecond, 50*time.Millisecond, time.Minute, func() time.Time { return now })
	var waits []time.Duration
	for range 5 {
		waits = append(waits, h.Fail("take a command", errors.New("connection refused")))
	}
	require.Equal(t, []time.Duration{10, 20, 40, 50, 50}, scale(waits, time.Millisecond), "the backoff doubles up to its bound")
	require.Equal(t, 1, logs.Count("error", "cannot take a command"), "five failures in one interval log once")
	require.Equal(t, 5, h.Failing())

	now = now.Add(time.Minute)
	h.Fail("take a command", errors.New("connection refused"))
	var lines []map[string]any
	for _, l := range logs.Find("cannot take a command") {
		if l["level"] == "error" {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 2, "one more line per interval")
	require.EqualValues(t, 4, lines[1]["not_logged"], "the line says how many failures it stands for")
	require.Equal(t, 4, logs.Count("debug", "cannot take a command"), "the others are debug lines")

	h.OK()
	h.OK()
	require.Equal(t, 1, logs.Count("info", "working again"), "the recovery is logged once")
	require.Zero(t, h.Failing())
	require.Equal(t, 10*time.Millisecond, h.Fail("x", errors.New("again")), "the backoff starts over")
	h.OK()
	require.Equal(t, 1, logs.Count("info", "working again"), "a failure that was not logged has no recovery line")
}

func scale(ds []time.Duration, unit time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d / unit
	}
	return out
}

var ctx = context.Background()

// handler records what it handled and fails as told.
type handler struct {
	mu      sync.Mutex
	handled []string
	fail    map[string]int // entry -> transient failures left
}

func (h *handler) handle(_ context.Context, entry string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handled = append(h.handled, entry)
	switch entry {
	case "poison":
		return fmt.Errorf("entry %q: %w", entry, loopx.ErrBadInput)
	case "panic":
		var m map[string]int
		m["boom"]++ // a bug that a malformed value triggers
	}
	if h.fail[entry] > 0 {
		h.fail[entry]--
		return errors.New("connection reset")
	}
	return nil
}

func (h *handler) count(entry string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.handled {
		if e == entry {
			n++
		}
	}
	return n
}

func testConfig() loopx.ConsumerConfig {
	return loopx.ConsumerConfig{PopTimeout: time.Second, ConsumerTTL: 5 * time.Second, BeatInterval: 50 * time.Millisecond,
		RecoverInterval: 50 * time.Millisecond, TickInterval: 50 * time.Millisecond}.WithDefaults()
}

func consumer(b redistest.Backend, id string, h *handler, logs *looptest.Logs) (*loopx.Consumer, *schema.Client) {
	c := schema.NewClient(b.RDB, b.NS)
	log := logs.Logger()
	return &loopx.Consumer{Queue: c.Queue(c.Keys.ArbiterQueue(), id), Config: testConfig(), Handle: h.handle,
		Log: log, Health: loopx.NewHealth(log, time.Millisecond, 10*time.Millisecond, time.Hour, nil), Now: time.Now}, c
}

func TestConsumerHandlesRetriesAndSkips(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		var logs looptest.Logs
		h := &handler{fail: map[string]int{"flaky": 2}}
		cons, c := consumer(b, "c1", h, &logs)
		q := c.Keys.ArbiterQueue()
		// an entry taken in an earlier life of this consumer id, never acked
		require.NoError(t, b.RDB.RPush(ctx, schema.Processing(q, "c1"), "old").Err())
		require.NoError(t, b.RDB.RPush(ctx, q, "flaky", "poison", "panic", "ok").Err())
		ticks := make(chan struct{}, 100)
		cons.Tick = func(context.Context) error { ticks <- struct{}{}; return nil }

		stop := looptest.Start(t, cons.Run)
		require.Eventually(t, func() bool { return h.count("ok") == 1 }, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, "old", h.handled[0], "pending entries of the same id come first")
		require.Equal(t, 3, h.count("flaky"), "a transient failure is retried until it succeeds")
		require.Equal(t, 1, h.count("poison"), "a permanent failure is not retried")
		require.Equal(t, 1, h.count("panic"), "a handler that panics drops the entry, and the loop goes on")
		require.Equal(t, 1, logs.Count("warn", "skipping an entry"), logs.String())
		require.Equal(t, 1, logs.Count("error", "skipping an entry"), "a panic is logged as an error")
		require.Equal(t, 1, logs.Count("error", "cannot handle an entry"), "two failures in one interval log once")
		require.Equal(t, 1, logs.Count("info", "working again"))
		require.Eventually(t, func() bool { return len(ticks) >= 2 }, 10*time.Second, 5*time.Millisecond, "the tick repeats")
		stop()

		for _, k := range []string{q, schema.Processing(q, "c1")} {
			n, err := b.RDB.LLen(ctx, k).Result()
			require.NoError(t, err)
			require.Zero(t, n, "%s: every entry was acknowledged", k)
		}
		ids, err := b.RDB.SMembers(ctx, schema.Consumers(q)).Result()
		require.NoError(t, err)
		require.Empty(t, ids, "a stopped consumer leaves")
	})
}

func TestConsumerRecoversDeadConsumerAndHandsBackOnStop(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		var logs looptest.Logs
		h := &handler{}
		cons, c := consumer(b, "live", h, &logs)
		q := c.Keys.ArbiterQueue()
		// a consumer takes an entry and dies before acknowledging it
		dead := c.Queue(q, "dead")
		require.NoError(t, dead.Join(ctx, time.Minute))
		require.NoError(t, b.RDB.RPush(ctx, q, "lost").Err())
		got, err := dead.Take(ctx, time.Second)
		require.NoError(t, err)
		require.Equal(t, "lost", got)

		stop := looptest.Start(t, cons.Run)
		require.NoError(t, b.RDB.RPush(ctx, q, "first").Err())
		require.Eventually(t, func() bool { return h.count("first") == 1 }, 10*time.Second, 5*time.Millisecond)
		require.Zero(t, h.count("lost"), "a live consumer keeps what it holds")

		require.NoError(t, b.RDB.Del(ctx, schema.Heartbeat(schema.Processing(q, "dead"))).Err())
		require.Eventually(t, func() bool { return h.count("lost") == 1 }, 10*time.Second, 5*time.Millisecond,
			"the entry of the dead consumer is recovered and handled")
		require.GreaterOrEqual(t, logs.Count("warn", "handed back entries of a dead consumer"), 1)
		stop()

	})
}

func TestConsumerStopFinishesEntryInHandAndHandsBackTheRest(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		var logs looptest.Logs
		cons, c := consumer(b, "c1", &handler{}, &logs)
		q := c.Keys.ArbiterQueue()
		require.NoError(t, b.RDB.RPush(ctx, schema.Processing(q, "c1"), "slow", "later").Err())
		started, release := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		var handled []string
		cons.Handle = func(hctx context.Context, entry string) error {
			if entry == "slow" {
				close(started)
				<-release
			}
			mu.Lock()
			handled = append(handled, entry)
			mu.Unlock()
			return hctx.Err() // the entry in hand is handled with a live context
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- cons.Run(runCtx) }()
		<-started
		cancel() // the stop comes while "slow" is in hand
		close(release)
		require.NoError(t, <-done)
		require.Equal(t, []string{"slow"}, handled, "the entry in hand is finished, the next is not started")
		v, err := b.RDB.LRange(ctx, q, 0, -1).Result()
		require.NoError(t, err)
		require.Equal(t, []string{"later"}, v, "what the consumer still held is handed back")
		n, err := b.RDB.Exists(ctx, schema.Processing(q, "c1")).Result()
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

func TestConsumerConfigValidation(t *testing.T) {
	good := loopx.ConsumerConfig{}.WithDefaults()
	require.NoError(t, good.Validate())
	for name, c := range map[string]loopx.ConsumerConfig{
		"pop under a second":   {PopTimeout: 100 * time.Millisecond},
		"beat slower than ttl": {ConsumerTTL: time.Second, BeatInterval: 2 * time.Second},
		"negative tick":        {TickInterval: -1},
	} {
		require.Error(t, c.WithDefaults().Validate(), name)
	}
}

func TestFailingTickDoesNotBlockTheQueue(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		var logs looptest.Logs
		h := &handler{}
		cons, c := consumer(b, "c1", h, &logs)
		var ticks atomic.Int32
		cons.Tick = func(context.Context) error { ticks.Add(1); return errors.New("sweep: connection reset") }
		looptest.Start(t, cons.Run)
		require.NoError(t, b.RDB.RPush(ctx, c.Keys.ArbiterQueue(), "one", "two").Err())
		require.Eventually(t, func() bool { return h.count("two") == 1 && ticks.Load() >= 3 }, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, 1, logs.Count("error", "cannot run the periodic sweep"))
	})
}

// go-redis's own lines (one per failed dial) go through zerolog,
// rate-limited: a hundred dials in an interval are one warning.
func TestRedisLoggerIsRateLimited(t *testing.T) {
	logs := &looptest.Logs{}
	now := time.Unix(1000, 0)
	l := loopx.NewRedisLogger(logs.Logger(), 30*time.Second, func() time.Time { return now })
	for range 100 {
		l.Printf(context.Background(), "redis: connection pool: failed to dial: %s", "connection refused")
		now = now.Add(100 * time.Millisecond)
	}
	require.Equal(t, 1, logs.Count("warn", "failed to dial"))
	now = now.Add(30 * time.Second)
	l.Printf(context.Background(), "redis: connection pool: failed to dial: %s", "connection refused")
	lines := logs.Find("failed to dial")
	require.Equal(t, 2, logs.Count("warn", "failed to dial"))
	last := lines[len(lines)-1]
	require.Equal(t, "go-redis", last["component"])
	require.EqualValues(t, 99, last["not_logged"])
}

// RecoveredAt marks the end of an outage, not of a corrupt key's failures:
// the arbiter's grace for heartbeats follows it.
func TestHealthRecoveredAtFollowsOutagesOnly(t *testing.T) {
	now := time.Unix(1000, 0)
	h := loopx.NewHealth((&looptest.Logs{}).Logger(), 0, 0, 0, func() time.Time { return now })
	require.True(t, h.RecoveredAt().IsZero())
	h.Fail("take", fmt.Errorf("read: %w", schema.ErrWrongType))
	h.OK()
	require.True(t, h.RecoveredAt().IsZero(), "a corrupt key is not an outage")
	h.Fail("take", errors.New("dial tcp: connection refused"))
	now = now.Add(time.Second)
	h.OK()
	require.Equal(t, now, h.RecoveredAt())
}

func TestHeartbeatBeatsOnItsIntervalUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var beats atomic.Int32
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		loopx.Heartbeat(ctx, 20*time.Millisecond, func() { beats.Add(1) })
	}()
	require.Eventually(t, func() bool { return beats.Load() >= 3 }, 5*time.Second, 5*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond, "the first beat waits an interval")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Heartbeat did not return after its context ended")
	}
}
