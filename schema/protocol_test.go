package schema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// The first part to start records the protocol it speaks; later parts of
// the same protocol agree, and one that finds another version, or a value
// that is no version, refuses and says what to do.
func TestCheckProtocol(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		key := e.k.Protocol()

		v, err := e.c.CheckProtocol(ctx)
		require.NoError(t, err)
		require.Equal(t, schema.ProtocolVersion, v)
		require.Equal(t, "1", e.rd.Get(ctx, key).Val())
		v, err = e.c.CheckProtocol(ctx)
		require.NoError(t, err)
		require.Equal(t, schema.ProtocolVersion, v)

		require.NoError(t, e.rd.Set(ctx, key, schema.ProtocolVersion+1, 0).Err())
		v, err = e.c.CheckProtocol(ctx)
		require.ErrorIs(t, err, schema.ErrProtocol)
		require.Equal(t, schema.ProtocolVersion+1, v)
		require.ErrorContains(t, err, "speaks protocol 2 (a newer release); this rrr speaks 1")
		require.Equal(t, "2", e.rd.Get(ctx, key).Val(), "a refusing part leaves the fleet's version alone")

		require.NoError(t, e.rd.Set(ctx, key, "0", 0).Err())
		_, err = e.c.CheckProtocol(ctx)
		require.ErrorIs(t, err, schema.ErrProtocol)
		require.ErrorContains(t, err, "(an older release)")

		require.NoError(t, e.rd.Set(ctx, key, "banana", 0).Err())
		_, err = e.c.CheckProtocol(ctx)
		require.ErrorIs(t, err, schema.ErrProtocol)
		require.ErrorContains(t, err, `holds "banana", not a protocol version`)

		require.NoError(t, e.rd.Del(ctx, key).Err())
		require.NoError(t, e.rd.RPush(ctx, key, "x").Err())
		_, err = e.c.CheckProtocol(ctx)
		require.ErrorIs(t, err, schema.ErrWrongType)
	})
}
