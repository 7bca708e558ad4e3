package worker

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/schema"
)

// A restarted worker kills the process groups its earlier life's trials
// left running, and only those that carry their taskset.
func TestReapEarlierLife(t *testing.T) {
	dir := t.TempDir()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never used: keys only
	defer rdb.Close()
	w := &Worker{cfg: Config{WorkingDir: dir}, c: schema.NewClient(rdb, "reap"), log: zerolog.Nop()}

	start := func(env string) *exec.Cmd {
		cmd := exec.Command("sh", "-c", "sleep 600 & wait")
		cmd.Env = append(os.Environ(), env)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
		return cmd
	}
	record := func(id, slave string, pgid int) string {
		p := filepath.Join(dir, logsDir, id, "run", slave+".pgid")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(strconv.Itoa(pgid)), 0o644))
		return p
	}
	ours := start(EnvTaskset + "=" + w.c.Keys.Taskset("ts1"))
	other := start(EnvTaskset + "=somebody-else")
	f1 := record("ts1", "s1", ours.Process.Pid)
	f2 := record("ts2", "s1", other.Process.Pid) // a pgid reused by a process of another taskset
	// The group's leader must be seen first: wait until /proc shows its env.
	require.Eventually(t, func() bool { return groupCarries(ours.Process.Pid, EnvTaskset+"="+w.c.Keys.Taskset("ts1")) },
		5*time.Second, 10*time.Millisecond)

	w.reapEarlierLife()

	done := make(chan error, 1)
	go func() { done <- ours.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the earlier life's trial group is still running")
	}
	require.NoError(t, syscall.Kill(-other.Process.Pid, 0), "a group of another taskset is left alone")
	require.NoFileExists(t, f1)
	require.NoFileExists(t, f2)
}
