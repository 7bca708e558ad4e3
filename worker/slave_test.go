package worker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/proc/proctest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
	"github.com/rrr-dev/rrr/worker"
)

// slaveConfig is an in-process slave of ts working on the project in
// place, with short timings.
func (e *env) slaveConfig(ts string) worker.SlaveConfig {
	w := e.c.Keys.Worker("box1")
	return worker.SlaveConfig{
		Taskset: ts, Worker: w, Slave: schema.Slave(w, "1-test"), Number: 1, NumSlaves: 1,
		WorkingCopy: e.project, OutputDir: e.path("out"), PgidFile: e.path("run/1-test.pgid"), Host: "box1",
		HeartbeatTTL: 3 * time.Second, HeartbeatInterval: 300 * time.Millisecond,
		Trial: worker.TrialConfig{KillGrace: time.Second, UnknownHardExtra: time.Second, Grace: time.Second,
			WaitDelay: 500 * time.Millisecond, IdleWait: 200 * time.Millisecond},
	}
}

// runSlave runs one slave in this process until it exits (the fake
// arbiter finishes the taskset when every task has its verdict) and
// returns the taskset.
func (e *env) runSlave(t *testing.T, ts string) *model.Snapshot {
	t.Helper()
	return e.startSlave(t, ts)()
}

// startSlave starts an in-process slave; the function it returns waits
// for it to exit (call it from the test's goroutine) and loads the taskset.
func (e *env) startSlave(t *testing.T, ts string) func() *model.Snapshot {
	t.Helper()
	logFile, err := os.Create(e.path("slave.log"))
	require.NoError(t, err)
	s, err := worker.NewSlave(e.slaveConfig(ts), worker.SlaveDeps{Client: e.c,
		// The slave log in Redis keeps trial lines whatever the log level.
		Logger: zerolog.New(logFile).Level(zerolog.WarnLevel)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		done <- nil
		_ = logFile.Close()
	})
	return func() *model.Snapshot {
		t.Helper()
		select {
		case err := <-done:
			done <- err
			require.NoError(t, err)
		case <-time.After(2 * wait):
			b, _ := os.ReadFile(e.path("slave.log"))
			t.Fatalf("the slave did not finish the taskset; its log:\n%s", b)
		}
		return e.load(t, ts)
	}
}

// onlyTrial is the single trial of the single task of a snapshot.
func onlyTrial(t *testing.T, s *model.Snapshot) model.Trial {
	t.Helper()
	require.Len(t, s.Tasks, 1)
	require.Len(t, s.Tasks[0].Trials, 1)
	return s.Tasks[0].Trials[0]
}

func TestSlaveTrialEndings(t *testing.T) {
	cases := []struct {
		name     string
		script   string
		unknown  time.Duration // unknown_spec_timeout
		status   string
		signal   string
		errorHas string
	}{
		{name: "pass", script: "echo fine", status: schema.StatusPassed},
		{name: "fail", script: "exit 4", status: schema.StatusFailed},
		{name: "foreign signal", script: "kill -SEGV $$", status: schema.StatusFailed,
			signal: "SIGSEGV", errorHas: "killed by signal SIGSEGV"},
		{name: "soft timeout", script: "sleep 300 & echo $! > CHILD; wait", unknown: time.Second,
			status: schema.StatusTimeout, signal: "SIGTERM", errorHas: "soft timeout after 1s (SIGTERM to its process group"},
		{name: "hard timeout", script: "trap '' TERM; sleep 300 & echo $! > CHILD; wait; wait; wait", unknown: time.Second,
			status: schema.StatusTimeout, signal: "SIGKILL", errorHas: "hard timeout after 2s (SIGKILL to its process group"},
	}
	// Each ends the same whether a trial command runs it or a runner
	// (the fake runner of runner_test.go, whose trial is `sh <file>`).
	for _, c := range cases {
		for _, runner := range []bool{false, true} {
			name := c.name
			if runner {
				name += " in a runner"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				redistest.Each(t, func(t *testing.T, b redistest.Backend) {
					e := runnerEnv(t, b)
					child := e.path("child")
					e.write(t, map[string]string{"t.sh": strings.ReplaceAll(c.script, "CHILD", child)})
					spec := schema.TasksetSpec{TrialCommand: "sh {file}", MaxTrials: 1,
						UnknownSpecTimeout: c.unknown, Specs: []string{"t.sh"}}
					if runner {
						spec.TrialCommand, spec.Runner = "", e.fake("ok")
					}
					ts := e.create(t, spec)
					tr := onlyTrial(t, e.runSlave(t, ts))
					require.Equal(t, c.status, tr.Status)
					require.Equal(t, c.signal, tr.Signal)
					if c.errorHas != "" {
						require.Contains(t, tr.Error, c.errorHas)
					}
					if strings.Contains(c.script, "CHILD") {
						requireDies(t, pidIn(t, child), "a child of a timed-out trial")
					}
					require.NoFileExists(t, e.path("run/1-test.pgid"), "the slave clears its record of the trial's group")
					if runner {
						require.Len(t, proctest.PidsIn(t, e.path("runner-pids")), 1, "the trial's end leaves the runner alone")
					}
				})
			})
		}
	}
}

func TestSlaveRefusesSpecsOutsideTheProject(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		marker := e.path("ran")
		require.NoError(t, os.WriteFile(e.path("outside.sh"), []byte("touch "+marker), 0o755))
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", MaxTrials: 1,
			Specs: []string{"up.sh", "abs.sh"}})
		// A task hash written by something else than `rrr start`.
		require.NoError(t, e.b.RDB.HSet(bg, schema.Task(ts, "up.sh"), schema.FSpecFile, "../outside.sh").Err())
		require.NoError(t, e.b.RDB.HSet(bg, schema.Task(ts, "abs.sh"), schema.FSpecFile, e.path("outside.sh")).Err())
		s := e.runSlave(t, ts)
		for spec, why := range map[string]string{"up.sh": "it leaves the project root", "abs.sh": "absolute path"} {
			tr := task(t, s, spec).Trials[0]
			require.Equal(t, schema.StatusError, tr.Status)
			require.Contains(t, tr.Error, why)
			require.Contains(t, tr.Error, "nothing was run")
		}
		require.NoFileExists(t, marker)
	})
}

func TestSlaveHugeAndBinaryOutput(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"big.sh": `awk 'BEGIN { for (i = 0; i < 200000; i++) printf "%09d\n", i }'
printf 'bin \377\376 end\n'
printf 'err \377\n' >&2`})
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"big.sh"}})
		tr := onlyTrial(t, e.runSlave(t, ts))
		require.Equal(t, schema.StatusPassed, tr.Status)
		require.True(t, utf8.ValidString(tr.Stdout))
		require.Less(t, len(tr.Stdout), 64<<10+100)
		require.True(t, strings.HasPrefix(tr.Stdout, "000000000\n000000001\n"))
		require.Contains(t, tr.Stdout, " bytes omitted]\n")
		require.True(t, strings.HasSuffix(tr.Stdout, "000199999\nbin \uFFFD end\n"))
		require.Equal(t, "err \uFFFD\n", tr.Stderr)
		_, dir, _ := strings.Cut(tr.OutputPath, ":")
		full, err := os.ReadFile(filepath.Join(dir, "stdout"))
		require.NoError(t, err)
		require.Len(t, full, 2_000_000+len("bin \xff\xfe end\n"))
		require.True(t, strings.HasSuffix(string(full), "bin \xff\xfe end\n"), "the file keeps the raw bytes")
	})
}

func TestSlaveIsNotHeldByAnEscapedGrandchild(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		esc := e.path("escaped")
		e.write(t, map[string]string{"t.sh": fmt.Sprintf(
			`setsid sh -c 'echo $$ > %[1]s; exec sleep 300' & while [ ! -s %[1]s ]; do sleep 0.01; done; echo done`, esc)})
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", Specs: []string{"t.sh"}})
		tr := onlyTrial(t, e.runSlave(t, ts))
		pidIn(t, esc) // killed at cleanup
		require.Equal(t, schema.StatusPassed, tr.Status)
		require.Equal(t, "done\n", tr.Stdout)
	})
}

func TestSlaveArgumentsAndEnvironment(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		spec := `spec/it's a "test"; $(touch x).sh`
		e.write(t, map[string]string{spec: `printf '%s|%s|%s|%s|%s|%s\n' "$1" "$RRR_SPEC_FILE" "${RRR_REDIS:-unset}" "$RRR_REPORT" "$SLAVE_NUMBER" "$NUM_SLAVES"`})
		ts := e.create(t, schema.TasksetSpec{TrialCommand: `sh -c '. "$0"' {file} {file}`, Specs: []string{spec}})
		tr := onlyTrial(t, e.runSlave(t, ts))
		require.Equal(t, schema.StatusPassed, tr.Status, tr.Stderr)
		_, dir, _ := strings.Cut(tr.OutputPath, ":")
		require.Equal(t, "./"+spec+"|"+spec+"|unset|"+filepath.Join(dir, "report")+"|1|1\n", tr.Stdout,
			"{file} is the spec as a path; RRR_SPEC_FILE the spec (the task id)")
		require.NoFileExists(t, filepath.Join(e.project, "x"), "no shell read the file name")
	})
}

// {file} means to the trial's command what the spec meant to the person:
// a spec starting with "-" is not read as an option (issue 19, item 8), and
// a directory spec is a path, not a package name (issue 12, item 5: `go
// test cases` looks in the standard library). Task ids keep the clean spec.
func TestSlaveHandsTheSpecAsAPath(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"-n.sh": "echo ran", "cases/x": ""})
		for _, tc := range []struct{ command, spec, stdout string }{
			{"sh {file}", "-n.sh", "ran\n"},
			{`sh -c 'echo "$0"' {file}`, "cases", "./cases\n"},
			{"echo", "cases", "./cases\n"}, // no {file}: the spec is the last word, the same way
		} {
			ts := e.create(t, schema.TasksetSpec{TrialCommand: tc.command, MaxTrials: 1, Specs: []string{tc.spec}})
			s := e.runSlave(t, ts)
			tr := onlyTrial(t, s)
			require.Equal(t, schema.StatusPassed, tr.Status, "%s: %s", tc.command, tr.Stderr)
			require.Equal(t, tc.stdout, tr.Stdout, tc.command)
			require.Equal(t, tc.spec, s.Tasks[0].SpecFile)
		}
	})
}

func TestSlaveCannotRunTheCommand(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"t.sh": "true"})
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "rrr-no-such-program {file}", MaxTrials: 1, Specs: []string{"t.sh"}})
		tr := onlyTrial(t, e.runSlave(t, ts))
		require.Equal(t, schema.StatusError, tr.Status)
		require.Contains(t, tr.Error, `could not start the command "rrr-no-such-program"`)
	})
}

func TestSlaveChecksOnceWhenIdle(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(t, b)
		e.write(t, map[string]string{"fail.sh": "exit 1"})
		// The fake arbiter queues the failed task again; this slave tried
		// it already, so it waits instead of taking it again.
		ts := e.create(t, schema.TasksetSpec{TrialCommand: "sh {file}", MaxTrials: 3, Specs: []string{"fail.sh"}})
		finished := e.startSlave(t, ts)
		require.Eventually(t, func() bool { return e.arb.Count(schema.CmdCheck, ts) >= 1 }, wait, 10*time.Millisecond)
		require.Equal(t, []string{schema.Task(ts, "fail.sh")}, e.list(t, schema.TaskQueue(ts)))
		for range 3 { // wake-ups do not make it check again, nor take the task
			require.NoError(t, e.b.RDB.Publish(bg, schema.Events(ts), schema.EventQueued+"\t"+schema.Task(ts, "fail.sh")).Err())
		}
		_, err := e.c.CancelTaskset(bg, ts, "test over")
		require.NoError(t, err)
		s := finished()
		require.Len(t, task(t, s, "fail.sh").Trials, 1)
		require.Equal(t, 1, e.arb.Count(schema.CmdCheck, ts))
		require.Equal(t, schema.SlaveNormalExit, s.Slaves[0].Status)
		require.Contains(t, s.Slaves[0].Log, "trial ")
	})
}

// formatCase runs one real test tool through the slave.
type formatCase struct {
	name    string
	tool    string // skip when it is missing
	files   map[string]string
	command string
	format  string
	spec    string

	status                  string
	passed, pending, failed int
	gotFormat               string
	firstCase               string // the first case of the report: a failed one
	noMessage               bool   // the tool writes failure details to stderr, not to the report
}

func TestSlaveResultFormats(t *testing.T) {
	rspec := map[string]string{"spec/calc_spec.rb": `
RSpec.describe "calc" do
  it("adds") { expect(1 + 1).to eq(2) }
  it("subtracts") { expect(3 - 1).to eq(2) }
  it("multiplies") { expect(2 * 2).to eq(5) }
  it("divides") { skip("not yet") }
end
`}
	pytest := map[string]string{"tests/test_calc.py": `
import pytest

def test_adds():
    assert 1 + 1 == 2

@pytest.mark.skip(reason="later")
def test_divides():
    pass

def test_multiplies():
    assert 2 * 2 == 5
`}
	gotest := map[string]string{"calc_test.go": `package calc

import "testing"

func TestAdds(t *testing.T) {}
func TestDivides(t *testing.T) { t.Skip("later") }
func TestMultiplies(t *testing.T) { t.Fatal("2 * 2 is not 5") }
`}
	tap := map[string]string{"t/calc.t": `
use Test::More tests => 3;
ok(1 + 1 == 2, 'adds');
ok(2 * 2 == 5, 'multiplies');
SKIP: { skip "later", 1; ok(1, 'divides'); }
`}
	cases := []formatCase{
		{name: "rspec-json", tool: "rspec", files: rspec, spec: "spec/calc_spec.rb",
			command: "rspec --format json --out {report} {file}", format: schema.FormatRSpecJSON,
			status: schema.StatusFailed, passed: 2, pending: 1, failed: 1, gotFormat: schema.FormatRSpecJSON, firstCase: "multiplies"},
		{name: "rspec auto", tool: "rspec", files: rspec, spec: "spec/calc_spec.rb",
			command: "rspec --format json --out {report} {file}", format: schema.FormatAuto,
			status: schema.StatusFailed, passed: 2, pending: 1, failed: 1, gotFormat: schema.FormatRSpecJSON, firstCase: "multiplies"},
		{name: "junit from pytest", tool: "pytest-3", files: pytest, spec: "tests/test_calc.py",
			command: "pytest-3 -q -p no:cacheprovider --junitxml={report} {file}", format: schema.FormatJUnit,
			status: schema.StatusFailed, passed: 1, pending: 1, failed: 1, gotFormat: schema.FormatJUnit, firstCase: "test_multiplies"},
		{name: "junit auto", tool: "pytest-3", files: pytest, spec: "tests/test_calc.py",
			command: "pytest-3 -q -p no:cacheprovider --junitxml={report} {file}", format: schema.FormatAuto,
			status: schema.StatusFailed, passed: 1, pending: 1, failed: 1, gotFormat: schema.FormatJUnit, firstCase: "test_multiplies"},
		{name: "go test -json", tool: "go", files: gotest, spec: "calc_test.go",
			command: "go test -json {file}", format: schema.FormatGoTestJSON,
			status: schema.StatusFailed, passed: 1, pending: 1, failed: 1, gotFormat: schema.FormatGoTestJSON, firstCase: "TestMultiplies"},
		{name: "go test -json auto", tool: "go", files: gotest, spec: "calc_test.go",
			command: "go test -json {file}", format: schema.FormatAuto,
			status: schema.StatusFailed, passed: 1, pending: 1, failed: 1, gotFormat: schema.FormatGoTestJSON, firstCase: "TestMultiplies"},
		{name: "tap from perl", tool: "perl", files: tap, spec: "t/calc.t",
			command: "perl {file}", format: schema.FormatTAP,
			status: schema.StatusFailed, passed: 1, pending: 1, failed: 1, gotFormat: schema.FormatTAP, firstCase: "multiplies",
			noMessage: true},
		{name: "exit code auto", tool: "sh", files: map[string]string{"t.sh": "echo plain words"}, spec: "t.sh",
			command: "sh {file}", format: schema.FormatAuto,
			status: schema.StatusPassed, gotFormat: schema.FormatExitCode},
		{name: "passed and pending", tool: "rspec", spec: "spec/p_spec.rb", files: map[string]string{"spec/p_spec.rb": `
RSpec.describe "p" do
  it("works") { expect(1).to eq(1) }
  it("later") { skip("later") }
end
`}, command: "rspec --format json --out {report} {file}", format: schema.FormatRSpecJSON,
			status: schema.StatusPending, passed: 1, pending: 1, gotFormat: schema.FormatRSpecJSON},
		{name: "named format without a report", tool: "sh", files: map[string]string{"t.sh": "echo no report"}, spec: "t.sh",
			command: "sh {file}", format: schema.FormatJUnit,
			status: schema.StatusFailed, gotFormat: schema.FormatJUnit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := exec.LookPath(c.tool); err != nil {
				t.Skipf("%s is not installed (scripts/test.sh installs it)", c.tool)
			}
			redistest.Each(t, func(t *testing.T, b redistest.Backend) {
				e := newEnv(t, b)
				e.write(t, c.files)
				ts := e.create(t, schema.TasksetSpec{TrialCommand: c.command, ResultFormat: c.format,
					MaxTrials: 1, Specs: []string{c.spec}})
				tr := onlyTrial(t, e.runSlave(t, ts))
				require.Equal(t, c.status, tr.Status, "error %q, stdout %q, stderr %q", tr.Error, tr.Stdout, tr.Stderr)
				require.Equal(t, [3]int{c.passed, c.pending, c.failed}, [3]int{tr.Passed, tr.Pending, tr.Failed})
				require.Equal(t, c.gotFormat, tr.Format)
				if c.name == "named format without a report" {
					require.Contains(t, tr.Error, "report unreadable")
				}
				if c.firstCase == "" {
					return
				}
				require.Len(t, tr.Report, c.passed+c.pending+c.failed)
				require.Equal(t, schema.StatusFailed, tr.Report[0].Status)
				require.Contains(t, tr.Report[0].Name, c.firstCase)
				if !c.noMessage {
					require.NotEmpty(t, tr.Report[0].Message)
				}
			})
		})
	}
}
