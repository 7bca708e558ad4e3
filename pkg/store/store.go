package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// Document is the file name of a taskset's JSON document.
const Document = "taskset.json"

// ErrNotFound is returned by Read for a taskset the store does not hold.
var ErrNotFound = errors.New("taskset not in the results store")

// ErrInvalidID is returned for an id that cannot name a folder.
var ErrInvalidID = errors.New("invalid taskset id")

// checkID refuses ids that would leave dir or hide among temporary folders:
// the rule of schema.CheckTasksetID, which every created taskset passes.
func checkID(id string) error {
	if err := schema.CheckTasksetID(id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	return nil
}

// Path is the folder of taskset id in the store at dir.
func Path(dir, id string) string { return filepath.Join(dir, id) }

// Write stores s (loaded with outputs and logs) in the store at dir,
// replacing an earlier copy.
func Write(dir string, s *model.Snapshot) error {
	if err := checkID(s.ID); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create results store %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-"+s.ID+"-")
	if err != nil {
		return fmt.Errorf("write taskset %s to %s: %w", s.ID, dir, err)
	}
	defer os.RemoveAll(tmp) // gone already when it was renamed into place
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("write taskset %s to %s: %w", s.ID, dir, err)
	}
	if err := writeFiles(tmp, s); err != nil {
		return fmt.Errorf("write taskset %s to %s: %w", s.ID, dir, err)
	}
	if err := publish(dir, tmp, Path(dir, s.ID)); err != nil {
		return fmt.Errorf("write taskset %s to %s: %w", s.ID, dir, err)
	}
	return nil
}

func writeFiles(root string, s *model.Snapshot) error {
	doc, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	files := map[string]string{
		Document:  string(doc) + "\n",
		"log.txt": s.Log,
	}
	for _, l := range s.WorkerLogs {
		files[filepath.Join("worker_logs", safeName(workerID(l.Worker, l.Key))+".log")] = l.Log
	}
	for _, sl := range s.Slaves {
		w, pid := slaveID(sl.Key)
		files[filepath.Join("slaves", safeName(w), safeName(pid)+".log")] = sl.Log
	}
	// An empty output gets no file: a taskset of 100,000 specs would
	// otherwise cost a few hundred thousand empty files (and fsyncs).
	for _, t := range s.Tasks {
		spec := safeName(t.SpecFile)
		for _, tr := range t.Trials {
			id := safeName(after(tr.Key, ":trial:"))
			if tr.Stdout != "" {
				files[filepath.Join("trials", spec, id+".stdout")] = tr.Stdout
			}
			if tr.Stderr != "" {
				files[filepath.Join("trials", spec, id+".stderr")] = tr.Stderr
			}
		}
	}
	names := make([]string, 0, len(files))
	dirs := map[string]bool{}
	for n := range files {
		names = append(names, n)
		dirs[filepath.Dir(n)] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	sort.Strings(names)
	// Each file is synced before the folder is renamed into place; the
	// syncs of a large taskset wait on the disk, so several run at once.
	work := make(chan string)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				if err := writeFile(filepath.Join(root, n), files[n]); err != nil {
					errs <- err
					for range work { // drain, so that the sender ends
					}
					return
				}
			}
		}()
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return syncDir(root)
}

// writers is how many files Write writes at once.
const writers = 8

// writeFile writes and syncs a file, so that a crash after the rename does
// not leave an empty document behind it.
func writeFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// publish renames tmp to final. A folder cannot be renamed over a full one,
// so an earlier copy is moved aside first and removed after; two writers
// racing end with one whole copy.
func publish(dir, tmp, final string) error {
	for range 10 {
		err := os.Rename(tmp, final)
		if err == nil {
			return syncDir(dir)
		}
		if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
			return err
		}
		aside := filepath.Join(dir, ".old-"+filepath.Base(final)+"-"+random())
		if err := os.Rename(final, aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		defer os.RemoveAll(aside)
	}
	return fmt.Errorf("rename %s to %s: another writer keeps replacing it", tmp, final)
}

// Read loads taskset id from the store at dir.
func Read(dir, id string) (*model.Snapshot, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(Path(dir, id), Document))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("taskset %s in %s: %w", id, dir, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read taskset %s from %s: %w", id, dir, err)
	}
	var s model.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read taskset %s from %s: %s is not a taskset document: %w",
			id, dir, Document, err)
	}
	return &s, nil
}

// List returns the ids of the tasksets in the store at dir, sorted; a
// store that does not exist yet is empty.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list results store %s: %w", dir, err)
	}
	var ids []string
	for _, e := range entries {
		if !e.IsDir() || checkID(e.Name()) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), Document)); err == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// maxName keeps file names under the 255 bytes most file systems allow.
const maxName = 200

// safeName makes one path element of s: escaped, never "." or "..", and
// shortened with a hash of s when too long.
func safeName(s string) string {
	n := url.PathEscape(s)
	switch n {
	case "":
		n = "_"
	case ".", "..":
		n = strings.ReplaceAll(n, ".", "%2E")
	}
	if len(n) > maxName {
		sum := sha256.Sum256([]byte(s))
		n = n[:maxName-17] + "~" + hex.EncodeToString(sum[:8])
	}
	return n
}

// after returns what follows the last sep in s, or s.
func after(s, sep string) string {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return s
}

// workerID is the id of a worker key ($NS:worker:$W).
func workerID(worker, fallback string) string {
	if worker == "" {
		worker = after(fallback, ":worker_log:")
	}
	return after(worker, ":worker:")
}

// slaveID splits a slave key ($NS:worker:$W:slave:$PID) into $W and $PID.
func slaveID(key string) (string, string) {
	i := strings.LastIndex(key, ":slave:")
	if i < 0 {
		return "_", key
	}
	return after(key[:i], ":worker:"), key[i+len(":slave:"):]
}

func random() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
