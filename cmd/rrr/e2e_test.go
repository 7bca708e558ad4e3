package main

// End-to-end tests: they build the rrr binary and run it as people do,
// against real processes (`rrr server`, `rrr worker`) on a real Redis.

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/junit"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// e2eFleet is a real Redis namespace with `rrr server` and one `rrr worker`.
type e2eFleet struct {
	bin     string
	global  []string // --redis, --namespace
	results string
	remote  string
	rdb     *schema.Client
	raw     *redis.Client // for what a test writes past the protocol
}

func startFleet(t *testing.T) *e2eFleet {
	t.Helper()
	bin := build(t)
	srv := redistest.Shared(t)
	ns := redistest.Namespace(t)
	f := &e2eFleet{bin: bin, global: []string{"--redis", srv.URL(), "--namespace", ns, "--log-level", "debug"},
		results: t.TempDir(), remote: t.TempDir()}
	rdb := srv.Client()
	t.Cleanup(func() { _ = rdb.Close() })
	f.rdb, f.raw = schema.NewClient(rdb, ns), rdb
	spawn(t, bin, append(f.global, "server", "--results-dir", f.results, "--rsync-remote-path", f.remote)...)
	spawn(t, bin, append(f.global, "worker", "--id", "e2e-"+ns, "--slaves", "2", "--working-dir", t.TempDir())...)
	// Ready: the server published the fleet's rsync path, the worker lives.
	require.Eventually(t, func() bool {
		path, _ := rdb.HGet(context.Background(), f.rdb.Keys.RsyncInfo(), schema.FRsyncRemotePath).Result()
		alive, _ := f.rdb.Alive(context.Background(), f.rdb.Keys.Worker("e2e-"+ns))
		return path == f.remote && alive
	}, 30*time.Second, 10*time.Millisecond, "rrr server and rrr worker start")
	return f
}

// rrr runs a client command of the fleet to its end.
func (f *e2eFleet) rrr(t *testing.T, args ...string) (int, *proc) {
	t.Helper()
	p := spawn(t, f.bin, append(f.global, args...)...)
	return p.exit(t, 90*time.Second), p
}

// suite is a project of shell-script specs that print TAP.
func suite(t *testing.T, marker string) string {
	t.Helper()
	return project(t, map[string]string{
		"pass/a.sh":   "echo 1..2; echo 'ok 1 - adds'; echo 'ok 2 - subtracts'\n",
		"pass/b.sh":   "echo 1..1; echo 'ok 1 - multiplies'\n",
		"fail/bad.sh": "echo 1..2; echo 'ok 1 - holds'; echo 'not ok 2 - breaks'; echo 'it broke' >&2; exit 1\n",
		// fails on its first run; a later run (a retry, or a speculative
		// duplicate started meanwhile) passes after the first has ended
		"flaky/f.sh": "if [ -e " + marker + " ]; then sleep 0.5; echo 1..1; echo 'ok 1 - races'; else touch " + marker +
			"; echo 1..1; echo 'not ok 1 - races'; exit 1; fi\n",
		"slow/hang.sh": "echo started; sleep 120\n",
		".rrr.yml":     "trial-command: sh {file}\nformat: tap\nrsync-name: e2e\n",
	})
}

func (f *e2eFleet) show(t *testing.T, key string) model.Snapshot {
	t.Helper()
	code, p := f.rrr(t, "show", "--json", key)
	require.Contains(t, []int{0, 1, 3, 4}, code, p.stderr.String())
	var s model.Snapshot
	require.NoError(t, json.Unmarshal([]byte(p.stdout.String()), &s), p.stdout.String())
	return s
}

func readJUnit(t *testing.T, path string) junit.Testsuites {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc junit.Testsuites
	require.NoError(t, xml.Unmarshal(b, &doc))
	return doc
}

func TestE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	f := startFleet(t)
	dir := suite(t, filepath.Join(t.TempDir(), "flaky-marker"))
	report := filepath.Join(t.TempDir(), "report.xml")

	t.Run("passing, with start then waitfor", func(t *testing.T) {
		code, p := f.rrr(t, "start", "--dir", dir, "pass/*.sh")
		require.Equal(t, 0, code, p.stderr.String())
		key := strings.TrimSpace(p.stdout.String())
		require.Contains(t, p.stderr.String(), "uploading "+dir)

		code, p = f.rrr(t, "waitfor", "--junit", report, key)
		require.Equal(t, 0, code, p.stderr.String())
		require.Contains(t, p.stderr.String(), key+" succeeded: 2 specs, 2 passed")
		require.Contains(t, p.stderr.String(), "balance: ")

		s := f.show(t, key)
		require.Equal(t, "succeeded", s.Status)
		require.Equal(t, 2, s.SucceededCount)
		require.False(t, s.FinishedAt.IsZero())
		for _, task := range s.Tasks {
			require.Equal(t, "passed", task.Status)
			ft := model.FinalTrial(task)
			require.Equal(t, "passed", ft.Status)
			require.NotEmpty(t, ft.Slave)
			require.Equal(t, "tap", ft.Format)
		}
		doc := readJUnit(t, report)
		require.Equal(t, 3, doc.Tests, "the TAP cases")
		require.Zero(t, doc.Failures)
	})

	t.Run("failing", func(t *testing.T) {
		code, p := f.rrr(t, "start", "--wait", "--junit", report, "--max-trials", "2", "--dir", dir, "pass/a.sh", "fail/bad.sh")
		require.Equal(t, 1, code, p.stderr.String())
		key := strings.TrimSpace(p.stdout.String())
		out := p.stderr.String()
		require.Contains(t, out, "failed specs (1):")
		// idle slaves may run duplicates of the last task: at least 2 trials
		require.Regexp(t, `== fail/bad.sh: failed after [2-9] trial\(s\)`, out)
		require.Contains(t, out, "- breaks")
		require.Contains(t, out, "it broke")

		s := f.show(t, key)
		require.Equal(t, "failed", s.Status)
		require.Equal(t, 1, s.FailedCount)
		require.Equal(t, 1, s.SucceededCount)
		for _, task := range s.Tasks {
			if task.SpecFile == "fail/bad.sh" {
				require.Equal(t, "failed", task.Status)
				require.GreaterOrEqual(t, len(task.Trials), 2, "retried up to --max-trials")
				for _, tr := range task.Trials {
					require.Equal(t, "failed", tr.Status)
				}
			}
		}
		doc := readJUnit(t, report)
		require.Equal(t, 1, doc.Failures)
		require.Equal(t, 4, doc.Tests)
	})

	t.Run("rerun only the failures", func(t *testing.T) {
		code, p := f.rrr(t, "start", "--wait", "--max-trials", "1", "--taskset-class", "rerun", "--dir", dir, "pass/a.sh", "pass/b.sh", "fail/bad.sh")
		require.Equal(t, 1, code, p.stderr.String())
		first := strings.TrimSpace(p.stdout.String())

		code, p = f.rrr(t, "start", "--wait", "--rerun-failed", first, "--dir", dir)
		require.Equal(t, 1, code, p.stderr.String())
		out := p.stderr.String()
		require.Contains(t, out, "rerun of "+first+": 1 spec file(s) that did not pass there (1 failed); 2 that passed are skipped")
		require.Contains(t, out, "a rerun of "+first)
		second := strings.TrimSpace(p.stdout.String())
		s := f.show(t, second)
		require.Len(t, s.Tasks, 1)
		require.Equal(t, "fail/bad.sh", s.Tasks[0].SpecFile)
		require.Equal(t, first, s.RerunOf)
		require.Equal(t, 1, s.MaxTrials, "its settings, where none was given")
		require.Equal(t, "rerun", s.TasksetClass)

		code, p = f.rrr(t, "start", "--rerun-failed", first, "--dir", dir, "pass/a.sh")
		require.Equal(t, 2, code, "SPECs and --rerun-failed: %s", p.stderr.String())
	})

	t.Run("rerun of a green taskset: nothing to do", func(t *testing.T) {
		code, p := f.rrr(t, "start", "--wait", "--dir", dir, "pass/a.sh")
		require.Equal(t, 0, code, p.stderr.String())
		key := strings.TrimSpace(p.stdout.String())
		code, p = f.rrr(t, "start", "--wait", "--rerun-failed", key, "--dir", dir)
		require.Equal(t, 0, code, p.stderr.String())
		require.Contains(t, p.stderr.String(), "nothing to rerun: every spec file of "+key+" passed (1)")
		require.Empty(t, strings.TrimSpace(p.stdout.String()), "no taskset created")
	})

	t.Run("flaky", func(t *testing.T) {
		code, p := f.rrr(t, "start", "--wait", "--junit", report, "--dir", dir, "flaky/f.sh")
		require.Equal(t, 0, code, p.stderr.String())
		// a duplicate may start before the first run fails: trial order varies
		require.Regexp(t, `flaky specs \(1\), failed then passed:\n  flaky/f.sh: [a-z, ]*failed`, p.stderr.String())
		s := f.show(t, strings.TrimSpace(p.stdout.String()))
		require.Equal(t, "succeeded", s.Status)
		require.Equal(t, "passed", s.Tasks[0].Status)
		require.Contains(t, trialStatuses(s.Tasks[0]), "failed")
		require.Contains(t, trialStatuses(s.Tasks[0]), "passed")
		doc := readJUnit(t, report)
		require.Zero(t, doc.Failures)
		require.Contains(t, doc.Suites[0].Properties, junit.Property{Name: junit.PropFlaky, Value: "true"})
		require.NotEmpty(t, doc.Suites[0].Cases[0].FlakyFailures, "the case that failed before is marked")
	})

	t.Run("timing out", func(t *testing.T) {
		code, p := f.rrr(t, "start", "--wait", "--junit", report, "--max-trials", "1", "--unknown-spec-timeout", "2",
			"--dir", dir, "slow/hang.sh")
		require.Equal(t, 1, code, p.stderr.String())
		s := f.show(t, strings.TrimSpace(p.stdout.String()))
		require.Equal(t, "failed", s.Status)
		require.Equal(t, "failed", s.Tasks[0].Status)
		require.Equal(t, "timeout", model.FinalTrial(s.Tasks[0]).Status)
		doc := readJUnit(t, report)
		require.Equal(t, 1, doc.Failures)
		require.Equal(t, "timeout", doc.Suites[0].Cases[0].Failure.Type)
	})

	t.Run("cancelled by SIGINT", func(t *testing.T) {
		p := spawn(t, f.bin, append(f.global, "start", "--wait", "--dir", dir, "slow/hang.sh")...)
		require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), "1 running (slow/hang.sh") },
			60*time.Second, 20*time.Millisecond, "the trial runs")
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
		require.Equal(t, 3, p.exit(t, 30*time.Second), p.stderr.String())
		s := f.show(t, strings.TrimSpace(p.stdout.String()))
		require.Equal(t, "cancelled", s.Status)
		require.Contains(t, s.StatusReason, "interrupt")
	})

	t.Run("a pytest runner on the fleet's workers", func(t *testing.T) {
		dir := pytestSuite(t, 3)
		code, p := f.rrr(t, "start", "--wait", "--runner", "pytest", "--max-trials", "1", "--dir", dir, "tests/test_*.py")
		require.Equal(t, 1, code, p.stderr.String())
		s := f.show(t, strings.TrimSpace(p.stdout.String()))
		require.Equal(t, "pytest", s.Runner)
		require.Equal(t, 4, s.SucceededCount, p.stderr.String())
		require.Equal(t, 1, s.FailedCount)
		for _, task := range s.Tasks {
			require.Equal(t, "junit", model.FinalTrial(task).Format, task.SpecFile)
		}
	})
}

func trialStatuses(t model.Task) []string {
	var out []string
	for _, tr := range t.Trials {
		out = append(out, tr.Status)
	}
	return out
}

// The binary's wait, signals and exit codes, against a taskset driven by
// hand on a real Redis, and its message when Redis is down: no server or
// worker needed.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	bin := build(t)
	srv := redistest.Shared(t)
	ns := redistest.Namespace(t)
	rdb := srv.Client()
	defer rdb.Close()
	sc := schema.NewClient(rdb, ns)
	global := []string{"--redis", srv.URL(), "--namespace", ns}
	create := func(id string) string {
		k, err := sc.CreateTaskset(context.Background(), id, schema.TasksetSpec{TrialCommand: "t {file}", Specs: []string{"a.rb"}})
		require.NoError(t, err)
		return k
	}

	t.Run("redis unreachable", func(t *testing.T) {
		port, err := redistest.FreePort()
		require.NoError(t, err)
		p := spawn(t, bin, "--redis", "redis://127.0.0.1:"+strconv.Itoa(port)+"/0", "waitfor", "k")
		require.Equal(t, exitInfra, p.exit(t, 30*time.Second))
		require.Contains(t, p.stderr.String(), "redis unreachable")
		require.NotContains(t, p.stderr.String(), "pool.go", "go-redis's own log lines only at --log-level debug")
		require.Equal(t, 1, strings.Count(p.stderr.String(), "\n"), "one message: %s", p.stderr)
	})

	for _, tc := range []struct {
		name   string
		flags  []string
		sig    syscall.Signal
		status string
	}{
		{"SIGINT cancels", nil, syscall.SIGINT, "cancelled"},
		{"SIGTERM cancels", nil, syscall.SIGTERM, "cancelled"},
		{"no cancel on signal", []string{"--no-cancel-on-signal"}, syscall.SIGINT, "running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := create(strings.ReplaceAll(tc.name, " ", "-"))
			args := append(append(append([]string{}, global...), "waitfor"), tc.flags...)
			p := spawn(t, bin, append(args, key)...)
			require.Eventually(t, func() bool { return strings.Contains(p.stderr.String(), "0/1 done") },
				30*time.Second, 10*time.Millisecond)
			require.NoError(t, p.cmd.Process.Signal(tc.sig))
			require.Equal(t, 3, p.exit(t, 20*time.Second), p.stderr.String())
			st, err := rdb.HGet(context.Background(), key, schema.FStatus).Result()
			require.NoError(t, err)
			require.Equal(t, tc.status, st)
		})
	}
}
