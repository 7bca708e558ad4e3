package schema

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// SubscribeEvents subscribes to the events channel of taskset (Events).
// The caller closes the subscription; its Channel delivers the messages
// and subscribes again after a broken connection.
func (c *Client) SubscribeEvents(ctx context.Context, taskset string) *redis.PubSub {
	return c.rdb.Subscribe(ctx, Events(taskset))
}

// SubscribeAllEvents subscribes to the events channels of every taskset of
// the namespace (a pattern).
func (c *Client) SubscribeAllEvents(ctx context.Context) *redis.PubSub {
	return c.rdb.PSubscribe(ctx, Events(c.Keys.Taskset("*")))
}

// ConfirmedEvents waits until Redis confirms sub and returns its messages.
// When it cannot, it returns nil, a channel that never delivers (the
// caller reads on its poll interval instead), and why.
func ConfirmedEvents(ctx context.Context, sub *redis.PubSub) (<-chan *redis.Message, error) {
	if _, err := sub.Receive(ctx); err != nil {
		return nil, err
	}
	return sub.Channel(), nil
}
