package rsync_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/rsync"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

func TestSyncCopiesAndDeletes(t *testing.T) {
	t.Parallel()
	src, root := t.TempDir(), t.TempDir()
	dst := filepath.Join(root, "work", "alice")
	write(t, filepath.Join(src, "spec", "a_spec.rb"), "a")
	write(t, filepath.Join(src, "-dash"), "d")
	write(t, filepath.Join(src, "log", "big.log"), "skip me")
	write(t, filepath.Join(dst, "stale.txt"), "from an earlier run")

	require.NoError(t, rsync.Sync(context.Background(), src+"/", dst, "--exclude 'log/'"))

	b, err := os.ReadFile(filepath.Join(dst, "spec", "a_spec.rb"))
	require.NoError(t, err)
	require.Equal(t, "a", string(b))
	require.FileExists(t, filepath.Join(dst, "-dash"))
	require.NoFileExists(t, filepath.Join(dst, "stale.txt"), "--delete removes what the source lacks")
	require.NoDirExists(t, filepath.Join(dst, "log"), "the extra option excluded it")
}

func TestSyncFailureCarriesRsyncMessage(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope") + "/"
	err := rsync.Sync(context.Background(), missing, t.TempDir(), "")
	require.ErrorIs(t, err, rsync.ErrFailed)
	require.Contains(t, err.Error(), "exit code 23")
	require.Contains(t, err.Error(), "No such file or directory")
	require.Contains(t, err.Error(), missing)
}

func TestSyncBadInput(t *testing.T) {
	t.Parallel()
	err := rsync.Sync(context.Background(), t.TempDir()+"/", t.TempDir(), "--exclude 'log/")
	require.ErrorContains(t, err, "unterminated single quote")
	err = rsync.Sync(context.Background(), "", t.TempDir(), "")
	require.ErrorIs(t, err, rsync.ErrFailed)
	err = rsync.Sync(context.Background(), t.TempDir()+"/", t.TempDir(), "--no-such-rsync-option")
	require.ErrorIs(t, err, rsync.ErrFailed)
	require.Contains(t, err.Error(), "no-such-rsync-option")
}

func TestSyncWithoutRsync(t *testing.T) {
	t.Parallel()
	s := rsync.Syncer{Binary: filepath.Join(t.TempDir(), "rsync")}
	err := s.Sync(context.Background(), t.TempDir()+"/", t.TempDir(), "")
	require.ErrorIs(t, err, rsync.ErrNotInstalled)
	require.Contains(t, err.Error(), "install it")
}

func TestSyncCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := rsync.Sync(ctx, t.TempDir()+"/", t.TempDir(), "")
	require.ErrorIs(t, err, context.Canceled)
}

func TestIsRemote(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"/srv/rrr":                  false,
		"./a:b":                     false,
		"relative/dir":              false,
		"host:/srv/rrr":             true,
		"user@host:rrr":             true,
		"rsync://host/module/alice": true,
		"host:":                     true,
	}
	for path, want := range cases {
		require.Equal(t, want, rsync.IsRemote(path), path)
	}
}
