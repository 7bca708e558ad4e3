package proc_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/proc"
	"github.com/rrr-dev/rrr/pkg/proc/proctest"
)

// sh runs script with sh -c in a temporary directory, capturing into files
// there.
func sh(t *testing.T, spec proc.Spec, script string) (proc.Result, string) {
	t.Helper()
	dir := t.TempDir()
	spec.Argv = []string{"sh", "-c", script}
	spec.Dir = dir
	spec.StdoutFile = filepath.Join(dir, "out", "stdout")
	spec.StderrFile = filepath.Join(dir, "out", "stderr")
	res, err := proc.Run(context.Background(), spec)
	require.NoError(t, err)
	return res, dir
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// requireDies waits until pid is gone, and kills it at cleanup if the test
// failed before.
func requireDies(t *testing.T, pid int) {
	t.Helper()
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.Eventually(t, func() bool { return !proctest.Alive(pid) }, 10*time.Second, 10*time.Millisecond,
		"process %d outlived its trial", pid)
}

func TestRunPass(t *testing.T) {
	t.Parallel()
	var started int
	res, dir := sh(t, proc.Spec{OnStart: func(pgid int) { started = pgid }},
		`echo hello; echo oops >&2; cut -d' ' -f5 /proc/$$/stat`)
	require.True(t, res.OK(), res.Describe())
	require.True(t, res.Exited)
	require.Equal(t, 0, res.ExitCode)
	require.Equal(t, "exit code 0", res.Describe())
	require.Equal(t, started, res.Pid)
	// its own process group: the group id printed is its pid, not ours
	require.Equal(t, "hello\n"+strconv.Itoa(res.Pid)+"\n", res.Stdout.String())
	require.NotEqual(t, syscall.Getpgrp(), res.Pid)
	require.Equal(t, "oops\n", res.Stderr.String())
	require.Equal(t, res.Stdout.Bytes(), read(t, filepath.Join(dir, "out", "stdout")))
	require.Equal(t, "oops\n", string(read(t, filepath.Join(dir, "out", "stderr"))))
}

func TestRunEndings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		script   string
		exited   bool
		code     int
		signal   syscall.Signal
		describe string
	}{
		{"exit code", "echo failing; exit 3", true, 3, 0, "exit code 3"},
		{"foreign signal", "kill -SEGV $$", false, -1, syscall.SIGSEGV, "killed by signal SIGSEGV"},
		{"killed", "kill -KILL $$", false, -1, syscall.SIGKILL, "killed by signal SIGKILL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res, _ := sh(t, proc.Spec{Soft: time.Minute, Hard: 2 * time.Minute}, c.script)
			require.False(t, res.OK())
			require.Equal(t, c.exited, res.Exited)
			require.Equal(t, c.code, res.ExitCode)
			require.Equal(t, c.signal, res.Signal)
			require.Equal(t, proc.NoTimeout, res.Timeout)
			require.False(t, res.Cancelled)
			require.Equal(t, c.describe, res.Describe())
		})
	}
}

func TestRunSoftTimeoutKillsTheGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	// The child sleeps in the background; SIGTERM to the group ends both.
	res, _ := sh(t, proc.Spec{Soft: 300 * time.Millisecond, Hard: time.Minute},
		`sleep 300 & echo $! > `+pidFile+`; echo waiting; wait`)
	require.Equal(t, proc.SoftTimeout, res.Timeout)
	require.Equal(t, syscall.SIGTERM, res.Signal)
	require.Contains(t, res.Describe(), "soft timeout after 300ms (SIGTERM")
	require.Equal(t, "waiting\n", res.Stdout.String())
	requireDies(t, proctest.PidIn(t, pidFile, 10*time.Second))
}

func TestRunHardTimeoutWhenSIGTERMIsIgnored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	// An ignored signal stays ignored across fork and exec: neither the
	// shell nor its child obeys SIGTERM.
	res, _ := sh(t, proc.Spec{Soft: 200 * time.Millisecond, Hard: 700 * time.Millisecond},
		`trap '' TERM; sleep 300 & echo $! > `+pidFile+`; wait; wait; wait`)
	require.Equal(t, proc.HardTimeout, res.Timeout)
	require.Equal(t, syscall.SIGKILL, res.Signal)
	require.Contains(t, res.Describe(), "hard timeout after 700ms (SIGKILL")
	requireDies(t, proctest.PidIn(t, pidFile, 10*time.Second))
}

func TestRunKillsLeftoversWhenTheMainProcessExits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	// The background child keeps stdout open: without the group kill the
	// output would never end.
	res, _ := sh(t, proc.Spec{WaitDelay: time.Minute},
		`sleep 300 & echo $! > `+pidFile+`; echo done`)
	require.True(t, res.OK(), res.Describe())
	require.False(t, res.OutputCut)
	require.Equal(t, "done\n", res.Stdout.String())
	requireDies(t, proctest.PidIn(t, pidFile, 10*time.Second))
}

func TestRunGrandchildOutsideTheGroupCannotHangIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "escaped")
	// setsid leaves the group (and the session); the escaped process holds
	// stdout and stderr open. Run must give up on them after WaitDelay.
	res, _ := sh(t, proc.Spec{WaitDelay: 300 * time.Millisecond},
		`setsid sh -c 'echo $$ > `+pidFile+`; exec sleep 300' & `+
			`while [ ! -s `+pidFile+` ]; do sleep 0.01; done; echo started`)
	pid := proctest.PidIn(t, pidFile, 10*time.Second)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.True(t, res.OK(), res.Describe())
	require.True(t, res.OutputCut)
	require.Equal(t, "started\n", res.Stdout.String())
}

func TestRunHugeOutputIsCappedAndTheFileComplete(t *testing.T) {
	t.Parallel()
	const size = 10_000_000
	res, dir := sh(t, proc.Spec{},
		`awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "%09d\n", i }'; echo tail >&2`)
	require.True(t, res.OK(), res.Describe())
	full := read(t, filepath.Join(dir, "out", "stdout"))
	require.Len(t, full, size)
	require.Equal(t, int64(size), res.Stdout.Total)
	require.Equal(t, full[:proc.DefaultHead], res.Stdout.Head)
	require.Equal(t, full[size-proc.DefaultTail:], res.Stdout.Tail)
	require.Equal(t, int64(size-proc.DefaultHead-proc.DefaultTail), res.Stdout.Omitted())
	text := res.Stdout.String()
	require.Contains(t, text, "\n[rrr: 9934464 bytes omitted]\n")
	require.True(t, strings.HasPrefix(text, "000000000\n000000001\n"))
	require.True(t, strings.HasSuffix(text, "000999999\n"))
	require.Less(t, len(text), proc.DefaultHead+proc.DefaultTail+100)
	require.Equal(t, "tail\n", res.Stderr.String())
}

func TestRunNonUTF8Output(t *testing.T) {
	t.Parallel()
	res, dir := sh(t, proc.Spec{}, `printf 'ok \377\376 caf\303\251\n'`)
	require.True(t, res.OK(), res.Describe())
	require.Equal(t, "ok \xff\xfe caf\xc3\xa9\n", string(read(t, filepath.Join(dir, "out", "stdout"))))
	text := res.Stdout.String()
	require.True(t, utf8.ValidString(text))
	require.Equal(t, "ok \uFFFD café\n", text)
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // no require here: not the test's goroutine
		for {
			if b, err := os.ReadFile(filepath.Join(dir, "started")); err == nil && len(b) > 0 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	res, err := proc.Run(ctx, proc.Spec{
		Argv:  []string{"sh", "-c", `trap '' TERM; echo $$ > started; sleep 300`},
		Dir:   dir,
		Grace: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	require.True(t, res.Cancelled)
	require.Equal(t, syscall.SIGKILL, res.Signal, "SIGTERM is ignored, SIGKILL follows the grace")
	require.Equal(t, proc.NoTimeout, res.Timeout)
	require.Contains(t, res.Describe(), "stopped before it finished")
}

func TestRunCannotStart(t *testing.T) {
	t.Parallel()
	cases := []proc.Spec{
		{Argv: []string{"rrr-no-such-command-xyz"}},
		{Argv: []string{"./not-here.sh"}, Dir: t.TempDir()},
		{Argv: []string{"true"}, Dir: filepath.Join(t.TempDir(), "missing")},
		{},
	}
	for _, c := range cases {
		_, err := proc.Run(context.Background(), c)
		require.ErrorIs(t, err, proc.ErrStart, "%v", c.Argv)
	}
}

func TestRunRelativeProgramIsFoundInDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho \"ran $1\"\n"), 0o755))
	res, err := proc.Run(context.Background(), proc.Spec{Argv: []string{"./run.sh", "a b"}, Dir: dir})
	require.NoError(t, err)
	require.True(t, res.OK(), res.Describe())
	require.Equal(t, "ran a b\n", res.Stdout.String())
}

func TestOutputCapture(t *testing.T) {
	t.Parallel()
	// Random write sizes against the plain definition: the first Head and
	// the last Tail bytes.
	for round := range 50 {
		r := rand.New(rand.NewPCG(uint64(round), 7))
		total := r.IntN(5000)
		data := make([]byte, total)
		for i := range data {
			data[i] = byte('a' + r.IntN(26))
		}
		dir := t.TempDir()
		in := filepath.Join(dir, "in")
		require.NoError(t, os.WriteFile(in, data, 0o644))
		res, err := proc.Run(context.Background(), proc.Spec{Argv: []string{"cat", in}, Head: 100, Tail: 300})
		require.NoError(t, err)
		// A file a process wrote itself is captured the same way.
		fromFile, err := proc.CaptureFile(in, 100, 300)
		require.NoError(t, err)
		for _, o := range []proc.Output{res.Stdout, fromFile} {
			require.Equal(t, int64(total), o.Total)
			if total <= 400 {
				require.Equal(t, data, o.Bytes())
				continue
			}
			require.Equal(t, data[:100], o.Head)
			require.Equal(t, data[total-300:], o.Tail)
			require.True(t, bytes.Contains(o.Bytes(), []byte("[rrr: "+strconv.Itoa(total-400)+" bytes omitted]")))
		}
	}
	_, err := proc.CaptureFile(filepath.Join(t.TempDir(), "missing"), 0, 0)
	require.ErrorIs(t, err, os.ErrNotExist)
}
