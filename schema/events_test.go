package schema_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

func TestEventsSubscriptions(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		ts := e.k.Taskset("a")
		one := e.c.SubscribeEvents(ctx, ts)
		defer one.Close()
		all := e.c.SubscribeAllEvents(ctx)
		defer all.Close()
		oneCh, err := schema.ConfirmedEvents(ctx, one)
		require.NoError(t, err)
		allCh, err := schema.ConfirmedEvents(ctx, all)
		require.NoError(t, err)

		next := func(ch <-chan *redis.Message) *redis.Message {
			t.Helper()
			select {
			case m := <-ch:
				return m
			case <-time.After(5 * time.Second):
				t.Fatal("no message")
				return nil
			}
		}
		require.NoError(t, e.rd.Publish(ctx, schema.Events(e.k.Taskset("b")), "queued\tx").Err())
		require.NoError(t, e.rd.Publish(ctx, schema.Events(ts), schema.EventFinished+"\tsucceeded").Err())
		require.Equal(t, schema.Events(e.k.Taskset("b")), next(allCh).Channel, "the pattern hears every taskset")
		require.Equal(t, schema.Events(ts), next(allCh).Channel)
		m := next(oneCh)
		require.Equal(t, schema.Events(ts), m.Channel, "the taskset's own channel hears only it")
		require.Equal(t, schema.EventFinished, schema.ParseEvent(m.Payload).Kind)

		require.NoError(t, one.Close())
		ch, err := schema.ConfirmedEvents(ctx, one)
		require.Error(t, err, "a closed subscription is not confirmed")
		require.Nil(t, ch)
	})
}
