package worker

import (
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redisx"
)

// The pipe carries the TLS files with the URL, and the slave reads them
// back; a slave started by hand takes them from its environment.
func TestRedisPipeCarriesTheTLSFiles(t *testing.T) {
	for _, want := range []redisx.Config{
		{URL: "rediss://u:pw@h:1/0", TLS: redisx.TLSFiles{CA: "/etc/ca.pem", Cert: "/etc/c.pem", Key: "/etc/k.pem"}},
		{URL: "redis://h:1/0"},
	} {
		r, err := redisPipe(want)
		require.NoError(t, err)
		fd, err := syscall.Dup(int(r.Fd()))
		require.NoError(t, err)
		require.NoError(t, r.Close())
		got, ok, err := SlaveRedis(func(k string) string {
			return map[string]string{EnvRedisFD: strconv.Itoa(fd), EnvRedis: "redis://wrong:1/0"}[k]
		})
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, want, got)
	}

	env := map[string]string{EnvRedis: "rediss://h:1/0", EnvRedisCA: "ca", EnvRedisCert: "c", EnvRedisKey: "k"}
	got, ok, err := SlaveRedis(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, redisx.Config{URL: "rediss://h:1/0", TLS: redisx.TLSFiles{CA: "ca", Cert: "c", Key: "k"}}, got)
}
