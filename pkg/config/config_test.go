package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/config"
)

func write(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, config.Name), []byte(text), 0o644))
	return dir
}

func TestLoad(t *testing.T) {
	dir := write(t, `
trial-command: rspec {file} --format json --out {report}
setup_command: bundle install   # underscores work too
max-trials: 2
least-timeout: 45
unknown-spec-timeout: 5m
wait: true
rsync-options:
specs:
  - spec/**/*_spec.rb
  - features/
`)
	f, err := config.Load(dir)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, ".rrr.yml"), f.Path)
	require.Equal(t, map[string]string{
		"trial-command":        "rspec {file} --format json --out {report}",
		"setup-command":        "bundle install",
		"max-trials":           "2",
		"least-timeout":        "45",
		"unknown-spec-timeout": "5m",
		"wait":                 "true",
		"rsync-options":        "",
	}, f.Values)
	require.Equal(t, []string{"spec/**/*_spec.rb", "features/"}, f.Specs)
	require.Equal(t, []string{"rsync-options", "wait"}, f.Unknown([]string{"trial-command", "setup-command", "max-trials", "least-timeout", "unknown-spec-timeout"}))
}

func TestLoadMissingIsEmpty(t *testing.T) {
	f, err := config.Load(t.TempDir())
	require.NoError(t, err)
	require.Empty(t, f.Values)
	require.Nil(t, f.Specs)
}

func TestLoadRefusesMalformed(t *testing.T) {
	for name, text := range map[string]string{
		"not yaml":         "trial-command: [unclosed",
		"not a mapping":    "- a\n- b\n",
		"nested value":     "trial-command:\n  a: b\n",
		"list of a flag":   "worker-type: [a, b]\n",
		"specs not a list": "specs: {a: b}\n",
		"twice":            "max-trials: 1\nmax_trials: 2\n",
	} {
		_, err := config.Load(write(t, text))
		require.ErrorIs(t, err, config.ErrMalformed, name)
		require.Contains(t, err.Error(), ".rrr.yml", name)
	}
	require.Equal(t, "setup-command", config.Normalize(" Setup_Command "))
}
