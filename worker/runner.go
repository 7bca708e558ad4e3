package worker

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rrr-dev/rrr/pkg/proc"
)

// The protocol of docs/runners.md: a runner reads requests on fd 3 and
// writes replies on fd 4; these variables name the two descriptors.
const (
	EnvRunnerIn  = "RRR_RUNNER_IN"
	EnvRunnerOut = "RRR_RUNNER_OUT"
)

// Replies of a runner, one per line.
const (
	replyReady   = "ready"
	replyStarted = "started" // started <pid>
	replyDone    = "done"    // done exit <code> | done signal <number>
)

// maxReplyLine bounds a reply line: longer is garbage, not a reply.
const maxReplyLine = 4 << 10

// runnerTail is how much of a runner's own output a message quotes.
const runnerTail = 2000

var (
	//go:embed runners/pytest_runner.py
	pytestRunner []byte
	//go:embed runners/rspec_runner.rb
	rspecRunner []byte
)

// adapter is a runner shipped with rrr: a script run by the interpreter of
// the framework's own command, so that a virtualenv or a Ruby of the PATH
// that has the framework is the one that loads it.
type adapter struct {
	script []byte
	file   string // name of the script when written out
	tool   string // the framework's command, whose #! names the interpreter
	interp string // the interpreter when the tool is not found
}

var adapters = map[string]adapter{
	"pytest": {script: pytestRunner, file: "rrr_pytest_runner.py", tool: "pytest", interp: "python3"},
	"rspec":  {script: rspecRunner, file: "rrr_rspec_runner.rb", tool: "rspec", interp: "ruby"},
}

// runnerArgv is the command that starts a taskset's runner: a shipped
// adapter ("pytest ARGS...", "rspec ARGS...", its script written to
// scriptDir) or the runner's own words as a command (no shell).
func runnerArgv(runner, scriptDir string) ([]string, error) {
	words, err := proc.Split(runner)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, errors.New("the runner is empty")
	}
	a, ok := adapters[words[0]]
	if !ok {
		return words, nil
	}
	script := filepath.Join(scriptDir, a.file)
	if err := os.MkdirAll(scriptDir, 0o755); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(script, string(a.script)); err != nil {
		return nil, fmt.Errorf("write the %s runner: %w", words[0], err)
	}
	argv := append(interpreterOf(a.tool, a.interp, strings.TrimRight(a.interp, "0123456789")), script)
	return append(argv, words[1:]...), nil
}

// interpreterOf reads the #! line of command tool on the PATH: the
// interpreter and its arguments when its name starts with kind ("python"),
// else fallback (no such command, a binary, a shell wrapper such as a
// pyenv shim).
func interpreterOf(tool, fallback, kind string) []string {
	words := shebang(tool)
	if len(words) == 0 || !strings.HasPrefix(filepath.Base(words[0]), kind) {
		return []string{fallback}
	}
	return words
}

// shebang is the interpreter of command tool on the PATH with its
// arguments ("/usr/bin/env X" gives X); nil when there is none.
func shebang(tool string) []string {
	path, err := exec.LookPath(tool)
	if err != nil {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	line, _ := bufio.NewReader(io.LimitReader(f, 512)).ReadString('\n')
	if !strings.HasPrefix(line, "#!") {
		return nil
	}
	words := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(words) > 0 && filepath.Base(words[0]) == "env" {
		words = words[1:]
		for len(words) > 0 && strings.HasPrefix(words[0], "-") {
			words = words[1:] // env -S and the like
		}
	}
	return words
}

// runner is a started runner process of one slave.
type runner struct {
	name    string // as the taskset gives it, for messages
	cmd     *exec.Cmd
	req     *os.File    // requests, to the runner's fd 3
	lines   chan string // replies from its fd 4; closed at end of file
	exited  chan struct{}
	logPath string // the runner's own stdout and stderr
}

// runnerConfig is how to start one.
type runnerConfig struct {
	name      string
	dir       string // the working copy
	env       []string
	scriptDir string
	logPath   string
	limit     time.Duration // to answer "ready"
	onStart   func(pgid int)
}

// startRunner starts a runner and waits for its "ready". The error says
// why it could not start, with the end of its output.
func startRunner(ctx context.Context, c runnerConfig) (*runner, error) {
	argv, err := runnerArgv(c.name, c.scriptDir)
	if err != nil {
		return nil, fmt.Errorf("runner %q could not start: %w", c.name, err)
	}
	if err := os.MkdirAll(filepath.Dir(c.logPath), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(c.logPath), err)
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the runner's log: %w", err)
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "--- rrr: %s starting runner: %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(argv, " "))
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = c.dir, append(c.env, EnvRunnerIn+"=3", EnvRunnerOut+"=4")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{reqR, repW} // fds 3 and 4
	err = proc.StartInGroup(cmd)
	reqR.Close()
	repW.Close()
	if err != nil {
		reqW.Close()
		repR.Close()
		return nil, fmt.Errorf("runner %q could not start: %w", c.name, err)
	}
	if c.onStart != nil {
		c.onStart(cmd.Process.Pid)
	}
	r := &runner{name: c.name, cmd: cmd, req: reqW, lines: make(chan string, 4), exited: make(chan struct{}), logPath: c.logPath}
	go r.readReplies(repR)
	go func() {
		_ = proc.WaitGroup(cmd) // and what is left of its group dies
		close(r.exited)
	}()

	limit := time.NewTimer(c.limit)
	defer limit.Stop()
	var why string
	select {
	case line, ok := <-r.lines:
		switch {
		case ok && line == replyReady:
			return r, nil
		case ok:
			why = fmt.Sprintf("it answered %q instead of %q (see docs/runners.md)", clip(line), replyReady)
		case r.endsSoon():
			why = "it ended before it was ready: " + r.describe()
		default:
			why = "it closed its reply pipe (fd 4) before it was ready"
		}
	case <-r.exited:
		why = "it ended before it was ready: " + r.describe()
	case <-limit.C:
		why = fmt.Sprintf("it was not ready after %s (the taskset's unknown spec timeout)", c.limit)
	case <-ctx.Done():
		r.kill()
		return nil, ctx.Err()
	}
	r.kill()
	return nil, fmt.Errorf("runner %q could not start: %s", c.name, why)
}

// readReplies sends the runner's reply lines to r.lines; a line too long
// ends the stream as garbage.
func (r *runner) readReplies(f *os.File) {
	defer f.Close()
	defer close(r.lines)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 256), maxReplyLine)
	for sc.Scan() {
		r.lines <- strings.TrimRight(sc.Text(), "\r")
	}
	if sc.Err() != nil {
		r.lines <- "(a reply line longer than " + strconv.Itoa(maxReplyLine) + " bytes)"
	}
}

// endsSoon reports whether the runner ends within a moment: its reply
// pipe closing is usually the first sign of its end.
func (r *runner) endsSoon() bool {
	select {
	case <-r.exited:
		return true
	case <-time.After(time.Second):
		return false
	}
}

// describe says how the runner ended, once it has.
func (r *runner) describe() string {
	select {
	case <-r.exited:
	default:
		return "still running"
	}
	return describeExit(r.cmd.ProcessState, nil)
}

// tail is the end of the runner's own output, for messages.
func (r *runner) tail() string { return outputTail(r.logPath) }

// outputTail is the end of an output file, for messages.
func outputTail(path string) string {
	o, err := proc.CaptureFile(path, 1, runnerTail)
	if err != nil {
		return "(no output: " + err.Error() + ")"
	}
	return lastBytes(proc.Sanitize(append(o.Head, o.Tail...)), runnerTail)
}

// kill ends the runner and its group at once and waits until it is reaped.
func (r *runner) kill() {
	select {
	case <-r.exited:
	default:
		_ = proc.KillGroup(r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.exited
	}
	r.req.Close()
	r.drain()
}

// drain reads what is left of the replies, so that their reader ends.
func (r *runner) drain() {
	go func() {
		for range r.lines {
		}
	}()
}

// stop asks the runner to end (end of file on its requests), then
// SIGTERM to its group after grace, SIGKILL after another.
func (r *runner) stop(grace time.Duration) {
	r.req.Close()
	r.drain()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		select {
		case <-r.exited:
			return
		case <-time.After(grace):
			_ = proc.KillGroup(r.cmd.Process.Pid, sig)
		}
	}
	<-r.exited
}

// runnerRequest is one trial, as the runner receives it (docs/runners.md).
type runnerRequest struct {
	Trial string `json:"trial"`
	File  string `json:"file"`
	// Files is a batch: every spec file the request runs, in one session
	// and one report (File is the first of them); absent for one file.
	Files []string `json:"files,omitempty"`
	// Cases is a partition (docs/partitions.md): the arguments that run
	// its cases of File, in the framework's words; absent for a whole file.
	Cases  []string          `json:"cases,omitempty"`
	Report string            `json:"report"`
	Stdout string            `json:"stdout"`
	Stderr string            `json:"stderr"`
	Dir    string            `json:"dir"`
	Env    map[string]string `json:"env"`
}

// trialLimits are the timeouts of one trial under a runner.
type trialLimits struct {
	soft, hard time.Duration
	grace      time.Duration // cancelled: SIGTERM -> SIGKILL
	answer     time.Duration // SIGKILL sent -> "done" expected
	head, tail int           // output caps
}

// errRunnerBroken is wrapped when a trial could not end normally because
// of the runner: it died, hung, or broke the protocol. The runner is then
// killed and started again for the next trial.
var errRunnerBroken = errors.New("the runner failed")

// run runs one trial in the runner with the guarantees of proc.Run: the
// trial's group gets SIGTERM at soft, SIGKILL at hard (or when ctx ends,
// after grace), and SIGKILL once its main process has ended. The error
// wraps errRunnerBroken; the result is filled as far as the trial got.
func (r *runner) run(ctx context.Context, q runnerRequest, l trialLimits, onStart func(pgid int)) (res proc.Result, err error) {
	res = proc.Result{ExitCode: -1, Soft: l.soft, Hard: l.hard}
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		var err1, err2 error
		res.Stdout, err1 = proc.CaptureFile(q.Stdout, l.head, l.tail)
		res.Stderr, err2 = proc.CaptureFile(q.Stderr, l.head, l.tail)
		if err := errors.Join(err1, err2); err != nil && !errors.Is(err, os.ErrNotExist) {
			res.OutputErr = err
		}
	}()
	b, err := json.Marshal(q)
	if err != nil {
		return res, fmt.Errorf("%w: encode the request: %w", errRunnerBroken, err)
	}
	if _, err := r.req.Write(append(b, '\n')); err != nil {
		return res, fmt.Errorf("%w: it does not take requests (%w); %s", errRunnerBroken, err, r.describe())
	}

	pgid := 0
	signal := func(sig syscall.Signal) {
		if pgid > 0 {
			_ = proc.KillGroup(pgid, sig)
		}
	}
	// sent is the last signal we sent, to send it again once the group is
	// known when a timer fired before "started".
	var sent syscall.Signal
	send := func(sig syscall.Signal) { sent = sig; signal(sig) }
	soft, hard := timerC(l.soft), timerC(l.hard)
	var graceC, answerC <-chan time.Time
	done := ctx.Done()
	broken := func(format string, args ...any) (proc.Result, error) {
		signal(syscall.SIGKILL)
		return res, fmt.Errorf("%w: %s", errRunnerBroken, fmt.Sprintf(format, args...))
	}
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				if r.endsSoon() {
					return broken("it ended during the trial: %s", r.describe())
				}
				return broken("it closed its reply pipe (fd 4) during the trial")
			}
			verb, arg, _ := strings.Cut(line, " ")
			switch {
			case verb == replyStarted && pgid == 0:
				n, err := strconv.Atoi(arg)
				if err != nil || n <= 1 {
					return broken("it answered %q: want \"started <pid>\"", clip(line))
				}
				if g, err := syscall.Getpgid(n); err == nil && g != n {
					pgid = 0
					return broken("trial process %d is not the leader of its own process group (its group is %d): the runner must put each trial in a new process group", n, g)
				}
				pgid, res.Pid = n, n
				if onStart != nil {
					onStart(pgid)
				}
				if sent != 0 {
					signal(sent)
				}
			case verb == replyDone && pgid != 0:
				signal(syscall.SIGKILL) // what is left of the trial's group
				how, num, _ := strings.Cut(arg, " ")
				n, err := strconv.Atoi(num)
				switch {
				case err == nil && how == "exit" && n >= 0 && n < 256:
					res.Exited, res.ExitCode = true, n
				case err == nil && how == "signal" && n > 0 && n < 128:
					res.Signal = syscall.Signal(n)
				default:
					return broken("it answered %q: want \"done exit <code>\" or \"done signal <number>\"", clip(line))
				}
				return res, nil
			default:
				return broken("it answered %q out of turn (see docs/runners.md)", clip(line))
			}
		case <-r.exited:
			return broken("it ended during the trial: %s", r.describe())
		case <-soft:
			soft = nil
			if res.Timeout == proc.NoTimeout {
				res.Timeout = proc.SoftTimeout
			}
			send(syscall.SIGTERM)
		case <-hard:
			hard = nil
			res.Timeout = proc.HardTimeout
			send(syscall.SIGKILL)
			answerC = time.After(l.answer)
		case <-done:
			done = nil
			res.Cancelled = true
			send(syscall.SIGTERM)
			graceC = time.After(l.grace)
		case <-graceC:
			graceC = nil
			send(syscall.SIGKILL)
			answerC = time.After(l.answer)
		case <-answerC:
			if pgid == 0 {
				return broken("it did not start the trial (no \"started <pid>\") within %s", time.Since(start).Round(time.Millisecond))
			}
			return broken("it did not report the end of the trial %s after SIGKILL", l.answer)
		}
	}
}

// timerC is a channel that fires after d; nil (never) when d <= 0.
func timerC(d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	return time.After(d)
}

// clip shortens a line of garbage for a message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
