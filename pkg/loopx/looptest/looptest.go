package looptest

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
)

// Buffer collects what a goroutine or a child process writes while the test
// reads it; it is safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logs collects JSON log lines; it is safe for concurrent use.
type Logs struct{ Buffer }

// Logger returns a debug-level logger writing to l.
func (l *Logs) Logger() zerolog.Logger {
	return zerolog.New(l).Level(zerolog.DebugLevel).With().Timestamp().Logger()
}

// Lines returns the lines written so far, decoded.
func (l *Logs) Lines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// Count returns how many lines have level and a message containing msg.
func (l *Logs) Count(level, msg string) int {
	n := 0
	for _, m := range l.Lines() {
		if m["level"] == level && strings.Contains(m["message"].(string), msg) {
			n++
		}
	}
	return n
}

// Find returns the lines with a message containing msg.
func (l *Logs) Find(msg string) []map[string]any {
	var out []map[string]any
	for _, m := range l.Lines() {
		if s, _ := m["message"].(string); strings.Contains(s, msg) {
			out = append(out, m)
		}
	}
	return out
}

// Start runs run in a goroutine; the returned stop cancels it and waits for
// it to return nil (within 10 s). Stop is also called at the end of the test.
func Start(t *testing.T, run func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err, "a loop returns nil when stopped")
			case <-time.After(10 * time.Second):
				t.Errorf("the loop did not stop within 10s of its context being cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Outage runs f as parallel subtests on a miniredis and on a real
// redis-server of its own (with an append-only file), with down and up
// functions that stop that Redis and bring it back with its data.
func Outage(t *testing.T, f func(t *testing.T, b redistest.Backend, down, up func())) {
	t.Helper()
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		b := redistest.Mini(t)
		up := func() {
			// Close cancels the context blocking commands wait under and
			// Restart does not renew it, so that after a restart BLMOVE
			// never times out (miniredis v2.40). Renew it while no command runs.
			b.Mini.Lock()
			b.Mini.Ctx, b.Mini.CtxCancel = context.WithCancel(context.Background())
			b.Mini.Unlock()
			require.NoError(t, b.Mini.Restart())
		}
		f(t, b, b.Mini.Close, up)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		if redistest.Binary() == "" && !redistest.Required() {
			t.Skip("real Redis: redis-server not found")
		}
		s, err := redistest.Start(redistest.Options{AppendOnly: true})
		require.NoError(t, err)
		t.Cleanup(s.Stop)
		rdb := s.Client()
		t.Cleanup(func() { _ = rdb.Close() })
		b := redistest.Backend{Name: "redis", RDB: rdb, NS: redistest.Namespace(t), URL: s.URL()}
		f(t, b, s.Kill, func() { require.NoError(t, s.Restart()) })
	})
}
