package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/store"
)

func TestEstimatesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	got, _, err := store.LoadEstimates(dir, "/p", "default")
	require.NoError(t, err)
	require.Nil(t, got, "no file yet is no estimate")

	require.NoError(t, store.SaveEstimates(dir, "/p", "default", map[string]string{"a.rb": "1.500"}, nil))
	require.NoError(t, store.SaveEstimates(dir, "/q", "default", map[string]string{"b.rb": "2.000"}, nil))
	got, _, err = store.LoadEstimates(dir, "/p", "default")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a.rb": "1.500"}, got, "projects do not share estimates")
	got, _, err = store.LoadEstimates(dir, "/p", "other")
	require.NoError(t, err)
	require.Nil(t, got, "nor do classes")

	ids, err := store.List(dir)
	require.NoError(t, err)
	require.Empty(t, ids, "estimates are not tasksets")

	files, err := filepath.Glob(filepath.Join(dir, store.EstimatesDir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 2)
	require.NoError(t, os.WriteFile(files[0], []byte("{"), 0o644))
	_, _, err1 := store.LoadEstimates(dir, "/p", "default")
	_, _, err2 := store.LoadEstimates(dir, "/q", "default")
	require.True(t, err1 != nil || err2 != nil, "a broken file is an error, not silence")
}
