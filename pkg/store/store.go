// Package store is a TEMPORARY stand-in on the client branch for the
// persister branch's pkg/store (same signatures); it is deleted when that
// lands on main.
package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rrr-dev/rrr/pkg/model"
)

// Path is the directory of taskset id in the results store dir.
func Path(dir, id string) string { return filepath.Join(dir, id) }

// Read loads the stored snapshot of taskset id.
func Read(dir, id string) (*model.Snapshot, error) {
	b, err := os.ReadFile(filepath.Join(Path(dir, id), "taskset.json"))
	if err != nil {
		return nil, fmt.Errorf("read stored taskset %s: %w", id, err)
	}
	var s model.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read stored taskset %s: %w", id, err)
	}
	return &s, nil
}
