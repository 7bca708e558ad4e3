package schema

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The read side of the protocol: every read of a part, the client, the
// dashboard and the CLI goes through these methods, so that the keys and
// fields rrr reads, like the scripts it writes with, are all in this
// package (docs/protocol.md). Reads of many keys are pipelined in chunks of
// PipelineChunk commands.

// PipelineChunk bounds the commands of one pipelined round trip, so that a
// taskset of thousands of specs does not build one huge request.
const PipelineChunk = 1000

// pipelined sends add(p, i) for i in [0, n) in chunks of PipelineChunk.
// keep says which failures stay on their commands for the caller to read;
// any other ends the reads and is returned.
func (c *Client) pipelined(ctx context.Context, n int, add func(p redis.Pipeliner, i int), keep func(error) bool) error {
	for start := 0; start < n; start += PipelineChunk {
		end := min(start+PipelineChunk, n)
		_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := start; i < end; i++ {
				add(p, i)
			}
			return nil
		})
		if err != nil && !keep(err) {
			return err
		}
	}
	return nil
}

// keepMissingOrWrong keeps a missing key's Nil and a WRONGTYPE reply on
// their commands.
func keepMissingOrWrong(err error) bool { return errors.Is(err, redis.Nil) || IsWrongType(err) }

// each runs one command per key in pipelined chunks and returns the value
// of each, in the order of keys. A missing string key is "" (Nil is not an
// error here). A key Redis refuses (WRONGTYPE: a corrupt value) is named in
// *problems, with what to do, and reads as zero, when problems is not nil;
// any other failure is an error.
func each[C interface {
	Val() V
	Err() error
}, V any](ctx context.Context, c *Client, keys []string, problems *[]string,
	cmd func(p redis.Pipeliner, key string) C) ([]V, error) {
	cmds := make([]C, len(keys))
	err := c.pipelined(ctx, len(keys), func(p redis.Pipeliner, i int) { cmds[i] = cmd(p, keys[i]) },
		func(err error) bool {
			var reply redis.Error
			return errors.Is(err, redis.Nil) || (problems != nil && errors.As(err, &reply))
		})
	if err != nil {
		return nil, err
	}
	out := make([]V, 0, len(keys))
	for i, cm := range cmds {
		var zero V
		if err := cm.Err(); err != nil && !errors.Is(err, redis.Nil) {
			var reply redis.Error
			if problems == nil || !errors.As(err, &reply) {
				return nil, err
			}
			*problems = append(*problems, Refused(keys[i], err))
			out = append(out, zero)
			continue
		}
		out = append(out, cm.Val())
	}
	return out, nil
}

// Refused says that Redis refused a command on key (WRONGTYPE: something
// wrote another kind of value there), and what to do.
func Refused(key string, err error) string {
	return fmt.Sprintf("%s: %v (the key holds a value of the wrong kind: delete it, or fix what wrote it)", key, err)
}

// Hashes reads many hashes whole (a missing one is empty). A key Redis
// refuses is named in *problems and reads as empty when problems is not
// nil, an error otherwise.
func (c *Client) Hashes(ctx context.Context, keys []string, problems *[]string) ([]map[string]string, error) {
	return each(ctx, c, keys, problems, func(p redis.Pipeliner, k string) *redis.MapStringStringCmd { return p.HGetAll(ctx, k) })
}

// Lists reads many lists whole, as Hashes.
func (c *Client) Lists(ctx context.Context, keys []string, problems *[]string) ([][]string, error) {
	return each(ctx, c, keys, problems, func(p redis.Pipeliner, k string) *redis.StringSliceCmd { return p.LRange(ctx, k, 0, -1) })
}

// Strings reads many strings ("" for a missing one), as Hashes.
func (c *Client) Strings(ctx context.Context, keys []string, problems *[]string) ([]string, error) {
	return each(ctx, c, keys, problems, func(p redis.Pipeliner, k string) *redis.StringCmd { return p.Get(ctx, k) })
}

// AliveMany reports, for each owner, whether its heartbeat is present.
func (c *Client) AliveMany(ctx context.Context, owners []string) ([]bool, error) {
	n, err := each(ctx, c, owners, nil, func(p redis.Pipeliner, k string) *redis.IntCmd {
		return p.Exists(ctx, Heartbeat(k))
	})
	if err != nil {
		return nil, fmt.Errorf("read heartbeats: %w", err)
	}
	out := make([]bool, len(n))
	for i, v := range n {
		out[i] = v == 1
	}
	return out, nil
}

// HashFields reads fields of many hashes: for each key, the fields it has
// (a missing hash gives an empty map), or nil when Redis refused the key
// (a corrupt value).
func (c *Client) HashFields(ctx context.Context, keys []string, fields ...string) ([]map[string]string, error) {
	cmds := make([]*redis.SliceCmd, len(keys))
	if err := c.pipelined(ctx, len(keys), func(p redis.Pipeliner, i int) {
		cmds[i] = p.HMGet(ctx, keys[i], fields...)
	}, keepMissingOrWrong); err != nil {
		return nil, err
	}
	out := make([]map[string]string, len(keys))
	for i, cm := range cmds {
		v := cm.Val()
		if cm.Err() != nil || len(v) != len(fields) {
			continue
		}
		m := make(map[string]string, len(fields))
		for j, f := range fields {
			if s, ok := v[j].(string); ok {
				m[f] = s
			}
		}
		out[i] = m
	}
	return out, nil
}

// Hash reads one hash whole; a missing one is empty.
func (c *Client) Hash(ctx context.Context, key string) (map[string]string, error) {
	return c.rdb.HGetAll(ctx, key).Result()
}

// Field reads one field of a hash: "" when the hash or the field is
// missing (a running trial has no status).
func (c *Client) Field(ctx context.Context, key, field string) (string, error) {
	v, err := c.rdb.HGet(ctx, key, field).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

// Exists reports whether key is present.
func (c *Client) Exists(ctx context.Context, key string) (bool, error) {
	n, err := c.rdb.Exists(ctx, key).Result()
	return n == 1, err
}

// List reads a list whole.
func (c *Client) List(ctx context.Context, key string) ([]string, error) {
	return c.rdb.LRange(ctx, key, 0, -1).Result()
}

// ListFrom reads a list from index start (negative: from the end).
func (c *Client) ListFrom(ctx context.Context, key string, start int64) ([]string, error) {
	return c.rdb.LRange(ctx, key, start, -1).Result()
}

// ListLen is the length of a list (0 when missing).
func (c *Client) ListLen(ctx context.Context, key string) (int64, error) {
	return c.rdb.LLen(ctx, key).Result()
}

// ActiveTasksets are the keys of the active tasksets, oldest first.
func (c *Client) ActiveTasksets(ctx context.Context) ([]string, error) {
	v, err := c.List(ctx, c.Keys.ActiveTaskset())
	if err != nil {
		return nil, fmt.Errorf("read active tasksets %s: %w", c.Keys.ActiveTaskset(), err)
	}
	return v, nil
}

// WorkerKeys are the members of the worker set, live or not, unsorted.
func (c *Client) WorkerKeys(ctx context.Context) ([]string, error) {
	v, err := c.rdb.SMembers(ctx, c.Keys.Workers()).Result()
	if err != nil {
		return nil, fmt.Errorf("read workers %s: %w", c.Keys.Workers(), err)
	}
	return v, nil
}

// RsyncInfo reads the fleet's published defaults ($NS:rsync_info).
func (c *Client) RsyncInfo(ctx context.Context) (map[string]string, error) {
	v, err := c.Hash(ctx, c.Keys.RsyncInfo())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Keys.RsyncInfo(), err)
	}
	return v, nil
}

// PublishRsyncInfo sets fields of $NS:rsync_info (field, value, ...). The
// error is Redis's own, for NameWrongType.
func (c *Client) PublishRsyncInfo(ctx context.Context, pairs ...string) error {
	args := make([]any, len(pairs))
	for i, p := range pairs {
		args[i] = p
	}
	return c.rdb.HSet(ctx, c.Keys.RsyncInfo(), args...).Err()
}

// Estimates reads the estimates of specs in class: nil where unknown or
// unreadable.
func (c *Client) Estimates(ctx context.Context, class string, specs []string) ([]*float64, error) {
	out := make([]*float64, len(specs))
	if len(specs) == 0 {
		return out, nil
	}
	vals, err := c.rdb.HMGet(ctx, c.Keys.Estimate(class), specs...).Result()
	if err != nil {
		return nil, fmt.Errorf("read the estimates of %s: %w", class, err)
	}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
				out[i] = &f
			}
		}
	}
	return out, nil
}

// EstimateTables reads a class's estimates and case estimates whole, as
// stored (rrr local keeps them between runs).
func (c *Client) EstimateTables(ctx context.Context, class string) (est, cases map[string]string, err error) {
	if est, err = c.Hash(ctx, c.Keys.Estimate(class)); err != nil {
		return nil, nil, fmt.Errorf("read estimates: %w", err)
	}
	if cases, err = c.Hash(ctx, c.Keys.CaseEstimate(class)); err != nil {
		return nil, nil, fmt.Errorf("read case estimates: %w", err)
	}
	return est, cases, nil
}

// LoadEstimateTables writes what EstimateTables read, into an empty
// namespace.
func (c *Client) LoadEstimateTables(ctx context.Context, class string, est, cases map[string]string) error {
	for key, h := range map[string]map[string]string{c.Keys.Estimate(class): est, c.Keys.CaseEstimate(class): cases} {
		if len(h) == 0 {
			continue
		}
		if err := c.rdb.HSet(ctx, key, h).Err(); err != nil {
			return fmt.Errorf("load estimates: %w", err)
		}
	}
	return nil
}

// HeartbeatLeft is what is left of owner's heartbeat TTL; false when it
// has none.
func (c *Client) HeartbeatLeft(ctx context.Context, owner string) (time.Duration, bool) {
	ttl, err := c.rdb.PTTL(ctx, Heartbeat(owner)).Result()
	if err != nil || ttl < 0 {
		return 0, false
	}
	return ttl, true
}

// EndHeartbeat removes owner's heartbeat, and with it its claim to be
// alive: a process that stops says so at once instead of after its TTL.
func (c *Client) EndHeartbeat(ctx context.Context, owner string) error {
	return c.rdb.Del(ctx, Heartbeat(owner)).Err()
}

// PopWorkerQueue waits up to timeout for the next taskset queued for
// worker; "" when none came.
func (c *Client) PopWorkerQueue(ctx context.Context, worker string, timeout time.Duration) (string, error) {
	v, err := c.rdb.BLPop(ctx, timeout, WorkerQueue(worker)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return v[1], nil
}

// WaitDispatcherToken waits up to timeout for a token of the dispatcher
// queue (WakeDispatcher) and reports whether one came. Other tokens queued
// meanwhile are dropped: the round about to start sees what they announce.
func (c *Client) WaitDispatcherToken(ctx context.Context, timeout time.Duration) (bool, error) {
	q := c.Keys.DispatcherQueue()
	_, err := c.rdb.BLPop(ctx, timeout, q).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("wait for a token on %s: %w", q, err)
	}
	if err := c.rdb.Del(ctx, q).Err(); err != nil {
		return true, fmt.Errorf("drop tokens of %s: %w", q, err)
	}
	return true, nil
}

// Progress is how far a taskset's queue has gone (the dashboard's metrics).
type Progress struct {
	Queued, Left int64
	// LeftSample is the first tasks left, at most the sample asked for.
	LeftSample []string
}

// ProgressOf reads the queue length, the number of tasks left and a
// sample of them, in one round trip.
func (c *Client) ProgressOf(ctx context.Context, ts string, sample int) (Progress, error) {
	var qlen, left *redis.IntCmd
	var keys *redis.StringSliceCmd
	if _, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		qlen = p.LLen(ctx, TaskQueue(ts))
		left = p.LLen(ctx, TasksLeft(ts))
		keys = p.LRange(ctx, TasksLeft(ts), 0, int64(sample)-1)
		return nil
	}); err != nil {
		return Progress{}, err
	}
	return Progress{Queued: qlen.Val(), Left: left.Val(), LeftSample: keys.Val()}, nil
}

// SlaveTrialsSince reads, for each slave, the trials it started from
// index from[i] of its trial list on.
func (c *Client) SlaveTrialsSince(ctx context.Context, slaves []string, from []int64) ([][]string, error) {
	cmds := make([]*redis.StringSliceCmd, len(slaves))
	if err := c.pipelined(ctx, len(slaves), func(p redis.Pipeliner, i int) {
		cmds[i] = p.LRange(ctx, SlaveTrials(slaves[i]), from[i], -1)
	}, keepMissingOrWrong); err != nil {
		return nil, err
	}
	out := make([][]string, len(slaves))
	for i, cm := range cmds {
		out[i] = cm.Val()
	}
	return out, nil
}
