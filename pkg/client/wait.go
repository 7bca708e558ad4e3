package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rrr-dev/rrr/pkg/host"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// WaitOptions tune Wait.
type WaitOptions struct {
	// Timeout gives up waiting (verdict Infra) and leaves the taskset
	// running; 0 waits for ever.
	Timeout time.Duration
	// Interrupts delivers SIGINT/SIGTERM. The first cancels the taskset
	// (CancelOnSignal) or stops waiting; a second returns at once.
	Interrupts     <-chan os.Signal
	CancelOnSignal bool
	// TTY rewrites the progress line in place; Quiet prints none.
	TTY   bool
	Quiet bool
	// WorkerWarnAfter is how long to wait for a worker to take the taskset
	// before saying why none does (default 15 s).
	WorkerWarnAfter time.Duration
	// Poll is the longest time between two reads (default 1 s); events of
	// the taskset wake the loop sooner.
	Poll time.Duration
	// ProgressEvery is the interval of progress lines on a non-terminal
	// (default 10 s).
	ProgressEvery time.Duration
	// RedisGrace is how long Redis may stay unreachable before Wait gives
	// up (default 1 min).
	RedisGrace time.Duration
}

// Outcome is how a wait ended.
type Outcome struct {
	Key string
	// Snapshot is the taskset with outputs and logs, as it ended (or as it
	// stood when the wait stopped); nil after a second signal.
	Snapshot *model.Snapshot
	Verdict  model.Verdict
	// Note says why the wait stopped before the taskset finished, if it did.
	Note string
}

// Wait blocks until the taskset finishes, showing progress on c.Stderr, and
// returns its outcome. It wakes on the taskset's events channel and reads
// at least every Poll. Errors are only for what prevents waiting: a taskset
// that does not exist, Redis unreachable for longer than RedisGrace.
func (c *Client) Wait(ctx context.Context, key string, opt WaitOptions) (*Outcome, error) {
	if opt.WorkerWarnAfter == 0 {
		opt.WorkerWarnAfter = 15 * time.Second
	}
	if opt.Poll == 0 {
		opt.Poll = time.Second
	}
	if opt.RedisGrace == 0 {
		opt.RedisGrace = time.Minute
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The loop runs apart so that a second signal returns at once, even
	// while a Redis call hangs (go-redis does not abort a read on cancel);
	// what the abandoned loop would still print is dropped.
	first := make(chan os.Signal, 1)
	out := &gate{w: c.Stderr}
	res := make(chan waitResult, 1)
	go func() {
		o, err := c.wait(wctx, key, opt, first, out)
		res <- waitResult{o, err}
	}()
	n := 0
	for {
		select {
		case r := <-res:
			return r.o, r.err
		case s := <-opt.Interrupts:
			n++
			if n == 1 {
				// Said here, at once: the loop may be stuck in a Redis
				// call that does not answer (it acts when it is back).
				if opt.CancelOnSignal {
					clear := ""
					if opt.TTY {
						clear = "\r\033[K" // the progress line
					}
					fmt.Fprintf(out, "%srrr: %s: cancelling the taskset (a second signal exits at once)\n", clear, s)
				}
				first <- s
				continue
			}
			out.close()
			return &Outcome{Key: key, Verdict: model.Cancelled, Note: "a second signal: stopped at once"}, nil
		}
	}
}

type waitResult struct {
	o   *Outcome
	err error
}

// gate is a writer that can be shut.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// wait is the loop of Wait; first delivers the first signal.
func (c *Client) wait(wctx context.Context, key string, opt WaitOptions, first <-chan os.Signal, out io.Writer) (*Outcome, error) {
	// final reads the taskset whole; unfinished is the verdict when it has
	// not finished (the wait stopped early, note says why).
	var pr *Printer
	final := func(unfinished model.Verdict, note string) (*Outcome, error) {
		if pr != nil {
			pr.Clear()
		}
		s, err := c.Load(wctx, key, model.LoadOptions{Output: true, Logs: true})
		if err != nil {
			return nil, err
		}
		o := &Outcome{Key: key, Snapshot: s, Verdict: model.VerdictOf(s.Taskset)}
		if o.Verdict == model.Running {
			o.Verdict, o.Note = unfinished, note
		}
		return o, nil
	}

	if !opt.Quiet {
		pr = &Printer{W: out, TTY: opt.TTY, Every: opt.ProgressEvery}
	}
	say := func(format string, args ...any) {
		if pr != nil {
			pr.Say(format, args...)
		} else {
			fmt.Fprintf(out, "rrr: "+format+"\n", args...)
		}
	}

	sub := c.Schema.SubscribeEvents(wctx, key)
	defer sub.Close()
	events, err := schema.ConfirmedEvents(wctx, sub)
	if err != nil {
		c.Log.Warn().Err(err).Str("taskset", key).Msg("no events subscription; reading every poll interval")
	}

	// Trial times come from the Redis clock; measure against it.
	var skew time.Duration
	if t, err := c.Schema.Now(wctx); err == nil {
		skew = t.Sub(c.now())
	}

	var timeout <-chan time.Time
	if opt.Timeout > 0 {
		t := time.NewTimer(opt.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	tick := time.NewTicker(opt.Poll)
	defer tick.Stop()

	start := c.now()
	warned := false
	var failingSince, unreadableSince time.Time
	for {
		began := time.Now()
		snap, err := c.Reader.Load(wctx, key, model.LoadOptions{})
		// Events can come by the thousand on a big taskset: a read after an
		// event waits until twice the last read's time has passed, so that
		// waiting never keeps Redis busy.
		gap := max(minEventGap, 2*time.Since(began))
		lastRead := time.Now()
		switch {
		case err == nil:
			failingSince = time.Time{}
			if schema.IsFinal(snap.Status) {
				return final(model.Running, "")
			}
			if bad := snap.Unreadable; bad != nil {
				// The server fails such a taskset (status_reason) at its next
				// check; without a server, waiting cannot end well.
				if unreadableSince.IsZero() {
					unreadableSince = c.now()
					say("the taskset cannot be read (%s); waiting up to %s for the server to set it aside", bad.Reason(), opt.RedisGrace)
				} else if c.now().Sub(unreadableSince) > opt.RedisGrace {
					return nil, fmt.Errorf("wait for %s: %w (is `rrr server` running?)", key, bad)
				}
			}
			if pr != nil {
				pr.Update(ComputeProgress(snap, c.now().Add(skew)), c.now())
			}
			if !warned && c.now().Sub(start) >= opt.WorkerWarnAfter && nobodyTookIt(snap) {
				warned = true
				if hint := c.workerHint(wctx, snap, c.now().Sub(start)); hint != "" {
					say("%s", hint)
				}
			}
		case wctx.Err() != nil:
			return nil, wctx.Err()
		case errors.Is(err, model.ErrNotFound):
			// Not in Redis: never created, or finished, persisted and expired.
			s, err := c.Load(wctx, key, model.LoadOptions{Output: true, Logs: true})
			if err != nil {
				return nil, err
			}
			return &Outcome{Key: key, Snapshot: s, Verdict: model.VerdictOf(s.Taskset)}, nil
		case errors.Is(err, model.ErrMalformed):
			return nil, fmt.Errorf("wait for %s: %w", key, err)
		default:
			if failingSince.IsZero() {
				failingSince = c.now()
				say("cannot read the taskset (%v); retrying for %s", err, opt.RedisGrace)
			} else if c.now().Sub(failingSince) > opt.RedisGrace {
				return nil, fmt.Errorf("wait for %s: redis unreachable for %s: %w", key, opt.RedisGrace, err)
			}
		}

		var soon <-chan time.Time
		for waiting := true; waiting; {
			select {
			case <-wctx.Done():
				return nil, wctx.Err()
			case sig := <-first:
				if !opt.CancelOnSignal {
					say("%s: stopped waiting; the taskset goes on (`rrr waitfor %s` to wait again, `rrr cancel %s` to stop it)",
						sig, key, key)
					return final(model.Cancelled, "stopped waiting on "+sig.String())
				}
				reason := fmt.Sprintf("%s while %s waited on %s", sig, whoami(), host.Name())
				if _, err := c.Cancel(wctx, key, reason); err != nil {
					say("could not cancel %s: %v", key, err)
				}
				waiting = false
			case <-timeout:
				say("gave up waiting after %s; the taskset goes on (`rrr cancel %s` to stop it)", opt.Timeout, key)
				return final(model.Infra, "wait timed out after "+opt.Timeout.String())
			case _, ok := <-events:
				if !ok {
					events = nil
				}
				if soon == nil {
					soon = time.After(max(0, gap-time.Since(lastRead)))
				}
			case <-soon:
				waiting = false
			case <-tick.C:
				waiting = false
			}
		}
	}
}

// minEventGap is the least time between two reads woken by events.
const minEventGap = 50 * time.Millisecond

// nobodyTookIt: no worker has a log of the taskset and no trial started.
func nobodyTookIt(s *model.Snapshot) bool {
	if len(s.WorkerLogs) > 0 {
		return false
	}
	for _, t := range s.Tasks {
		if len(t.Trials) > 0 {
			return false
		}
	}
	return true
}

// workerHint says why no worker has taken the taskset after a while.
func (c *Client) workerHint(ctx context.Context, s *model.Snapshot, waited time.Duration) string {
	workers, _, err := c.Reader.Workers(ctx)
	if err != nil {
		return ""
	}
	live, busy := 0, 0
	for _, w := range workers {
		if !w.Alive || w.WorkerType != s.WorkerType {
			continue
		}
		live++
		if w.Taskset != "" && w.Taskset != s.Key {
			busy++
		}
	}
	waited = waited.Round(time.Second)
	switch {
	case live == 0:
		return fmt.Sprintf("no live worker of type %q after %s: start one (`rrr worker --worker-type %s`) or check `rrr nodes`; still waiting",
			s.WorkerType, waited, s.WorkerType)
	case busy == live:
		return fmt.Sprintf("all %d live workers of type %q are busy with other tasksets (see `rrr actives`); this one waits its turn",
			live, s.WorkerType)
	}
	return fmt.Sprintf("%d live workers of type %q, %d idle, have not taken the taskset after %s: is `rrr server` (the dispatcher) running?",
		live, s.WorkerType, live-busy, waited)
}

func whoami() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "rrr"
}
