package store_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/store"
)

func at(sec int) model.Time { return model.Time{Time: time.Unix(int64(sec), 0).UTC()} }

func snapshot(id string) *model.Snapshot {
	ts := "rrrspec:taskset:" + id
	w := "rrrspec:worker:box1"
	task := ts + ":task:spec/a_spec.rb"
	exit := 1
	est := 12
	return &model.Snapshot{
		Taskset: model.Taskset{Key: ts, ID: id, Status: "failed", CreatedAt: at(100), FinishedAt: at(200),
			FailedCount: 1, TaskCount: 1, MaxTrials: 1, TasksetClass: "default"},
		Tasks: []model.Task{{Key: task, SpecFile: "spec/a_spec.rb", Status: "failed", EstimateSec: &est,
			Trials: []model.Trial{{Key: task + ":trial:t1", Slave: w + ":slave:100", Status: "failed",
				StartedAt: at(110), FinishedAt: at(150), Failed: 2, ExitCode: &exit, Stdout: "2 failures", Stderr: "boom",
				Report: []model.Case{{Name: "adds", Status: "failed", Message: "expected 2"}}}}}},
		WorkerLogs: []model.WorkerLog{{Key: ts + ":worker_log:" + w, Worker: w, Taskset: ts, StartedAt: at(101), Log: "rsync ok\n"}},
		Slaves:     []model.Slave{{Key: w + ":slave:100", Worker: w, Taskset: ts, Number: 1, Pid: 100, Log: "slave 1 up\n"}},
		Log:        "taskset created\n",
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// hidden lists the temporary folders left in dir.
func hidden(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteAndRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results") // created on first write
	s := snapshot("20260101-abc")
	require.NoError(t, store.Write(dir, s))

	got, err := store.Read(dir, "20260101-abc")
	require.NoError(t, err)
	require.JSONEq(t, jsonOf(t, s), jsonOf(t, got), "the document is the snapshot")
	require.Equal(t, "2 failures", got.Tasks[0].Trials[0].Stdout)
	require.True(t, got.FinishedAt.Equal(s.FinishedAt.Time))

	p := store.Path(dir, "20260101-abc")
	for file, want := range map[string]string{
		"log.txt":                           "taskset created\n",
		"worker_logs/box1.log":              "rsync ok\n",
		"slaves/box1/100.log":               "slave 1 up\n",
		"trials/spec%2Fa_spec.rb/t1.stdout": "2 failures",
		"trials/spec%2Fa_spec.rb/t1.stderr": "boom",
	} {
		require.Equal(t, want, read(t, filepath.Join(p, file)), file)
	}
	require.Empty(t, hidden(t, dir), "no temporary folder is left")
}

func TestEmptyOutputsGetNoFile(t *testing.T) {
	dir := t.TempDir()
	s := snapshot("quiet")
	s.Tasks[0].Trials[0].Stderr = ""
	require.NoError(t, store.Write(dir, s))
	trials := filepath.Join(store.Path(dir, "quiet"), "trials", "spec%2Fa_spec.rb")
	require.Equal(t, "2 failures", read(t, filepath.Join(trials, "t1.stdout")))
	_, err := os.Stat(filepath.Join(trials, "t1.stderr"))
	require.ErrorIs(t, err, os.ErrNotExist)

	s.Tasks[0].Trials[0].Stdout = ""
	require.NoError(t, store.Write(dir, s))
	_, err = os.Stat(trials)
	require.ErrorIs(t, err, os.ErrNotExist, "a spec whose trials printed nothing gets no folder")
	got, err := store.Read(dir, "quiet")
	require.NoError(t, err)
	require.Len(t, got.Tasks[0].Trials, 1, "the trial is in the document all the same")
}

func TestRewriteReplacesTheFolder(t *testing.T) {
	dir := t.TempDir()
	s := snapshot("x")
	require.NoError(t, store.Write(dir, s))
	s.Log = "second\n"
	s.Slaves = nil
	require.NoError(t, store.Write(dir, s))
	got, err := store.Read(dir, "x")
	require.NoError(t, err)
	require.Equal(t, "second\n", got.Log)
	require.Equal(t, "second\n", read(t, filepath.Join(store.Path(dir, "x"), "log.txt")))
	_, err = os.Stat(filepath.Join(store.Path(dir, "x"), "slaves"))
	require.ErrorIs(t, err, os.ErrNotExist, "nothing of the first copy is mixed in")
	require.Empty(t, hidden(t, dir))
}

func TestConcurrentWritersLeaveOneWholeCopy(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := snapshot("race")
			s.Log = fmt.Sprintf("writer %d\n", i)
			errs <- store.Write(dir, s)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := store.Read(dir, "race")
	require.NoError(t, err)
	require.Equal(t, got.Log, read(t, filepath.Join(store.Path(dir, "race"), "log.txt")),
		"the document and the files come from the same writer")
	require.Empty(t, hidden(t, dir))
}

func TestBadIDsAndMissingTasksets(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"", ".", "..", "../up", "a/b", ".hidden"} {
		s := snapshot("ok")
		s.ID = id
		require.ErrorIs(t, store.Write(dir, s), store.ErrInvalidID, id)
		_, err := store.Read(dir, id)
		require.ErrorIs(t, err, store.ErrInvalidID, id)
	}
	_, err := store.Read(dir, "never")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Contains(t, err.Error(), "never")

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "broken"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken", store.Document), []byte("{"), 0o644))
	_, err = store.Read(dir, "broken")
	require.ErrorContains(t, err, "not a taskset document")
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	ids, err := store.List(filepath.Join(dir, "none"))
	require.NoError(t, err)
	require.Empty(t, ids, "a store not created yet is empty")
	for _, id := range []string{"b", "a", "c"} {
		require.NoError(t, store.Write(dir, snapshot(id)))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "not-a-taskset"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".tmp-d-123"), 0o755))
	ids, err = store.List(dir)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, ids)
}

func TestLongSpecNamesStayDistinctAndShort(t *testing.T) {
	dir := t.TempDir()
	s := snapshot("long")
	base := strings.Repeat("deep/", 60)
	s.Tasks = nil
	for _, spec := range []string{base + "one_spec.rb", base + "two_spec.rb", ".."} {
		task := s.Key + ":task:" + spec
		s.Tasks = append(s.Tasks, model.Task{Key: task, SpecFile: spec,
			Trials: []model.Trial{{Key: task + ":trial:1", Stdout: spec}}})
	}
	require.NoError(t, store.Write(dir, s))
	entries, err := os.ReadDir(filepath.Join(store.Path(dir, "long"), "trials"))
	require.NoError(t, err)
	require.Len(t, entries, 3)
	seen := map[string]bool{}
	for _, e := range entries {
		require.LessOrEqual(t, len(e.Name()), 255, e.Name())
		require.NotEqual(t, "..", e.Name())
		out := read(t, filepath.Join(store.Path(dir, "long"), "trials", e.Name(), "1.stdout"))
		require.False(t, seen[out])
		seen[out] = true
	}
}
