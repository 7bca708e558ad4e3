package main

// The harness of the tests (and benchmarks) that run rrr as real
// processes: one build of the binary per test run, processes in their own
// process groups that the test stops, and redis-servers of a test's own.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/redistest"
)

func TestMain(m *testing.M) { redistest.Main(runThen{m, removeBinary}) }

// runThen runs the tests, then cleans up after them.
type runThen struct {
	m     *testing.M
	after func()
}

func (r runThen) Run() int {
	code := r.m.Run()
	r.after()
	return code
}

var bin struct {
	once      sync.Once
	dir, path string
	err       error
}

// build builds rrr once per test run and returns the binary's path.
func build(t testing.TB) string {
	t.Helper()
	bin.once.Do(func() {
		if bin.dir, bin.err = os.MkdirTemp("", "rrr-bin-"); bin.err != nil {
			return
		}
		bin.path = filepath.Join(bin.dir, "rrr")
		if out, err := exec.Command("go", "build", "-o", bin.path, ".").CombinedOutput(); err != nil {
			bin.err = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(t, bin.err)
	return bin.path
}

func removeBinary() {
	if bin.dir != "" {
		_ = os.RemoveAll(bin.dir)
	}
}

// ownRedis starts a redis-server of the test's own (it restarts it, or
// must not share it), and stops it when the test ends.
func ownRedis(t testing.TB, opts redistest.Options) *redistest.Server {
	t.Helper()
	return redistest.Own(t, opts)
}

// proc is an rrr process the test owns.
type proc struct {
	cmd    *exec.Cmd
	args   []string
	stdout *looptest.Buffer
	stderr *looptest.Buffer
	done   chan struct{}
	err    error
}

// spawn starts rrr with args in its own process group; the test's cleanup
// stops it (SIGTERM, then SIGKILL to the group after 10 s).
func spawn(t testing.TB, bin string, args ...string) *proc {
	t.Helper()
	return spawnEnv(t, nil, bin, args...)
}

// spawnEnv is spawn with more environment variables.
func spawnEnv(t testing.TB, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), args: args, stdout: &looptest.Buffer{}, stderr: &looptest.Buffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(append(os.Environ(), "CI=1"), env...) // CI: no terminal control in logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A leaked child holding an output pipe must not hang the test.
	p.cmd.WaitDelay = 2 * time.Second
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("rrr %s did not stop on SIGTERM within 10 s", args)
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("rrr %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.stdout, p.stderr)
		}
	})
	return p
}

// pid is the process's id, and the id of its process group.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exit waits for the process to end and returns its exit code.
func (p *proc) exit(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("rrr %s did not exit within %s\nstderr:\n%s", strings.Join(p.args, " "), within, p.stderr)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(t, p.err)
	return 0
}

// killGroup ends the process and everything in its process group at once.
func (p *proc) killGroup(t testing.TB) {
	t.Helper()
	require.NoError(t, syscall.Kill(-p.pid(), syscall.SIGKILL))
	<-p.done
}
