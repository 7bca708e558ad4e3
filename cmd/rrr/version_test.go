package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/version"
	"github.com/rrr-dev/rrr/schema"
)

func TestVersion(t *testing.T) {
	code, out, _ := rrr(t, "version")
	require.Equal(t, exitOK, code)
	require.Regexp(t, `^rrr \S+ \(commit \S+; protocol 1; go\S+\)\n$`, out)

	code, flag, _ := rrr(t, "--version")
	require.Equal(t, exitOK, code)
	require.Equal(t, out, flag)

	code, out, _ = rrr(t, "version", "--json")
	require.Equal(t, exitOK, code)
	var i version.Info
	require.NoError(t, json.Unmarshal([]byte(out), &i))
	require.Equal(t, schema.ProtocolVersion, i.Protocol)
	require.Equal(t, "1", i.Speaks)
}

// A part of another release refuses a fleet whose protocol it does not
// speak, before it writes anything, and says which versions are involved.
func TestPartsRefuseAnotherProtocol(t *testing.T) {
	m := newMini(t)
	require.NoError(t, m.rdb.Set(ctx, m.sc.Keys.Protocol(), "2", 0).Err())
	dir := project(t, map[string]string{"a_spec.rb": ""})
	for name, args := range map[string][]string{
		"worker": {"worker", "--working-dir", t.TempDir()},
		"server": {"server", "--results-dir", t.TempDir()},
		"start":  {"start", "--dir", dir, "--trial-command", "true {file}", "a_spec.rb"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := rrr(t, append([]string{"--redis", m.url}, args...)...)
			require.Equal(t, exitInfra, code, stderr)
			require.Contains(t, stderr, "the fleet on this Redis speaks protocol 2 (a newer release); this rrr speaks 1")
			n, err := m.rdb.Exists(ctx, m.sc.Keys.Workers(), m.sc.Keys.ActiveTaskset()).Result()
			require.NoError(t, err)
			require.Zero(t, n, "nothing was written")
		})
	}
}
