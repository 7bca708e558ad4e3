package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOrderBySizeLargestFirst(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{
		"a_spec.rb": 10, "b_spec.rb": 300, "c_spec.rb": 10, "d_spec.rb": 50,
		"pkg/x/x.go": 100, "pkg/x/x_test.go": 150, "pkg/x/sub/deep.go": 5000,
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(strings.Repeat("x", size)), 0o644))
	}
	specs := []string{"a_spec.rb", "c_spec.rb", "gone_spec.rb", "pkg/x", "d_spec.rb", "b_spec.rb"}
	OrderBySize(dir, specs)
	// pkg/x counts the files directly in it (250), not sub/; equal sizes
	// and unreadable specs keep their order
	require.Equal(t, []string{"b_spec.rb", "pkg/x", "d_spec.rb", "a_spec.rb", "c_spec.rb", "gone_spec.rb"}, specs)
}
