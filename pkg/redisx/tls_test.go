package redisx_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/redisx"
)

func TestTLSWithACustomCA(t *testing.T) {
	t.Parallel()
	srv := redistest.Own(t, redistest.Options{TLS: true})
	ctx := context.Background()
	rdb, err := redisx.OpenConfig(ctx, redisx.Config{URL: srv.URL(), TLS: redisx.TLSFiles{CA: srv.Certs.CA}})
	require.NoError(t, err)
	require.NoError(t, rdb.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, rdb.Close())

	for name, ca := range map[string]string{"the system's CAs": "", "a CA that did not sign it": srv.Certs.OtherCA} {
		_, err := redisx.OpenConfig(ctx, redisx.Config{URL: srv.URL(), TLS: redisx.TLSFiles{CA: ca}})
		require.ErrorIs(t, err, redisx.ErrUnreachable, name)
		require.Contains(t, err.Error(), "TLS certificate does not verify", name)
		require.Contains(t, err.Error(), "--redis-ca", name)
	}

	_, err = redisx.Open(ctx, "redis://"+srv.Addr+"/0")
	require.ErrorIs(t, err, redisx.ErrUnreachable, "plain text to a TLS port")
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	srv := redistest.Own(t, redistest.Options{TLS: true, ClientCerts: true})
	c := srv.Certs
	ctx := context.Background()
	rdb, err := redisx.OpenConfig(ctx, redisx.Config{URL: srv.URL(),
		TLS: redisx.TLSFiles{CA: c.CA, Cert: c.ClientCert, Key: c.ClientKey}})
	require.NoError(t, err)
	require.NoError(t, rdb.Ping(ctx).Err())
	require.NoError(t, rdb.Close())

	for name, files := range map[string]redisx.TLSFiles{
		"no client certificate":                 {CA: c.CA},
		"a client certificate of an unknown CA": {CA: c.CA, Cert: c.OtherCert, Key: c.OtherKey},
	} {
		_, err := redisx.OpenConfig(ctx, redisx.Config{URL: srv.URL(), TLS: files})
		require.ErrorIs(t, err, redisx.ErrUnreachable, name)
		require.Contains(t, err.Error(), "--redis-cert", name)
	}
}
