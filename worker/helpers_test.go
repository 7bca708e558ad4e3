package worker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/proc/proctest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/schema"
	"github.com/rrr-dev/rrr/worker"
)

// envAsSlave makes the test binary run as a slave: the worker tests start
// their own binary as the slave program, with this variable set.
const envAsSlave = "RRR_TEST_AS_SLAVE"

func TestMain(m *testing.M) {
	if os.Getenv(envAsSlave) == "1" {
		os.Exit(slaveMain())
	}
	redistest.Main(m)
}

// slaveMain is what `rrr slave` does, for the re-executed test binary.
func slaveMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := zerolog.New(os.Stderr).With().Timestamp().Logger()
	url, _, err := worker.SlaveRedisURL(os.Getenv)
	if err != nil {
		log.Error().Err(err).Msg("slave")
		return 2
	}
	rdb, err := redisx.Open(ctx, url)
	if err != nil {
		log.Error().Err(err).Msg("slave")
		return 4
	}
	defer rdb.Close()
	c := schema.NewClient(rdb, os.Getenv(worker.EnvNamespace))
	if err := worker.RunSlaveFromEnv(ctx, c, log, os.Getenv); err != nil {
		log.Error().Err(err).Msg("slave")
		if errors.Is(err, worker.ErrBreakerTripped) {
			return worker.ExitBreaker
		}
		return 1
	}
	return 0
}

var bg = context.Background()

const wait = 30 * time.Second

// env is one test's Redis, client and project.
type env struct {
	b       redistest.Backend
	c       *schema.Client
	r       *model.Reader
	dir     string // a temporary directory of the test
	remote  string // the rsync remote path: the project is <remote>/<rsync name>
	project string
	arb     *looptest.Arbiter
}

func newEnv(t *testing.T, b redistest.Backend) *env {
	t.Helper()
	c := schema.NewClient(b.RDB, b.NS)
	dir := t.TempDir()
	e := &env{b: b, c: c, r: model.NewReader(c), dir: dir,
		remote: filepath.Join(dir, "remote"), project: filepath.Join(dir, "remote", "alice")}
	require.NoError(t, os.MkdirAll(e.project, 0o755))
	e.arb = looptest.StartArbiter(t, c)
	return e
}

// write creates files of the project (path relative to it -> content).
func (e *env) write(t *testing.T, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(e.project, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o755))
	}
}

// path is a file of the test outside the project (markers, pid files).
func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

func (e *env) create(t *testing.T, s schema.TasksetSpec) string {
	t.Helper()
	if s.RsyncName == "" {
		s.RsyncName = "alice"
	}
	ts, err := e.c.CreateTaskset(bg, fmt.Sprintf("ts%d", time.Now().UnixNano()), s)
	require.NoError(t, err)
	return ts
}

func (e *env) hget(t *testing.T, key, field string) string {
	t.Helper()
	v, err := e.b.RDB.HGet(bg, key, field).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	require.NoError(t, err)
	return v
}

func (e *env) list(t *testing.T, key string) []string {
	t.Helper()
	v, err := e.b.RDB.LRange(bg, key, 0, -1).Result()
	require.NoError(t, err)
	return v
}

// waitStatus waits until the taskset has a final status and returns it.
func (e *env) waitStatus(t *testing.T, ts string) string {
	t.Helper()
	var status string
	require.Eventually(t, func() bool {
		status = e.hget(t, ts, schema.FStatus)
		return schema.IsFinal(status)
	}, wait, 20*time.Millisecond, "taskset %s did not finish", ts)
	return status
}

func (e *env) load(t *testing.T, ts string) *model.Snapshot {
	t.Helper()
	s, err := e.r.Load(bg, ts, model.LoadOptions{Output: true, Logs: true})
	require.NoError(t, err)
	return s
}

// task returns the task of spec in a snapshot.
func task(t *testing.T, s *model.Snapshot, spec string) model.Task {
	t.Helper()
	for _, k := range s.Tasks {
		if k.Key == schema.Task(s.Key, spec) {
			return k
		}
	}
	t.Fatalf("no task %s in %s", spec, s.Key)
	return model.Task{}
}

// pidIn waits for a pid written to a file by a test process, and kills
// that process when the test ends.
func pidIn(t *testing.T, path string) int {
	t.Helper()
	pid := proctest.PidIn(t, path, wait)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

func requireDies(t *testing.T, pid int, what string) {
	t.Helper()
	require.Eventually(t, func() bool { return !proctest.Alive(pid) }, wait, 10*time.Millisecond, "%s (pid %d) is still running", what, pid)
}
