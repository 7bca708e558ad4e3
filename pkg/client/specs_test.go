package client_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/schema"
)

// tree makes files (and their directories) under a new temp dir.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	}
	return dir
}

func TestResolveSpecs(t *testing.T) {
	dir := tree(t,
		"spec/a_spec.rb", "spec/b_spec.rb", "spec/models/user_spec.rb", "spec/models/deep/x_spec.rb",
		"spec/helper.rb", "spec/.hidden/h_spec.rb", "spec/.dot_spec.rb", ".git/objects/o_spec.rb",
		"pkg/api/api_test.go", "pkg/db/db_test.go", "odd[1].rb")
	cases := []struct {
		name     string
		patterns []string
		want     []string
	}{
		{"literal files keep the given order", []string{"spec/b_spec.rb", "spec/a_spec.rb"}, []string{"spec/b_spec.rb", "spec/a_spec.rb"}},
		{"literal is cleaned", []string{"./spec//a_spec.rb", "spec/models/../b_spec.rb"}, []string{"spec/a_spec.rb", "spec/b_spec.rb"}},
		{"star in one directory", []string{"spec/*_spec.rb"}, []string{"spec/a_spec.rb", "spec/b_spec.rb"}},
		{"double star at any depth, not hidden", []string{"spec/**/*_spec.rb"},
			[]string{"spec/a_spec.rb", "spec/b_spec.rb", "spec/models/deep/x_spec.rb", "spec/models/user_spec.rb"}},
		{"double star from the root skips .git", []string{"**/*_spec.rb"},
			[]string{"spec/a_spec.rb", "spec/b_spec.rb", "spec/models/deep/x_spec.rb", "spec/models/user_spec.rb"}},
		{"a dot in the pattern matches hidden names", []string{"spec/.*_spec.rb"}, []string{"spec/.dot_spec.rb"}},
		{"a directory is one spec", []string{"pkg/api"}, []string{"pkg/api"}},
		{"a glob ending in / matches directories", []string{"pkg/*/"}, []string{"pkg/api", "pkg/db"}},
		{"repeats are dropped", []string{"spec/a_spec.rb", "spec/*_spec.rb"}, []string{"spec/a_spec.rb", "spec/b_spec.rb"}},
		{"question mark", []string{"spec/?_spec.rb"}, []string{"spec/a_spec.rb", "spec/b_spec.rb"}},
		{"a file named with glob characters is literal", []string{"odd[1].rb"}, []string{"odd[1].rb"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := client.ResolveSpecs(dir, tc.patterns)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestResolveSpecsRefuses(t *testing.T) {
	dir := tree(t, "spec/a_spec.rb")
	cases := []struct {
		name     string
		patterns []string
		is       error
		says     string
	}{
		{"absolute", []string{"/etc/passwd"}, client.ErrBadSpec, "absolute"},
		{"leaves the root", []string{"../x_spec.rb"}, client.ErrBadSpec, "leaves the project"},
		{"leaves the root after cleaning", []string{"spec/../../x"}, client.ErrBadSpec, "leaves the project"},
		{"nothing matched names the patterns and the dir", []string{"spec/a_spec.rb", "nope/*.rb", "missing.rb"},
			client.ErrNoSpecMatched, `"nope/*.rb", "missing.rb" under --dir ` + dir},
		{"no patterns", nil, client.ErrNoSpecMatched, "no SPEC given"},
		{"a directory pattern does not match files", []string{"spec/a_spec.rb/"}, client.ErrNoSpecMatched, "a_spec.rb/"},
		{"malformed glob", []string{"spec/[a"}, client.ErrBadSpec, "malformed glob"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.ResolveSpecs(dir, tc.patterns)
			require.ErrorIs(t, err, tc.is)
			require.Contains(t, err.Error(), tc.says)
			require.True(t, client.IsUsage(err), "a bad SPEC is a usage error")
		})
	}
	_, err := client.ResolveSpecs(filepath.Join(dir, "spec/a_spec.rb"), []string{"x"})
	require.ErrorIs(t, err, client.ErrBadDir)
	_, err = client.ResolveSpecs(filepath.Join(dir, "nowhere"), []string{"x"})
	require.ErrorIs(t, err, client.ErrBadDir)
}

func TestDefaultName(t *testing.T) {
	for in, want := range map[string]string{
		"alice":         "alice",
		"Bob.Smith_2-x": "Bob.Smith_2-x",
		"ci runner/42":  "ci-runner-42",
		"élodie":        "lodie",
		"":              "anonymous",
		"..":            "anonymous",
		"../x":          "x",
		"-n":            "n",
		"a:b":           "a-b",
	} {
		got := client.DefaultName(in)
		require.Equal(t, want, got, in)
		require.NoError(t, schema.CheckName("x", got), "the default passes the rule: %q", in)
	}
	require.Len(t, client.DefaultName(strings.Repeat("a", 200)), schema.MaxNameLen)
}

type fixedRand byte

func (f fixedRand) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(f)
	}
	return len(b), nil
}

func TestNewTasksetID(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	id, err := client.NewTasksetID("alice", at, fixedRand(0xab))
	require.NoError(t, err)
	require.Equal(t, "alice-20260304-040607-abab", id, "UTC time and 4 hex digits")
	a, err := client.NewTasksetID("alice", at, nil)
	require.NoError(t, err)
	require.Regexp(t, `^alice-20260304-040607-[0-9a-f]{4}$`, a)
}
