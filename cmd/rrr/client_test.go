package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/junit"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

var ctx = context.Background()

// rrr runs the command line in this process and returns its exit code,
// stdout and stderr.
func rrr(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"rrr"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mini is a miniredis with a protocol client in the default namespace.
type mini struct {
	url string
	rdb *redis.Client
	sc  *schema.Client
}

func newMini(t *testing.T) mini {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return mini{url: "redis://" + m.Addr() + "/0", rdb: rdb, sc: schema.NewClient(rdb, "")}
}

// project writes files under a new directory.
func project(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	return dir
}

func TestUsageErrorsExit2(t *testing.T) {
	dir := project(t, map[string]string{"a_spec.rb": ""})
	bad := project(t, map[string]string{".rrr.yml": "trial-command: [oops"})
	unknown := project(t, map[string]string{".rrr.yml": "trial-comand: rspec {file}\n"})
	badValue := project(t, map[string]string{".rrr.yml": "max-trials: lots\n"})
	noRedis := "redis://127.0.0.1:1/0" // usage errors come before any connection
	cases := []struct {
		name string
		args []string
		says string
	}{
		{"flag after the key", []string{"show", "KEY", "--json"}, `"--json" looks like a flag after an argument`},
		{"flag after a spec", []string{"start", "--dir", dir, "a_spec.rb", "--wait"}, `"--wait" looks like a flag after an argument`},
		{"unknown flag", []string{"show", "--bogus", "KEY"}, "flag provided but not defined: -bogus"},
		{"unknown global flag", []string{"--bogus", "actives"}, "flag provided but not defined"},
		{"missing key", []string{"waitfor"}, "takes KEY (got 0 arguments)"},
		{"two keys", []string{"cancel", "a", "b"}, "takes KEY (got 2 arguments)"},
		{"arguments to actives", []string{"nodes", "x"}, "takes no arguments"},
		{"not a number", []string{"start", "--max-trials", "many", "a"}, "invalid value"},
		{"bad duration", []string{"waitfor", "--timeout", "soon", "k"}, `--timeout "soon": want a duration`},
		{"negative duration", []string{"start", "--dir", dir, "--least-timeout", "-5", "a_spec.rb"}, "may not be negative"},
		{"no spec matched", []string{"--redis", noRedis, "start", "--dir", dir, "--trial-command", "t {file}", "b_spec.rb", "*.py"},
			`no spec matched: "b_spec.rb", "*.py" under --dir ` + dir},
		{"no spec at all", []string{"--redis", noRedis, "start", "--dir", dir, "--trial-command", "t {file}"}, "no SPEC given"},
		{"spec leaves the project", []string{"--redis", noRedis, "start", "--dir", dir, "../x_spec.rb"}, "leaves the project root"},
		{"malformed project file", []string{"start", "--dir", bad, "a"}, "malformed project file"},
		{"unknown key in the project file", []string{"start", "--dir", unknown, "a"}, "unknown key(s) trial-comand; known: specs, trial-command,"},
		{"bad value in the project file", []string{"start", "--dir", badValue, "a"}, `max-trials: "lots" is not a valid value of --max-trials`},
		{"key of another namespace", []string{"--redis", noRedis, "show", "other:taskset:x"}, `not a taskset key of namespace "rrrspec"`},
		{"bad log level", []string{"--log-level", "loud", "--redis", noRedis, "actives"}, `log level "loud"`},
		{"bisect without a spec", []string{"--redis", noRedis, "bisect", "--dir", dir, "KEY"}, "takes KEY SPEC (got 1 arguments)"},
		{"bisect of a spec outside", []string{"--redis", noRedis, "bisect", "--dir", dir, "KEY", "../a.sh"}, "leaves"},
		{"rerun and retry", []string{"--redis", noRedis, "start", "--dir", dir, "--rerun-failed", "k", "--retry-of", "b"}, "give one of them"},
		{"retry with specs", []string{"--redis", noRedis, "start", "--dir", dir, "--retry-of", "b", "a_spec.rb"}, "give no SPEC"},
		{"bad build id", []string{"--redis", noRedis, "start", "--dir", dir, "--trial-command", "t {file}", "--build-id", "a\nb", "a_spec.rb"}, "build id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := rrr(t, tc.args...)
			require.Equal(t, exitUsage, code, "stderr: %s", stderr)
			require.Contains(t, stderr, tc.says)
			require.Empty(t, stdout)
		})
	}
}

func TestRedisUnreachableExits4(t *testing.T) {
	port, err := redistest.FreePort()
	require.NoError(t, err)
	code, _, stderr := rrr(t, "--redis", "redis://127.0.0.1:"+strconv.Itoa(port)+"/0", "actives")
	require.Equal(t, exitInfra, code)
	require.Contains(t, stderr, "redis unreachable")
	require.Contains(t, stderr, "set --redis or RRR_REDIS")
}

// The project file, the environment and flags: flags win over the
// environment, which wins over the file.
func TestStartConfigPrecedence(t *testing.T) {
	m := newMini(t)
	remote := t.TempDir()
	dir := project(t, map[string]string{
		"spec/a_spec.rb": "", "spec/b_spec.rb": "", "lib/x.rb": "",
		".rrr.yml": "trial-command: rspec {file}\nworker-type: from-file\nmax-trials: 5\ntaskset_class: file-class\n" +
			"least-timeout: 40\nrsync-name: bob\nspecs:\n  - spec/*_spec.rb\n",
	})
	t.Setenv("RRR_WORKER_TYPE", "from-env")
	t.Setenv("RRR_MAX_TRIALS", "4")
	t.Setenv("RRR_RSYNC_REMOTE_PATH", remote)
	code, stdout, stderr := rrr(t, "--redis", m.url, "start", "--dir", dir, "--worker-type", "from-flag")
	require.Equal(t, exitOK, code, stderr)
	key := strings.TrimSpace(stdout)
	id, ok := m.sc.Keys.TasksetID(key)
	require.True(t, ok, "stdout is the key alone: %q", stdout)
	require.True(t, strings.HasPrefix(id, "bob-"))

	ts, err := model.NewReader(m.sc).Load(ctx, key, model.LoadOptions{})
	require.NoError(t, err)
	require.Equal(t, "from-flag", ts.WorkerType, "a flag wins over env and file")
	require.Equal(t, 4, ts.MaxTrials, "env wins over the file")
	require.Equal(t, "file-class", ts.TasksetClass, "the file fills the rest")
	require.Equal(t, "rspec {file}", ts.TrialCommand)
	require.Equal(t, 40, ts.LeastTimeoutSec)
	require.Equal(t, 600, ts.UnknownSpecTimeoutSec, "the flag's default")
	require.Len(t, ts.Tasks, 2, "specs: of the file")
	_, err = os.Stat(filepath.Join(remote, "bob", "lib", "x.rb"))
	require.NoError(t, err, "the project was uploaded to <remote>/<rsync name>")
	require.Contains(t, stderr, "created taskset "+key)

	// SPEC arguments replace the file's specs
	code, stdout, stderr = rrr(t, "--redis", m.url, "start", "--dir", dir, "lib/x.rb")
	require.Equal(t, exitOK, code, stderr)
	ts, err = model.NewReader(m.sc).Load(ctx, strings.TrimSpace(stdout), model.LoadOptions{})
	require.NoError(t, err)
	require.Equal(t, "lib/x.rb", ts.Tasks[0].SpecFile)
}

// hand makes tasksets in each final state by hand and returns their keys.
func hand(t *testing.T, m mini) map[string]string {
	t.Helper()
	keys := map[string]string{}
	create := func(id string, specs ...string) string {
		k, err := m.sc.CreateTaskset(ctx, id, schema.TasksetSpec{RsyncName: "alice", TrialCommand: "t {file}", MaxTrials: 1, Specs: specs})
		require.NoError(t, err)
		keys[id] = k
		return k
	}
	slave := schema.Slave(m.sc.Keys.Worker("w1"), "1")
	runAll := func(ts string, status string) {
		for {
			out, task, err := m.sc.TakeTask(ctx, ts, slave)
			require.NoError(t, err)
			if out != schema.TakeOK {
				return
			}
			_, trial, _, err := m.sc.StartTrial(ctx, ts, task, "1", slave)
			require.NoError(t, err)
			_, err = m.sc.FinishTrial(ctx, trial, schema.Result{Status: status, Passed: 2,
				Fields: map[string]string{schema.FStdout: "output of " + task}})
			require.NoError(t, err)
			_, _, err = m.sc.SettleTask(ctx, task)
			require.NoError(t, err)
		}
	}
	runAll(create("ok", "a_spec.rb", "b_spec.rb"), schema.StatusPassed)
	runAll(create("bad", "a_spec.rb"), schema.StatusFailed)
	_, err := m.sc.CancelTaskset(ctx, create("cancelled", "a_spec.rb"), "by a test")
	require.NoError(t, err)
	_, err = m.sc.FailTaskset(ctx, create("setup", "a_spec.rb"), "setup failed on w1: exit status 1")
	require.NoError(t, err)
	create("running", "a_spec.rb")
	return keys
}

func TestShowExitCodesAndJSON(t *testing.T) {
	m := newMini(t)
	keys := hand(t, m)
	for id, want := range map[string]int{"ok": 0, "bad": 1, "cancelled": 3, "setup": 4, "running": 5} {
		code, stdout, stderr := rrr(t, "--redis", m.url, "show", id)
		require.Equal(t, want, code, "%s: %s", id, stderr)
		require.Contains(t, stdout, "taskset  "+keys[id])
	}
	code, _, stderr := rrr(t, "--redis", m.url, "show", "missing")
	require.Equal(t, exitInfra, code)
	require.Contains(t, stderr, "not in Redis")

	code, stdout, _ := rrr(t, "--redis", m.url, "show", "--json", keys["ok"])
	require.Equal(t, exitOK, code)
	var doc struct {
		Key            string  `json:"key"`
		Status         string  `json:"status"`
		CreatedAt      *string `json:"created_at"`
		FinishedAt     *string `json:"finished_at"`
		SucceededCount *int    `json:"succeeded_count"`
		FailedCount    *int    `json:"failed_count"`
		Tasks          []struct {
			SpecFile    string          `json:"spec_file"`
			Status      string          `json:"status"`
			EstimateSec json.RawMessage `json:"estimate_sec"`
			Trials      []map[string]any
		} `json:"tasks"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc), stdout)
	require.Equal(t, keys["ok"], doc.Key)
	require.Equal(t, "succeeded", doc.Status)
	require.NotNil(t, doc.CreatedAt)
	require.NotNil(t, doc.FinishedAt)
	require.Equal(t, 2, *doc.SucceededCount)
	require.Equal(t, 0, *doc.FailedCount)
	require.Len(t, doc.Tasks, 2)
	require.Equal(t, "a_spec.rb", doc.Tasks[0].SpecFile)
	require.Equal(t, "passed", doc.Tasks[0].Status)
	require.Equal(t, "null", string(doc.Tasks[0].EstimateSec))
	tr := doc.Tasks[0].Trials[0]
	for _, f := range []string{"key", "status", "slave", "started_at", "finished_at", "passed", "pending", "failed"} {
		require.Contains(t, tr, f)
	}
	require.EqualValues(t, 2, tr["passed"])
	require.NotContains(t, tr, "stdout", "outputs only with --verbose or --show-errors")

	_, stdout, _ = rrr(t, "--redis", m.url, "show", "--json", "--show-errors", "bad")
	require.Contains(t, stdout, `"stdout": "output of `+keys["bad"]+`:task:a_spec.rb"`)

	code, stdout, _ = rrr(t, "--redis", m.url, "show", "--show-errors", "bad")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, "== a_spec.rb: failed after 1 trial(s)")
	require.Contains(t, stdout, "output of ")
}

func TestShowReadsTheResultsStore(t *testing.T) {
	m := newMini(t)
	store := t.TempDir()
	s := model.Snapshot{Taskset: model.Taskset{Key: "rrrspec:taskset:old", ID: "old", Status: "failed", FailedCount: 1},
		Tasks: []model.Task{{SpecFile: "a.rb", Status: "failed", Trials: []model.Trial{{Key: "k", Status: "failed", Stdout: "boom"}}}}}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(store, "old"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(store, "old", "taskset.json"), b, 0o644))

	code, _, stderr := rrr(t, "--redis", m.url, "show", "old")
	require.Equal(t, exitInfra, code)
	require.Contains(t, stderr, "--results-dir")

	code, stdout, _ := rrr(t, "--redis", m.url, "show", "--json", "--results-dir", store, "old")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, `"key": "rrrspec:taskset:old"`)
	require.NotContains(t, stdout, "boom", "outputs only when asked, as from Redis")

	port, err := redistest.FreePort()
	require.NoError(t, err)
	t.Setenv("RRR_RESULTS_DIR", store)
	code, stdout, stderr = rrr(t, "--redis", "redis://127.0.0.1:"+strconv.Itoa(port)+"/0", "show", "--show-errors", "old")
	require.Equal(t, exitFailed, code, "Redis down: the store still answers")
	require.Contains(t, stderr, "showing rrrspec:taskset:old from the results store")
	require.Contains(t, stdout, "boom")
}

func TestCancelActivesNodes(t *testing.T) {
	m := newMini(t)
	keys := hand(t, m)
	other, err := m.sc.CreateTaskset(ctx, "bobs", schema.TasksetSpec{RsyncName: "bob", TrialCommand: "t {file}", Specs: []string{"x"}})
	require.NoError(t, err)
	_, err = m.sc.RegisterWorker(ctx, m.sc.Keys.Worker("box1"), time.Minute, map[string]string{schema.FWorkerType: "default", schema.FSlaves: "4"})
	require.NoError(t, err)

	code, stdout, _ := rrr(t, "--redis", m.url, "actives")
	require.Equal(t, exitOK, code)
	require.Regexp(t, `running\s+alice\s+default\s+0/1\s+0\s+`, stdout)
	require.Regexp(t, `bobs\s+bob\s+`, stdout)
	code, stdout, _ = rrr(t, "--redis", m.url, "actives", "--json")
	require.Equal(t, exitOK, code)
	var as []map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &as))
	require.Len(t, as, 2)

	code, stdout, _ = rrr(t, "--redis", m.url, "nodes")
	require.Equal(t, exitOK, code)
	require.Regexp(t, `box1\s+default\s+\s+4\s+idle`, stdout)
	code, stdout, _ = rrr(t, "--redis", m.url, "nodes", "--json")
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, `"id": "box1"`)

	code, stdout, _ = rrr(t, "--redis", m.url, "cancel", "running")
	require.Equal(t, exitOK, code)
	require.Equal(t, "cancelled "+keys["running"]+"\n", stdout)
	code, stdout, _ = rrr(t, "--redis", m.url, "cancel", keys["running"])
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "had finished already (cancelled)")
	code, _, stderr := rrr(t, "--redis", m.url, "cancel", "nope")
	require.Equal(t, exitInfra, code)
	require.Contains(t, stderr, "not in Redis")

	code, stdout, stderr = rrr(t, "--redis", m.url, "cancelall", "bob")
	require.Equal(t, exitOK, code)
	require.Equal(t, other+"\n", stdout)
	require.Contains(t, stderr, `cancelled 1 active taskset(s) of "bob"`)
	_, stdout, _ = rrr(t, "--redis", m.url, "actives")
	require.Equal(t, "no active tasksets\n", stdout)
}

func TestWaitforFinishedTaskset(t *testing.T) {
	m := newMini(t)
	keys := hand(t, m)
	report := filepath.Join(t.TempDir(), "report.xml")
	for id, want := range map[string]int{"ok": 0, "bad": 1, "cancelled": 3, "setup": 4} {
		code, _, stderr := rrr(t, "--redis", m.url, "waitfor", "--junit", report, id)
		require.Equal(t, want, code, "%s: %s", id, stderr)
		require.Contains(t, stderr, "rrr: "+keys[id])
		b, err := os.ReadFile(report)
		require.NoError(t, err)
		var doc junit.Testsuites
		require.NoError(t, xml.Unmarshal(b, &doc))
		require.Equal(t, "rrr "+id, doc.Name)
	}
	code, _, stderr := rrr(t, "--redis", m.url, "waitfor", "--timeout", "0.2", "running")
	require.Equal(t, exitInfra, code)
	require.Contains(t, stderr, "gave up waiting after 200ms")

	code, _, stderr = rrr(t, "--redis", m.url, "waitfor", "--junit", "/no/such/dir/r.xml", "ok")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "its directory does not exist")
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "90": 90 * time.Second, "1.5": 1500 * time.Millisecond,
		"90s": 90 * time.Second, "5m": 5 * time.Minute, "1h30m": 90 * time.Minute, " 2m ": 2 * time.Minute} {
		got, err := parseDuration("x", in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"soon", "-1", "-2m", "5 minutes"} {
		_, err := parseDuration("x", in)
		require.Error(t, err, in)
		require.Contains(t, err.Error(), "--x")
	}
}

// A name or a trial command the taskset could not live with is a usage
// error before anything is uploaded or created (issue 19, items 2 and 6).
func TestStartRefusesBadNamesAndTrialCommands(t *testing.T) {
	m := newMini(t)
	dir := project(t, map[string]string{"a.sh": "true"})
	for name, tc := range map[string]struct {
		args []string
		says string
	}{
		"rsync name leaving the folder": {[]string{"--rsync-name", "../x", "--trial-command", "sh {file}"},
			`rsync name (--rsync-name) "../x": invalid: use letters, digits, '.', '_' and '-', starting with a letter or a digit, at most 64 characters`},
		"rsync name of dots":      {[]string{"--rsync-name", "..", "--trial-command", "sh {file}"}, `"..": invalid: use letters`},
		"rsync name like a flag":  {[]string{"--rsync-name", "-n", "--trial-command", "sh {file}"}, `"-n": invalid: use letters`},
		"rsync name with a colon": {[]string{"--rsync-name", "a:b", "--trial-command", "sh {file}"}, `"a:b": invalid: use letters`},
		"unterminated quote": {[]string{"--trial-command", `sh "unterminated {file}`},
			`--trial-command "sh \"unterminated {file}": bad trial command: bad command template: "sh \"unterminated {file}" has an unterminated double quote`},
		"trailing backslash": {[]string{"--trial-command", `sh {file} \`}, "ends with a backslash"},
		"blank command":      {[]string{"--trial-command", "  "}, "the command is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			remote := t.TempDir()
			args := append([]string{"--redis", m.url, "start", "--dir", dir, "--rsync-remote-path", remote}, tc.args...)
			code, stdout, stderr := rrr(t, append(args, "a.sh")...)
			require.Equal(t, exitUsage, code, stderr)
			require.Contains(t, stderr, tc.says)
			require.Empty(t, stdout)
			entries, err := os.ReadDir(remote)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing uploaded")
			n, err := m.rdb.LLen(ctx, m.sc.Keys.ActiveTaskset()).Result()
			require.NoError(t, err)
			require.Zero(t, n, "nothing created")
		})
	}

	// A name the rule accepts is accepted everywhere: the workers' folder
	// and the results store take the taskset id made of it.
	remote := t.TempDir()
	code, stdout, stderr := rrr(t, "--redis", m.url, "start", "--dir", dir, "--rsync-remote-path", remote,
		"--rsync-name", "logs", "--trial-command", "sh {file}", "a.sh")
	require.Equal(t, exitOK, code, stderr)
	snap, err := model.NewReader(m.sc).Load(ctx, strings.TrimSpace(stdout), model.LoadOptions{})
	require.NoError(t, err)
	require.NoError(t, store.Write(t.TempDir(), snap))
	require.FileExists(t, filepath.Join(remote, "logs", "a.sh"))

	// No --rsync-name: $USER, made to pass the rule, and said so.
	t.Setenv("USER", "ci runner")
	code, stdout, stderr = rrr(t, "--redis", m.url, "start", "--dir", dir, "--rsync-remote-path", remote,
		"--trial-command", "sh {file}", "a.sh")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, ":taskset:ci-runner-")
	require.Contains(t, stderr, `$USER "ci runner" is not a valid rsync name (letters, digits, '.', '_' and '-', starting with a letter or a digit); using "ci-runner" (set --rsync-name)`)
}
