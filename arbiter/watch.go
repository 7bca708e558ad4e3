package arbiter

import (
	"context"
	"fmt"
	"time"
)

// DefaultWatchInterval is how often the arbiter looks at the heartbeats of
// the slaves working on active tasksets. With the slaves' default heartbeat
// (a 4 s TTL refreshed every second), a slave that dies with its worker is
// found lost at most 4.5 s after it died, and its trial runs again at once.
const DefaultWatchInterval = 500 * time.Millisecond

// watch is the fast half of recovery. The sweep checks every active
// taskset in full every SweepInterval, reading all of its left tasks; this
// reads only the slaves of each active taskset (their heartbeat and
// status, a few commands per slave) every WatchInterval, and checks a
// taskset at once when one of its slaves has lost its heartbeat without
// saying how it exited. So recovery waits for a heartbeat TTL, not for a
// sweep, and costs nothing while every slave lives.
func (a *Arbiter) watch(ctx context.Context) {
	lost := map[string]bool{} // slaves found lost and checked for: once each
	wait := a.cfg.WatchInterval
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		err := a.watchOnce(ctx, lost)
		if err == nil {
			wait = a.cfg.WatchInterval
			continue
		}
		// Redis is away or refusing: the main loop says so and retries;
		// the watch backs off rather than add its own dials to an outage.
		wait = min(2*wait, watchBackoffMax)
		if ctx.Err() == nil && a.bad("watch") {
			a.log.Warn().Err(err).Msg("watching slave heartbeats (the sweep still recovers lost work)")
		}
	}
}

// watchBackoffMax bounds the wait of the watch after a failure.
const watchBackoffMax = 10 * time.Second

// watchOnce checks every active taskset that has a slave newly found lost.
// lost holds the slaves found lost before; it is pruned to the slaves of
// active tasksets.
func (a *Arbiter) watchOnce(ctx context.Context, lost map[string]bool) error {
	if a.inOutageGrace() {
		return nil // heartbeats may have expired with Redis away; the sweep comes back to it
	}
	found, err := a.c.LostSlaves(ctx)
	if err != nil {
		return err
	}
	now := map[string]bool{}
	for ts, slaves := range found {
		fresh := false
		for _, s := range slaves {
			now[s] = true
			fresh = fresh || !lost[s]
		}
		if !fresh {
			continue
		}
		a.log.Info().Str("taskset", ts).Strs("slaves", slaves).Msg("slave heartbeat gone: checking the taskset now")
		if err := a.Check(ctx, ts); err != nil {
			return fmt.Errorf("check %s: %w", ts, err)
		}
		for _, s := range slaves {
			lost[s] = true
		}
	}
	for s := range lost {
		if !now[s] {
			delete(lost, s)
		}
	}
	return nil
}
