package proc_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/proc"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   \t\n", nil},
		{"rspec {file}", []string{"rspec", "{file}"}},
		{"  a   b\tc\n d ", []string{"a", "b", "c", "d"}},
		{`'a b' "c d"`, []string{"a b", "c d"}},
		{`a'b'"c"d`, []string{"abcd"}},
		{`'$HOME \n "x"'`, []string{`$HOME \n "x"`}},
		{`"a \" \\ \$ \x"`, []string{`a " \ $ \x`}},
		{`a\ b c\'d`, []string{"a b", "c'd"}},
		{"a\\\nb", []string{"ab"}},
		{`"" ''`, []string{"", ""}},
		{`--out={report} "{file}"`, []string{"--out={report}", "{file}"}},
		{`$HOME *.rb ~ $(rm -rf /) ; |`, []string{"$HOME", "*.rb", "~", "$(rm", "-rf", "/)", ";", "|"}},
		{"héllo 'wörld'", []string{"héllo", "wörld"}},
	}
	for _, c := range cases {
		got, err := proc.Split(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
}

func TestSplitErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`'abc`, `"abc`, `abc\`, `a "b\"`} {
		_, err := proc.Split(in)
		require.ErrorIs(t, err, proc.ErrTemplate, in)
	}
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"file": "spec/a b's \"x\"; rm -rf $HOME.rb", "report": "/tmp/r 1/report"}
	got, err := proc.Template(`rspec --format json --out={report} -- {file} '{file}'`, vars)
	require.NoError(t, err)
	require.Equal(t, []string{"rspec", "--format", "json", "--out=/tmp/r 1/report", "--",
		vars["file"], vars["file"]}, got)

	_, err = proc.Template("  ", vars)
	require.ErrorIs(t, err, proc.ErrTemplate)
	_, err = proc.Template(`rspec "{file}`, vars)
	require.ErrorIs(t, err, proc.ErrTemplate)
}
