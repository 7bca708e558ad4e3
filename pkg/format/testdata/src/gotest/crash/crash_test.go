package crash

import (
	"os"
	"testing"
)

func TestFirst(t *testing.T) {}

// TestExits leaves the test binary while it runs: go test -json never
// reports its end.
func TestExits(t *testing.T) {
	t.Log("leaving")
	os.Exit(3)
}
