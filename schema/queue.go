package schema

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Queue is one consumer's reliable view of a protocol queue (the arbiter
// queue, the persister queue). Take moves an entry into the consumer's
// processing list in the same command that pops it, Ack removes it when it
// has been handled, and Recover hands the processing list of a consumer
// whose heartbeat expired back to the queue. So an entry is not lost when
// the process handling it dies: it is handled again, and handlers are
// idempotent.
type Queue struct {
	c     *Client
	queue string
	id    string
}

// Queue returns consumer id's view of queue.
func (c *Client) Queue(queue, id string) *Queue {
	return &Queue{c: c, queue: queue, id: id}
}

// ID is the consumer id.
func (q *Queue) ID() string { return q.id }

func (q *Queue) processing() string { return Processing(q.queue, q.id) }

// Join registers the consumer with a heartbeat of ttl; call Beat within ttl
// from then on.
func (q *Queue) Join(ctx context.Context, ttl time.Duration) error {
	if err := q.c.rdb.SAdd(ctx, Consumers(q.queue), q.id).Err(); err != nil {
		return fmt.Errorf("join %s: %w", q.queue, err)
	}
	return q.Beat(ctx, ttl)
}

// Beat refreshes the consumer's heartbeat.
func (q *Queue) Beat(ctx context.Context, ttl time.Duration) error {
	return q.c.Beat(ctx, q.processing(), ttl)
}

// Take waits up to timeout for an entry; "" when none came.
func (q *Queue) Take(ctx context.Context, timeout time.Duration) (string, error) {
	v, err := q.c.rdb.BLMove(ctx, q.queue, q.processing(), "LEFT", "RIGHT", timeout).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		err = q.c.NameWrongType(ctx, err, KeyType{q.queue, "list"}, KeyType{q.processing(), "list"})
		return "", fmt.Errorf("take from %s: %w", q.queue, err)
	}
	return v, nil
}

// Ack removes a handled entry from the processing list.
func (q *Queue) Ack(ctx context.Context, entry string) error {
	if err := q.c.rdb.LRem(ctx, q.processing(), 1, entry).Err(); err != nil {
		return fmt.Errorf("ack %s: %w", q.queue, err)
	}
	return nil
}

// Pending returns the entries this consumer took and has not acked, oldest
// first: after a restart with the same id, handle these first.
func (q *Queue) Pending(ctx context.Context) ([]string, error) {
	v, err := q.c.rdb.LRange(ctx, q.processing(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("pending of %s: %w", q.queue, err)
	}
	return v, nil
}

// Leave hands back what the consumer holds and unregisters it: a clean stop.
func (q *Queue) Leave(ctx context.Context) (int, error) {
	if err := q.c.rdb.Del(ctx, Heartbeat(q.processing())).Err(); err != nil {
		return 0, fmt.Errorf("leave %s: %w", q.queue, err)
	}
	return q.recover(ctx, q.id)
}

// Recover hands back the entries of every consumer of the queue whose
// heartbeat has expired, and returns how many it handed back.
func (q *Queue) Recover(ctx context.Context) (int, error) {
	ids, err := q.c.rdb.SMembers(ctx, Consumers(q.queue)).Result()
	if err != nil {
		return 0, fmt.Errorf("recover %s: %w", q.queue, err)
	}
	total := 0
	for _, id := range ids {
		n, err := q.recover(ctx, id)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (q *Queue) recover(ctx context.Context, id string) (int, error) {
	p := Processing(q.queue, id)
	n, err := scriptRecoverConsumer.Run(ctx, q.c.rdb, []string{Consumers(q.queue), p, Heartbeat(p), q.queue}, id).Int()
	if err != nil {
		return 0, scriptErr("recover consumer", err)
	}
	if n < 0 {
		return 0, nil
	}
	return n, nil
}
