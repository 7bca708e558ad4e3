package logx_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/logx"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\n\twith a tab": "plain text\n\twith a tab",
		"é ü 日本 \uFFFD":            "é ü 日本 \uFFFD",
		"\x1b[2J\x1b[31mred":       `\x1b[2J\x1b[31mred`,
		"nul\x00byte":              `nul\x00byte`,
		"over\rwrite":              `over\x0dwrite`,
		"crlf\r\nline\r":           "crlf\r\nline\\x0d",
		"del\x7f":                  `del\x7f`,
		"c1 \u009b31m":             `c1 \u009b31m`,
		"bad \xff\xfe utf-8":       `bad \xff\xfe utf-8`,
		"cut \xe6\x97":             `cut \xe6\x97`,
		"":                         "",
	} {
		require.Equal(t, want, logx.Escape(in), "%q", in)
	}
}

func TestEscapeWriter(t *testing.T) {
	var b bytes.Buffer
	w := logx.EscapeWriter(&b)
	n, err := fmt.Fprintf(w, "%s\n", "a\x1b[Kb")
	require.NoError(t, err)
	require.Equal(t, 6, n, "the count of the bytes given")
	require.Equal(t, "a\\x1b[Kb\n", b.String())
}

func TestConsoleLogsAreEscaped(t *testing.T) {
	var b bytes.Buffer
	l, err := logx.New(&b, "info", "console")
	require.NoError(t, err)
	l.Info().Str("spec", "x\x1b[2J.sh").Err(fmt.Errorf("bad\x00")).Msg("ran \x1b]0;title\x07")
	require.NotContains(t, b.String(), "\x1b]", "no terminal escape of the message reaches the log")
	require.NotContains(t, b.String(), "\x1b[2J")
	require.NotContains(t, b.String(), "\x00")
	require.Contains(t, b.String(), `ran \x1b]0;title\x07`)
	require.Contains(t, b.String(), `x\x1b[2J.sh`)
}
