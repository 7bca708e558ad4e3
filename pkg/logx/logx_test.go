package logx_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/logx"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	l, err := logx.New(&buf, "warn", "json")
	require.NoError(t, err)
	l.Info().Msg("hidden")
	l.Warn().Str("component", "arbiter").Msg("shown")
	require.NotContains(t, buf.String(), "hidden")
	require.Contains(t, buf.String(), `"component":"arbiter"`)
	_, err = logx.New(&buf, "loud", "json")
	require.Error(t, err)
	_, err = logx.New(&buf, "info", "xml")
	require.Error(t, err)
}

func TestEvery(t *testing.T) {
	now := time.Unix(0, 0)
	every := logx.Every(10*time.Second, func() time.Time { return now })
	require.True(t, every("redis"))
	require.False(t, every("redis"))
	require.True(t, every("other"))
	now = now.Add(9 * time.Second)
	require.False(t, every("redis"))
	now = now.Add(time.Second)
	require.True(t, every("redis"))
}
