package redisx_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/redisx"
)

func TestOptions(t *testing.T) {
	opt, err := redisx.Options("redis://bob:secret@10.0.0.1:6380/3")
	require.NoError(t, err)
	require.Equal(t, "10.0.0.1:6380", opt.Addr)
	require.Equal(t, "bob", opt.Username)
	require.Equal(t, "secret", opt.Password)
	require.Equal(t, 3, opt.DB)
	require.Nil(t, opt.TLSConfig)

	opt, err = redisx.Options("rediss://h:6379/0")
	require.NoError(t, err)
	require.NotNil(t, opt.TLSConfig, "rediss:// is TLS")

	opt, err = redisx.Options("")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:6379", opt.Addr)

	for _, bad := range []string{"http://h:1", "127.0.0.1:6379", "redis://h:1/notadb", "redis://u:pw@h:1/x"} {
		_, err := redisx.Options(bad)
		require.Error(t, err, bad)
		require.NotContains(t, err.Error(), ":pw@", "the password is not printed")
	}
}

func TestBadURLNeverShowsItsPassword(t *testing.T) {
	for _, bad := range []string{
		"redis://:s3c%ZZretPW@127.0.0.1:6393/0", // a bad escape: url.Parse fails
		"redis://u:s3c%ZZretPW@h:1/0",
		"redis://:s3c/retPW@h:1/0",
		"redis://u:s3cretPW@h:1/notadb",
	} {
		_, err := redisx.Options(bad)
		require.ErrorIs(t, err, redisx.ErrBadURL, bad)
		require.NotContains(t, err.Error(), "retPW", bad)
		require.NotContains(t, redisx.Redact(bad), "retPW", bad)
	}
	require.Equal(t, "redis://h:1/0", redisx.Redact("redis://h:1/0"))
}

func TestOpenUnreachableSaysWhatToDo(t *testing.T) {
	port, err := redistest.FreePort()
	require.NoError(t, err)
	_, err = redisx.Open(context.Background(), "redis://u:topsecret@127.0.0.1:"+strconv.Itoa(port)+"/0")
	require.ErrorIs(t, err, redisx.ErrUnreachable)
	require.Contains(t, err.Error(), "--redis")
	require.NotContains(t, err.Error(), "topsecret")
}

func TestOpen(t *testing.T) {
	m := miniredis.RunT(t)
	m.RequireUserAuth("bob", "pw")
	rdb, err := redisx.Open(context.Background(), "redis://bob:pw@"+m.Addr()+"/0")
	require.NoError(t, err)
	require.NoError(t, rdb.Close())
	_, err = redisx.Open(context.Background(), "redis://bob:wrong@"+m.Addr()+"/0")
	require.ErrorIs(t, err, redisx.ErrUnreachable)
}

func TestSentinelURL(t *testing.T) {
	fo, err := redisx.FailoverOptions("redis+sentinel://bob:s%2Fcret@10.0.0.1:26380,10.0.0.2,[::1]:5/prod/3")
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.1:26380", "10.0.0.2:26379", "[::1]:5"}, fo.SentinelAddrs)
	require.Equal(t, "prod", fo.MasterName)
	require.Equal(t, "bob", fo.Username)
	require.Equal(t, "s/cret", fo.Password)
	require.Equal(t, 3, fo.DB)
	require.Nil(t, fo.TLSConfig)

	fo, err = redisx.FailoverOptions("rediss+sentinel://h:1/m?db=2")
	require.NoError(t, err)
	require.Equal(t, 2, fo.DB)
	require.Empty(t, fo.Password)
	require.NotNil(t, fo.TLSConfig, "rediss+sentinel:// is TLS")

	for _, bad := range []string{
		"redis+sentinel://u:pwSECRET@h:1",          // no master
		"redis+sentinel://u:pwSECRET@h:1/m/x",      // db not a number
		"redis+sentinel://u:pwSECRET@h:1/m/1/2",    // too deep
		"redis+sentinel://u:pwSECRET@h:1,/m",       // empty address
		"redis+sentinel://u:pwSECRET@h:1/m?x=1",    // unknown parameter
		"redis+sentinel://u:pw%ZZSECRET@h:1/m",     // bad escape
		"redis+sentinel://u:pwSECRET@h:1/m?db=-1",  // negative db
		"redis+sentinel://u:pwSECRET@h:1:2:3/m?db", // bad address
	} {
		_, err := redisx.NewClient(redisx.Config{URL: bad})
		require.ErrorIs(t, err, redisx.ErrBadURL, bad)
		require.NotContains(t, err.Error(), "SECRET", bad)
	}
	require.NotContains(t, redisx.Redact("redis+sentinel://u:pwSECRET@h:1,h2:2/m"), "SECRET")
	_, err = redisx.Options("redis+sentinel://h:1/m")
	require.ErrorIs(t, err, redisx.ErrBadURL, "one server's options have no sentinel form")
}

func TestTLSFilesNeedATLSURLAndBothHalves(t *testing.T) {
	_, err := redisx.NewClient(redisx.Config{URL: "redis://h:1/0", TLS: redisx.TLSFiles{CA: "ca.pem"}})
	require.ErrorIs(t, err, redisx.ErrBadTLS)
	require.Contains(t, err.Error(), "rediss://")
	_, err = redisx.NewClient(redisx.Config{URL: "rediss://h:1/0", TLS: redisx.TLSFiles{CA: "/nonexistent/ca.pem"}})
	require.ErrorIs(t, err, redisx.ErrBadTLS)
	require.Contains(t, err.Error(), "/nonexistent/ca.pem")
	_, err = redisx.NewClient(redisx.Config{URL: "rediss://h:1/0", TLS: redisx.TLSFiles{Cert: "c.pem"}})
	require.ErrorIs(t, err, redisx.ErrBadTLS)
	require.Contains(t, err.Error(), "--redis-key")
}

func TestOpenSentinelUnreachableSaysWhatToDo(t *testing.T) {
	port, err := redistest.FreePort()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = redisx.Open(ctx, "redis+sentinel://u:topsecret@127.0.0.1:"+strconv.Itoa(port)+"/prod")
	require.ErrorIs(t, err, redisx.ErrUnreachable)
	require.Contains(t, err.Error(), "sentinels")
	require.NotContains(t, err.Error(), "topsecret")
}
