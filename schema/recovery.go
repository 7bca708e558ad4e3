package schema

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reads and writes of the arbiter's recovery and the persister's expiry
// (arbiter/check.go, arbiter/watch.go, persister/persister.go).

// TrialLists reads the trial lists of tasks. corrupt[i] is set, and
// lists[i] empty, when Redis refused the list of tasks[i].
func (c *Client) TrialLists(ctx context.Context, tasks []string) (lists [][]string, corrupt []bool, err error) {
	cmds := make([]*redis.StringSliceCmd, len(tasks))
	if err := c.pipelined(ctx, len(tasks), func(p redis.Pipeliner, i int) {
		cmds[i] = p.LRange(ctx, TaskTrials(tasks[i]), 0, -1)
	}, keepMissingOrWrong); err != nil {
		return nil, nil, err
	}
	lists, corrupt = make([][]string, len(tasks)), make([]bool, len(tasks))
	for i, cm := range cmds {
		if err := cm.Err(); err != nil && !errors.Is(err, redis.Nil) {
			if !IsWrongType(err) {
				return nil, nil, fmt.Errorf("read trial list of %s: %w", tasks[i], err)
			}
			corrupt[i] = true
			continue
		}
		lists[i] = cm.Val()
	}
	return lists, corrupt, nil
}

// Untry makes each of tasks takeable again by the live slaves of taskset
// ts when every one of them has taken it before (lua/untry.lua), and
// returns the tasks it released.
func (c *Client) Untry(ctx context.Context, ts string, tasks, liveSlaves []string) ([]string, error) {
	if len(tasks) == 0 || len(liveSlaves) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(liveSlaves)+1)
	keys = append(keys, Events(ts))
	for _, s := range liveSlaves {
		keys = append(keys, SlaveTried(s))
	}
	args := make([]any, len(tasks))
	for i, t := range tasks {
		args[i] = t
	}
	v, err := scriptUntry.Run(ctx, c.rdb, keys, args...).StringSlice()
	if err != nil {
		return nil, scriptErr("untry", err)
	}
	return v, nil
}

// LostSlaves reads, for each active taskset, its slaves that have neither
// a heartbeat nor an exit status: dead, or cut off for longer than their
// TTL. Three pipelined rounds, whatever the number of tasksets and slaves.
func (c *Client) LostSlaves(ctx context.Context) (map[string][]string, error) {
	active, err := c.ActiveTasksets(ctx)
	if err != nil {
		return nil, err
	}
	lists := make([]*redis.StringSliceCmd, len(active))
	if err := c.pipelined(ctx, len(active), func(p redis.Pipeliner, i int) {
		lists[i] = p.LRange(ctx, TasksetSlaves(active[i]), 0, -1)
	}, keepMissingOrWrong); err != nil {
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
	if err := c.pipelined(ctx, len(slaves), func(p redis.Pipeliner, i int) {
		slaves[i].beat = p.Exists(ctx, Heartbeat(slaves[i].key))
		slaves[i].status = p.HGet(ctx, slaves[i].key, FStatus)
	}, keepMissingOrWrong); err != nil {
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

// ExpireTaskset sets the expiry of every key of taskset ts and returns how
// many keys it named. Keys are read from Redis, not from a snapshot, so
// that objects that did not decode expire too. A heartbeat keeps its own
// short TTL: only one without any gets keep.
func (c *Client) ExpireTaskset(ctx context.Context, ts string, keep time.Duration) (int, error) {
	var tasksCmd, logsCmd, slavesCmd *redis.StringSliceCmd
	if _, err := c.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		tasksCmd = pl.LRange(ctx, Tasks(ts), 0, -1)
		logsCmd = pl.LRange(ctx, WorkerLogs(ts), 0, -1)
		slavesCmd = pl.LRange(ctx, TasksetSlaves(ts), 0, -1)
		return nil
	}); err != nil {
		return 0, fmt.Errorf("expire taskset %s: %w", ts, err)
	}
	keys := []string{ts, TasksetLog(ts), TasksetSlaves(ts), WorkerLogs(ts),
		TaskQueue(ts), Tasks(ts), TasksLeft(ts), Assigned(ts), Batched(ts)}
	// Tasks, their trial lists and trials: a script call per chunk of
	// tasks rather than a command per key.
	named, err := c.ExpireTasks(ctx, tasksCmd.Val(), keep)
	if err != nil {
		return 0, fmt.Errorf("expire taskset %s: %w", ts, err)
	}
	for _, l := range logsCmd.Val() {
		keys = append(keys, l, WorkerLogText(l), FastFailures(l))
	}
	slaves := slavesCmd.Val()
	ttls := make([]*redis.DurationCmd, len(slaves))
	if err := c.pipelined(ctx, len(slaves), func(pl redis.Pipeliner, i int) {
		ttls[i] = pl.PTTL(ctx, Heartbeat(slaves[i]))
	}, keepMissingOrWrong); err != nil {
		return 0, fmt.Errorf("expire taskset %s: read slave heartbeats: %w", ts, err)
	}
	for i, s := range slaves {
		keys = append(keys, s, SlaveTrials(s), SlaveLog(s), SlaveTried(s))
		if ttls[i].Val() == -1 { // present without a TTL (-2: gone)
			keys = append(keys, Heartbeat(s))
		}
	}
	if err := c.pipelined(ctx, len(keys), func(pl redis.Pipeliner, i int) {
		pl.Expire(ctx, keys[i], keep)
	}, keepMissingOrWrong); err != nil {
		return 0, fmt.Errorf("expire taskset %s: %w", ts, err)
	}
	return named + len(keys), nil
}
