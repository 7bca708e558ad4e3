package worker_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/proc/proctest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// fakeRunner is a runner of docs/runners.md written from the doc alone: a
// fork server whose trial runs `sh <file>`. Its first argument picks a way
// to misbehave; it appends its pid to the file named by the second.
const fakeRunner = `import json, os, signal, subprocess, sys, time
mode, pids = sys.argv[1], sys.argv[2]
with open(pids, "a") as f:
    f.write("%d\n" % os.getpid())
fin = os.fdopen(int(os.environ["RRR_RUNNER_IN"]), "r")
out = os.fdopen(int(os.environ["RRR_RUNNER_OUT"]), "w")
def say(s):
    out.write(s + "\n"); out.flush()
print("fake runner starting, mode " + mode, file=sys.stderr, flush=True)
if mode == "exit":
    sys.exit(7)
if mode == "garbage":
    say("hello there"); time.sleep(300)
if mode == "hang":
    time.sleep(300)
if mode == "child":
    p = subprocess.Popen(["sleep", "300"])
    with open(pids + ".child", "w") as f:
        f.write("%d\n" % p.pid)
say("ready")
for line in fin:
    req = json.loads(line)
    if mode == "garbage-mid":
        say("what?"); continue
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        os.close(fin.fileno()); os.close(out.fileno())
        for path, fd in ((req["stdout"], 1), (req["stderr"], 2)):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        os.execvpe("sh", ["sh", req["file"]], req["env"])
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass # the child did it and exec'd already
    say("started %d" % pid)
    if mode == "deaf":
        continue
    _, st = os.waitpid(pid, 0)
    say("done signal %d" % os.WTERMSIG(st) if os.WIFSIGNALED(st) else "done exit %d" % os.WEXITSTATUS(st))
`

// runnerEnv is a test env with the fake runner in its project.
func runnerEnv(t *testing.T, b redistest.Backend) *env {
	e := newEnv(t, b)
	e.write(t, map[string]string{"fake_runner.py": fakeRunner})
	return e
}

// fake is the --runner value of the fake runner in mode.
func (e *env) fake(mode string) string {
	return "python3 fake_runner.py " + mode + " " + e.path("runner-pids")
}

func TestRunnerRunsEveryTrialInOneRunner(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := runnerEnv(t, b)
		child := e.path("child")
		e.write(t, map[string]string{
			"a.sh": `echo "a in $$, env $RRR_SPEC_FILE $SLAVE_NUMBER ${RRR_REDIS:-unset}"; echo oops >&2; echo $PPID >> ` + e.path("parents"),
			"b.sh": `sleep 300 & echo $! > ` + child + `; echo $PPID >> ` + e.path("parents") + `; exit 3`,
		})
		ts := e.create(t, schema.TasksetSpec{Runner: e.fake("ok"), MaxTrials: 1, Specs: []string{"a.sh", "b.sh"}})
		s := e.runSlave(t, ts)
		a, bt := task(t, s, "a.sh").Trials[0], task(t, s, "b.sh").Trials[0]
		require.Equal(t, schema.StatusPassed, a.Status, a.Error)
		require.Contains(t, a.Stdout, "env a.sh 1 unset")
		require.Equal(t, "oops\n", a.Stderr)
		require.Equal(t, schema.StatusFailed, bt.Status)
		require.NotNil(t, bt.ExitCode)
		require.Equal(t, 3, *bt.ExitCode)
		_, dir, _ := strings.Cut(bt.OutputPath, ":")
		require.FileExists(t, filepath.Join(dir, "stdout"), "the full output stays on the worker")

		runners := proctest.PidsIn(t, e.path("runner-pids"))
		require.Len(t, runners, 1, "one runner for both trials")
		require.Equal(t, []int{runners[0], runners[0]}, proctest.PidsIn(t, e.path("parents")))
		requireDies(t, pidIn(t, child), "what a trial left in its group")
		requireDies(t, runners[0], "the runner, once the slave ended")
		require.NoFileExists(t, e.path("run/1-test.pgid.runner"))
	})
}

func TestRunnerCannotStart(t *testing.T) {
	cases := []struct {
		name, mode string
		runner     string // instead of the fake
		has        []string
	}{
		{name: "not installed", runner: "no-such-runner-rrr --x", has: []string{`runner "no-such-runner-rrr --x"`, "executable file not found"}},
		{name: "exits at once", mode: "exit", has: []string{"ended before it was ready: exit code 7", "fake runner starting, mode exit"}},
		{name: "garbage", mode: "garbage", has: []string{`answered "hello there" instead of "ready"`, "fake runner starting"}},
		{name: "hangs", mode: "hang", has: []string{"not ready after 1s", "fake runner starting, mode hang"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			redistest.Each(t, func(t *testing.T, b redistest.Backend) {
				e := runnerEnv(t, b)
				e.write(t, map[string]string{"a.sh": "touch " + e.path("ran")})
				runner := c.runner
				if runner == "" {
					runner = e.fake(c.mode)
				}
				ts := e.create(t, schema.TasksetSpec{Runner: runner, UnknownSpecTimeout: time.Second, Specs: []string{"a.sh"}})
				s := e.runSlave(t, ts)
				require.Equal(t, schema.StatusFailed, s.Status)
				for _, want := range append(c.has, "could not start", "slave "+schema.Slave(e.c.Keys.Worker("box1"), "1-test")) {
					require.Contains(t, s.StatusReason, want)
				}
				// the worker log of the taskset (in the summary) says it too
				text, err := e.b.RDB.Get(bg, schema.WorkerLogText(schema.WorkerLog(ts, e.c.Keys.Worker("box1")))).Result()
				require.NoError(t, err)
				require.Contains(t, text, c.has[0])
				require.Empty(t, task(t, s, "a.sh").Trials, "no trial was started")
				require.NoFileExists(t, e.path("ran"))
				if c.runner == "" {
					for _, pid := range proctest.PidsIn(t, e.path("runner-pids")) {
						requireDies(t, pid, "the runner that could not start")
					}
				}
			})
		})
	}
}

func TestRunnerFailsDuringATrial(t *testing.T) {
	cases := []struct {
		name, mode, script string
		unknown            time.Duration
		status, errorHas   string
	}{
		{name: "killed", mode: "ok", script: "kill -9 $PPID; sleep 300",
			status: schema.StatusError, errorHas: "it ended during the trial: killed by signal SIGKILL"},
		{name: "garbage", mode: "garbage-mid", script: "true",
			status: schema.StatusError, errorHas: `it answered "what?" out of turn`},
		{name: "no done after SIGKILL", mode: "deaf", script: "sleep 300", unknown: time.Second,
			status: schema.StatusTimeout, errorHas: "did not report the end of the trial"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			redistest.Each(t, func(t *testing.T, b redistest.Backend) {
				e := runnerEnv(t, b)
				child := e.path("child")
				e.write(t, map[string]string{
					"1.sh": "sleep 300 & echo $! > " + child + "\n" + c.script,
					"2.sh": "echo second",
				})
				ts := e.create(t, schema.TasksetSpec{Runner: e.fake(c.mode), MaxTrials: 1, UnknownSpecTimeout: c.unknown,
					Specs: []string{"1.sh", "2.sh"}})
				s := e.runSlave(t, ts)
				first := task(t, s, "1.sh").Trials
				require.Len(t, first, 1)
				require.Equal(t, c.status, first[0].Status, first[0].Error)
				require.Contains(t, first[0].Error, c.errorHas)
				require.Contains(t, first[0].Error, "it is started again for the next trial")
				if c.mode != "garbage-mid" { // that one never starts the trial
					requireDies(t, pidIn(t, child), "the trial of a failed runner")
				}
				second := task(t, s, "2.sh").Trials
				require.Len(t, second, 1)
				if c.mode == "ok" {
					require.Equal(t, schema.StatusPassed, second[0].Status, second[0].Error)
					require.Equal(t, "second\n", second[0].Stdout, "%+v\n%+v", second[0], first[0])
				}
				runners := proctest.PidsIn(t, e.path("runner-pids"))
				require.Len(t, runners, 2, "started again after it failed")
				for _, pid := range runners {
					requireDies(t, pid, "a runner")
				}
			})
		})
	}
}

func TestRunnerLeftoversDie(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := runnerEnv(t, b)
		e.write(t, map[string]string{"a.sh": "true"})
		ts := e.create(t, schema.TasksetSpec{Runner: e.fake("child"), Specs: []string{"a.sh"}})
		s := e.runSlave(t, ts)
		require.Equal(t, schema.StatusPassed, onlyTrial(t, s).Status)
		helper := pidIn(t, e.path("runner-pids.child"))
		requireDies(t, helper, "a process the runner left in its group")
		require.False(t, proctest.Alive(proctest.PidsIn(t, e.path("runner-pids"))[0]))
	})
}
