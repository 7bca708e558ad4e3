package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrStart is wrapped when the command could not be started at all: not
// found, not executable, or its working directory is missing.
var ErrStart = errors.New("could not start the command")

// Defaults of Spec.
const (
	DefaultGrace     = 5 * time.Second
	DefaultWaitDelay = 2 * time.Second
)

// Timeout says which of our timeouts ended a run.
type Timeout int

// Timeouts.
const (
	NoTimeout   Timeout = iota
	SoftTimeout         // SIGTERM was sent to the group
	HardTimeout         // SIGKILL was sent to the group
)

// Spec is what to run and how.
type Spec struct {
	Argv []string // program and arguments; no shell is involved
	Dir  string   // working directory; "" is the current one
	Env  []string // the whole environment; nil inherits the current one

	// Soft and Hard are measured from the start; 0 disables one. At Soft
	// the group gets SIGTERM, at Hard SIGKILL.
	Soft, Hard time.Duration
	// Grace is how long a cancelled run (ctx done) has between SIGTERM
	// and SIGKILL.
	Grace time.Duration
	// WaitDelay is how long output is still read after the group is gone,
	// for a process that left the group and holds a pipe.
	WaitDelay time.Duration

	// StdoutFile and StderrFile receive the full, raw output when set;
	// their directory is created.
	StdoutFile, StderrFile string
	// Head and Tail cap the captured bytes of each stream (defaults
	// DefaultHead, DefaultTail).
	Head, Tail int

	// OnStart is called with the process group id as soon as the child
	// runs, before it can have forked anything that matters.
	OnStart func(pgid int)
}

// Result is how a run ended.
type Result struct {
	Pid      int
	Exited   bool           // it exited by itself: ExitCode is valid
	ExitCode int            // -1 when it did not exit
	Signal   syscall.Signal // the signal that ended it, 0 when it exited
	Timeout  Timeout        // which of our timeouts fired, if one did
	Soft     time.Duration  // the timeouts it ran with, for messages
	Hard     time.Duration
	// Cancelled is set when ctx ended the run.
	Cancelled bool
	Stdout    Output
	Stderr    Output
	// OutputCut is set when a process outside the group held a pipe open
	// past WaitDelay and its later output was lost.
	OutputCut bool
	// OutputErr is the first error writing the output files; the capture
	// in memory is complete regardless.
	OutputErr error
	Duration  time.Duration
}

// OK reports whether the run exited with code 0, on time.
func (r Result) OK() bool {
	return r.Exited && r.ExitCode == 0 && r.Timeout == NoTimeout && !r.Cancelled
}

// Describe says how the run ended, for people: "exit code 3", "killed by
// signal SIGSEGV", "soft timeout after 2s (SIGTERM to its process group)".
func (r Result) Describe() string {
	var how string
	switch {
	case r.Exited:
		how = fmt.Sprintf("exit code %d", r.ExitCode)
	case r.Signal != 0:
		how = "killed by signal " + SignalName(r.Signal)
	default:
		how = "ended"
	}
	switch {
	case r.Timeout == HardTimeout:
		return fmt.Sprintf("hard timeout after %s (SIGKILL to its process group; %s)", r.Hard, how)
	case r.Timeout == SoftTimeout:
		return fmt.Sprintf("soft timeout after %s (SIGTERM to its process group; %s)", r.Soft, how)
	case r.Cancelled:
		return "stopped before it finished (" + how + ")"
	}
	return how
}

// Run runs s and waits until the process has ended, its group has been
// killed and its output has been read. The error is non-nil only when the
// command could not run (ErrStart) or an output file could not be created;
// a command that fails is a Result.
func Run(ctx context.Context, s Spec) (Result, error) {
	if len(s.Argv) == 0 || s.Argv[0] == "" {
		return Result{}, fmt.Errorf("%w: no command given", ErrStart)
	}
	if s.Grace <= 0 {
		s.Grace = DefaultGrace
	}
	if s.WaitDelay <= 0 {
		s.WaitDelay = DefaultWaitDelay
	}
	outFile, err := createFile(s.StdoutFile)
	if err != nil {
		return Result{}, err
	}
	defer closeFile(outFile)
	errFile, err := createFile(s.StderrFile)
	if err != nil {
		return Result{}, err
	}
	defer closeFile(errFile)

	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("%w: pipe: %w", ErrStart, err)
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return Result{}, fmt.Errorf("%w: pipe: %w", ErrStart, err)
	}
	defer errR.Close()

	// The child writes straight into our pipes (exec passes *os.File as
	// is), so Wait does not wait for the output: we kill the group first,
	// then drain with a deadline.
	cmd := exec.Command(s.Argv[0], s.Argv[1:]...)
	cmd.Dir = s.Dir
	cmd.Env = s.Env
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.SysProcAttr = sysProcAttr()
	start := time.Now()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		return Result{}, fmt.Errorf("%w %q: %w", ErrStart, s.Argv[0], err)
	}
	pgid := cmd.Process.Pid
	if s.OnStart != nil {
		s.OnStart(pgid)
	}
	res := Result{Pid: pgid, ExitCode: -1, Soft: s.Soft, Hard: s.Hard}

	outCap, errCap := newCapture(s.Head, s.Tail), newCapture(s.Head, s.Tail)
	var (
		wg               sync.WaitGroup
		outCut, errCut   bool
		outFErr, errFErr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); outCut, outFErr = pump(outR, outCap, outFile) }()
	go func() { defer wg.Done(); errCut, errFErr = pump(errR, errCap, errFile) }()

	var (
		fired     atomic.Int32
		cancelled atomic.Bool
		mu        sync.Mutex
		reaped    bool
	)
	// signal reaches the whole group, never after the leader was reaped:
	// its id may then belong to someone else.
	signal := func(sig syscall.Signal) {
		mu.Lock()
		defer mu.Unlock()
		if !reaped {
			_ = syscall.Kill(-pgid, sig)
		}
	}
	var timers []*time.Timer
	if s.Soft > 0 {
		timers = append(timers, time.AfterFunc(s.Soft, func() {
			fired.CompareAndSwap(int32(NoTimeout), int32(SoftTimeout))
			signal(syscall.SIGTERM)
		}))
	}
	if s.Hard > 0 {
		timers = append(timers, time.AfterFunc(s.Hard, func() {
			fired.Store(int32(HardTimeout))
			signal(syscall.SIGKILL)
		}))
	}
	exited := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-exited:
			return
		}
		cancelled.Store(true)
		signal(syscall.SIGTERM)
		select {
		case <-time.After(s.Grace):
			signal(syscall.SIGKILL)
		case <-exited:
		}
	}()

	zombie := waitExited(pgid)
	for _, t := range timers {
		t.Stop()
	}
	var waitErr error
	if zombie {
		signal(syscall.SIGKILL) // what is left of the group
		mu.Lock()
		waitErr = cmd.Wait()
		reaped = true
		mu.Unlock()
	} else {
		waitErr = cmd.Wait()
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // best effort: the id was just freed
		mu.Lock()
		reaped = true
		mu.Unlock()
	}
	close(exited)
	res.Duration = time.Since(start)

	deadline := time.Now().Add(s.WaitDelay)
	_ = outR.SetReadDeadline(deadline)
	_ = errR.SetReadDeadline(deadline)
	wg.Wait()

	res.Timeout = Timeout(fired.Load())
	res.Cancelled = cancelled.Load()
	res.Stdout, res.Stderr = outCap.output(), errCap.output()
	res.OutputCut = outCut || errCut
	res.OutputErr = errors.Join(outFErr, errFErr)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			res.Exited, res.ExitCode = true, ws.ExitStatus()
		case ws.Signaled():
			res.Signal = ws.Signal()
		}
	} else if waitErr != nil {
		return res, fmt.Errorf("wait for %q: %w", s.Argv[0], waitErr)
	}
	return res, nil
}

// pump copies a pipe into the capture and the file until EOF or the read
// deadline, and reports whether the deadline cut it.
func pump(r *os.File, c *capture, f *os.File) (cut bool, ferr error) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			c.write(buf[:n])
			if f != nil && ferr == nil {
				if _, werr := f.Write(buf[:n]); werr != nil {
					ferr = fmt.Errorf("write %s: %w", f.Name(), werr)
				}
			}
		}
		if err != nil {
			return errors.Is(err, os.ErrDeadlineExceeded), ferr
		}
	}
}

func createFile(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create output file %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create output file %s: %w", path, err)
	}
	return f, nil
}

func closeFile(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
}

// KillGroup sends sig to process group pgid, ignoring a group that is
// gone already.
func KillGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return fmt.Errorf("kill process group %d: not a process group id", pgid)
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pgid, err)
	}
	return nil
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "SIGABRT", syscall.SIGALRM: "SIGALRM", syscall.SIGBUS: "SIGBUS",
	syscall.SIGFPE: "SIGFPE", syscall.SIGHUP: "SIGHUP", syscall.SIGILL: "SIGILL",
	syscall.SIGINT: "SIGINT", syscall.SIGKILL: "SIGKILL", syscall.SIGPIPE: "SIGPIPE",
	syscall.SIGQUIT: "SIGQUIT", syscall.SIGSEGV: "SIGSEGV", syscall.SIGTERM: "SIGTERM",
	syscall.SIGTRAP: "SIGTRAP", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGSYS: "SIGSYS",
}

// SignalName is the conventional name of a signal ("SIGSEGV"), or
// "signal N" for one without a name here.
func SignalName(sig syscall.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// StartInGroup starts cmd in a process group of its own, which dies with
// the caller where the system allows it (Pdeathsig on Linux). For long
// lived children (slaves) whose output the caller wires itself.
func StartInGroup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w %q: %w", ErrStart, cmd.Path, err)
	}
	return nil
}

// WaitGroup waits for a command started with StartInGroup, kills what is
// left of its group with SIGKILL before reaping it, and returns Wait's
// error.
func WaitGroup(cmd *exec.Cmd) error {
	pgid := cmd.Process.Pid
	if waitExited(pgid) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return cmd.Wait()
	}
	err := cmd.Wait()
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return err
}
