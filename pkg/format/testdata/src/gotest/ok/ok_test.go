package ok

import "testing"

func TestPasses(t *testing.T) {}

func TestFails(t *testing.T) {
	t.Log("about to compare")
	t.Errorf("got %d, want %d", 2, 3)
}

func TestSkipped(t *testing.T) { t.Skip("needs a database") }

func TestTable(t *testing.T) {
	t.Run("small", func(t *testing.T) {})
	t.Run("large", func(t *testing.T) { t.Fatal("too large") })
	t.Run("skipped", func(t *testing.T) { t.Skip("later") })
}

func TestParentOnly(t *testing.T) {
	t.Run("fine", func(t *testing.T) {})
	t.Error("parent check failed")
}
