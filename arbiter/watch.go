package arbiter

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/schema"
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
	found, err := a.lostSlaves(ctx)
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

// lostSlaves reads, for each active taskset, its slaves that have neither
// a heartbeat nor an exit status: dead, or cut off for longer than their
// TTL. Three pipelined rounds, whatever the number of tasksets and slaves.
func (a *Arbiter) lostSlaves(ctx context.Context) (map[string][]string, error) {
	active, err := a.rdb.LRange(ctx, a.c.Keys.ActiveTaskset(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read active tasksets: %w", err)
	}
	lists := make([]*redis.StringSliceCmd, len(active))
	if err := redisx.Pipelined(ctx, a.rdb, len(active), func(p redis.Pipeliner, i int) {
		lists[i] = p.LRange(ctx, schema.TasksetSlaves(active[i]), 0, -1)
	}); err != nil {
		return nil, fmt.Errorf("read slaves of active tasksets: %w", err)
	}
	type slave struct {
		ts, key string
		beat    *redis.IntCmd
		status  *redis.StringCmd
	}
	var slaves []*slave
	for i, l := range lists {
		for _, key := range l.Val() {
			slaves = append(slaves, &slave{ts: active[i], key: key})
		}
	}
	if err := redisx.Pipelined(ctx, a.rdb, len(slaves), func(p redis.Pipeliner, i int) {
		slaves[i].beat = p.Exists(ctx, schema.Heartbeat(slaves[i].key))
		slaves[i].status = p.HGet(ctx, slaves[i].key, schema.FStatus)
	}); err != nil {
		return nil, fmt.Errorf("read slave heartbeats: %w", err)
	}
	found := map[string][]string{}
	for _, s := range slaves {
		if s.beat.Err() != nil || s.beat.Val() == 1 || s.status.Val() != "" {
			continue // alive, exited and said so, or not known to be dead
		}
		found[s.ts] = append(found[s.ts], s.key)
	}
	return found, nil
}
