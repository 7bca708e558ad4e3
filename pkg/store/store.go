// Package store is a TEMPORARY stand-in on the client branch for the
// persister branch's pkg/store (same signatures); it is deleted when that
// lands on main.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rrr-dev/rrr/pkg/model"
)

// ErrNotFound is returned by Read for a taskset the store does not hold.
var ErrNotFound = errors.New("taskset not in the results store")

// Path is the directory of taskset id in the results store dir.
func Path(dir, id string) string { return filepath.Join(dir, id) }

// Read loads the stored snapshot of taskset id.
func Read(dir, id string) (*model.Snapshot, error) {
	b, err := os.ReadFile(filepath.Join(Path(dir, id), "taskset.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("taskset %s in %s: %w", id, dir, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read stored taskset %s: %w", id, err)
	}
	var s model.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read stored taskset %s: %w", id, err)
	}
	return &s, nil
}
