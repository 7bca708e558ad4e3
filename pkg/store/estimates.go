package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// EstimatesDir holds spec duration estimates kept between runs of `rrr
// local`, whose embedded Redis forgets them when it ends. The leading dot
// keeps it out of List.
const EstimatesDir = ".estimates"

// estimatesPath names the file of one project (by its absolute directory)
// and taskset class.
func estimatesPath(dir, project, class string) string {
	sum := sha256.Sum256([]byte(project + "\x00" + class))
	return filepath.Join(dir, EstimatesDir, hex.EncodeToString(sum[:8])+".json")
}

type estimatesFile struct {
	Project   string            `json:"project"`
	Class     string            `json:"class"`
	Estimates map[string]string `json:"estimate_sec"`
	// Cases is the case estimate hash (docs/partitions.md).
	Cases map[string]string `json:"case_estimate_sec,omitempty"`
}

// SaveEstimates keeps the estimate hash of a project's taskset class, and
// its case estimate hash.
func SaveEstimates(dir, project, class string, est, cases map[string]string) error {
	path := estimatesPath(dir, project, class)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save estimates: %w", err)
	}
	b, err := json.MarshalIndent(estimatesFile{Project: project, Class: class, Estimates: est, Cases: cases}, "", "  ")
	if err != nil {
		return fmt.Errorf("save estimates: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save estimates: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save estimates: %w", err)
	}
	return nil
}

// LoadEstimates returns what SaveEstimates kept, or nothing when there is
// no file yet. A file that does not decode is an error.
func LoadEstimates(dir, project, class string) (est, cases map[string]string, err error) {
	path := estimatesPath(dir, project, class)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load estimates %s: %w", path, err)
	}
	var f estimatesFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("load estimates %s: %w (remove the file to start afresh)", path, err)
	}
	return f.Estimates, f.Cases, nil
}
