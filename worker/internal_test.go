package worker

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/format"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/proc"
	"github.com/rrr-dev/rrr/schema"
)

func TestTimeouts(t *testing.T) {
	t.Parallel()
	sec := func(n int) *int { return &n }
	cases := []struct {
		name       string
		estimate   *int
		soft, hard time.Duration
	}{
		{"unknown", nil, 600 * time.Second, 630 * time.Second},
		{"long", sec(100), 200 * time.Second, 300 * time.Second},
		{"short: least wins", sec(5), 30 * time.Second, 35 * time.Second},
		{"zero: least wins", sec(0), 30 * time.Second, 35 * time.Second},
		{"between", sec(12), 30 * time.Second, 36 * time.Second},
	}
	for _, c := range cases {
		soft, hard := Timeouts(c.estimate, 600*time.Second, 30*time.Second, 5*time.Second, 30*time.Second)
		require.Equal(t, c.soft, soft, c.name)
		require.Equal(t, c.hard, hard, c.name)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	exit := func(code int) proc.Result { return proc.Result{Exited: true, ExitCode: code} }
	counts := func(p, n, f int) format.Outcome {
		return format.Outcome{Format: schema.FormatJUnit, Passed: p, Pending: n, Failed: f}
	}
	cases := []struct {
		name     string
		res      proc.Result
		oc       format.Outcome
		parseErr error
		status   string
		errorHas string
	}{
		{"exit 0, no cases", exit(0), format.Outcome{}, nil, schema.StatusPassed, ""},
		{"exit 1, no cases", exit(1), format.Outcome{}, nil, schema.StatusFailed, ""},
		{"failures", exit(1), counts(3, 1, 2), nil, schema.StatusFailed, ""},
		{"failures but exit 0", exit(0), counts(3, 1, 2), nil, schema.StatusFailed, ""},
		{"pending", exit(0), counts(3, 1, 0), nil, schema.StatusPending, ""},
		{"passed", exit(0), counts(3, 0, 0), nil, schema.StatusPassed, ""},
		{"passed but exit 2", exit(2), counts(3, 0, 0), nil, schema.StatusFailed, "exit code 2, but the report shows no failure"},
		{"pending but exit 2", exit(2), counts(0, 1, 0), nil, schema.StatusFailed, "but the report shows no failure"},
		{"foreign signal", proc.Result{Signal: syscall.SIGSEGV}, format.Outcome{}, nil, schema.StatusFailed, "killed by signal SIGSEGV"},
		{"foreign signal after passes", proc.Result{Signal: syscall.SIGABRT}, counts(2, 0, 0), nil, schema.StatusFailed, "killed by signal SIGABRT"},
		{"unreadable report", exit(0), format.Outcome{}, errors.New("bad XML"), schema.StatusFailed, "report unreadable (exit code 0): bad XML"},
		{"soft timeout", proc.Result{Signal: syscall.SIGTERM, Timeout: proc.SoftTimeout, Soft: time.Second}, counts(1, 0, 0), nil,
			schema.StatusTimeout, "soft timeout after 1s"},
		{"hard timeout", proc.Result{Signal: syscall.SIGKILL, Timeout: proc.HardTimeout, Hard: time.Minute}, format.Outcome{}, nil,
			schema.StatusTimeout, "hard timeout after 1m0s"},
		{"stopped", proc.Result{Signal: syscall.SIGTERM, Cancelled: true}, format.Outcome{}, nil,
			schema.StatusError, "the slave was stopped before the trial finished"},
	}
	for _, c := range cases {
		out := decide(c.res, c.oc, c.parseErr)
		require.Equal(t, c.status, out.status, c.name)
		if c.errorHas == "" {
			require.Empty(t, out.fields[schema.FError], c.name)
		} else {
			require.Contains(t, out.fields[schema.FError], c.errorHas, c.name)
		}
		if c.parseErr == nil {
			require.Equal(t, [3]int{c.oc.Passed, c.oc.Pending, c.oc.Failed}, [3]int{out.passed, out.pending, out.failed}, c.name)
		}
	}
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	var cases []model.Case
	for i := range 600 {
		st := schema.StatusPassed
		switch {
		case i%100 == 99:
			st = schema.StatusFailed
		case i%50 == 0:
			st = schema.StatusPending
		}
		cases = append(cases, model.Case{Name: "case" + string(rune('a'+i%26)), Status: st,
			Message: strings.Repeat("é", 3000)})
	}
	var got []model.Case
	require.NoError(t, json.Unmarshal([]byte(reportJSON(cases)), &got))
	require.Len(t, got, MaxReportCases)
	for i, c := range got {
		want := schema.StatusPassed
		switch {
		case i < 6:
			want = schema.StatusFailed
		case i < 6+12:
			want = schema.StatusPending
		}
		require.Equal(t, want, c.Status, "case %d", i)
		require.LessOrEqual(t, len(c.Message), MaxReportMessage+40)
		require.Contains(t, c.Message, "[rrr: 1904 bytes omitted]")
	}
}

func TestSlaveConfigEnvRoundTrip(t *testing.T) {
	t.Parallel()
	c := SlaveConfig{
		Taskset: "ns:taskset:1", Worker: "ns:worker:box", Slave: "ns:worker:box:slave:2-ab", Number: 2, NumSlaves: 4,
		WorkingCopy: "/w/alice", OutputDir: "/w/logs/1", PgidFile: "/w/logs/1/run/2-ab.pgid", Host: "box",
		HeartbeatTTL: 7 * time.Second, HeartbeatInterval: time.Second,
		Trial: TrialConfig{KillGrace: 2 * time.Second, UnknownHardExtra: 3 * time.Second, Grace: 4 * time.Second,
			WaitDelay: 500 * time.Millisecond, IdleWait: 250 * time.Millisecond, LogCap: 1000},
	}
	env := map[string]string{}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	got, err := SlaveConfigFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, c, got)

	delete(env, EnvSlave)
	_, err = SlaveConfigFromEnv(func(k string) string { return env[k] })
	require.ErrorIs(t, err, ErrConfig)
	require.ErrorContains(t, err, "RRR_SLAVE is not set: `rrr slave` is started by `rrr worker`")
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	good := func() Config {
		return Config{ID: "box", WorkingDir: t.TempDir(), RedisURL: "redis://127.0.0.1:6379/0", SlaveCommand: []string{"x"}}
	}
	c := good().WithDefaults()
	require.NoError(t, c.Validate())
	require.Equal(t, DefaultHeartbeatTTL, c.HeartbeatTTL)
	require.Equal(t, DefaultMaxSlaveCrashes, c.MaxSlaveCrashes)
	require.Positive(t, c.Slaves)
	require.Equal(t, DefaultKillGrace, c.Trial.KillGrace)

	bad := map[string]func(*Config){
		"worker id":         func(c *Config) { c.ID = "a:b" },
		"slaves":            func(c *Config) { c.Slaves = -1 },
		"working directory": func(c *Config) { c.WorkingDir = "" },
		"heartbeat":         func(c *Config) { c.HeartbeatInterval = time.Minute },
		"Redis URL":         func(c *Config) { c.RedisURL = "" },
	}
	for want, mod := range bad {
		c := good()
		mod(&c)
		err := c.WithDefaults().Validate()
		require.ErrorIs(t, err, ErrConfig, want)
		require.Contains(t, err.Error(), want)
	}
}

// The slave's whole configuration is one JSON variable; a missing or
// malformed one, or a variable beside it that says otherwise, is refused
// with a message that names it.
func TestSlaveConfigJSON(t *testing.T) {
	t.Parallel()
	c := SlaveConfig{Taskset: "ns:taskset:1", Worker: "ns:worker:box", Slave: "ns:worker:box:slave:1-ab", Number: 1, NumSlaves: 2,
		WorkingCopy: "/w/alice", OutputDir: "/w/logs/1"}
	env := func(mod func(map[string]string)) func(string) string {
		m := map[string]string{}
		for _, kv := range c.Env() {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		mod(m)
		return func(k string) string { return m[k] }
	}
	got, err := SlaveConfigFromEnv(env(func(map[string]string) {}))
	require.NoError(t, err)
	require.Equal(t, c, got, "no defaults filled: NewSlave does")
	require.Equal(t, DefaultHeartbeatTTL, got.WithDefaults().HeartbeatTTL)

	for want, mod := range map[string]func(map[string]string){
		"RRR_SLAVE_CONFIG is not set: `rrr slave` is started by `rrr worker`": func(m map[string]string) { delete(m, EnvSlaveConfig) },
		"RRR_SLAVE_CONFIG: want the JSON object":                              func(m map[string]string) { m[EnvSlaveConfig] = "ttl=1s,grace=2s" },
		`unknown field "ttl"`:                                                 func(m map[string]string) { m[EnvSlaveConfig] = `{"ttl": 1}` },
		`SLAVE_NUMBER="3" but RRR_SLAVE_CONFIG says "1"`:                      func(m map[string]string) { m[EnvSlaveNumber] = "3" },
		"RRR_TASKSET is not set":                                              func(m map[string]string) { delete(m, EnvTaskset) },
		"slave heartbeat TTL -1s": func(m map[string]string) {
			m[EnvSlaveConfig] = strings.Replace(m[EnvSlaveConfig], `"trial"`, `"heartbeat_ttl_ns":-1000000000,"trial"`, 1)
		},
	} {
		_, err := SlaveConfigFromEnv(env(mod))
		require.ErrorIs(t, err, ErrConfig, want)
		require.ErrorContains(t, err, want)
	}
}

// --max-slave-crashes 0 and --keep-logs 0 are explicit fields, not
// negative sentinels: the zero value still takes the default.
func TestConfigExplicitNone(t *testing.T) {
	t.Parallel()
	good := Config{ID: "box", WorkingDir: t.TempDir(), RedisURL: "redis://127.0.0.1:6379/0", SlaveCommand: []string{"x"}}
	c := good
	c.FailOnFirstSlaveCrash, c.KeepAllLogs = true, true
	c = c.WithDefaults()
	require.NoError(t, c.Validate())
	require.Zero(t, c.MaxSlaveCrashes)
	require.Zero(t, c.KeepLogs)
	d := good.WithDefaults()
	require.Equal(t, DefaultMaxSlaveCrashes, d.MaxSlaveCrashes)
	require.Equal(t, DefaultKeepLogs, d.KeepLogs)

	for want, mod := range map[string]func(*Config){
		"slave crashes: give 0 or more":    func(c *Config) { c.MaxSlaveCrashes = -1 },
		"keep logs -1s":                    func(c *Config) { c.KeepLogs = -time.Second },
		"and none (FailOnFirstSlaveCrash)": func(c *Config) { c.MaxSlaveCrashes, c.FailOnFirstSlaveCrash = 2, true },
		"and for good (KeepAllLogs)":       func(c *Config) { c.KeepLogs, c.KeepAllLogs = time.Hour, true },
	} {
		c := good
		mod(&c)
		err := c.WithDefaults().Validate()
		require.ErrorIs(t, err, ErrConfig, want)
		require.ErrorContains(t, err, want)
	}
}

func TestRunnerInterpreterIsTheFrameworks(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	for _, c := range []struct {
		name, first string
		want        []string
	}{
		{"a virtualenv's", "#!/opt/venv/bin/python3.11 -I", []string{"/opt/venv/bin/python3.11", "-I"}},
		{"through env", "#! /usr/bin/env -S python3", []string{"python3"}},
		{"a shell wrapper (pyenv shim)", "#!/usr/bin/env bash", []string{"python3"}},
		{"a binary", "\x7fELF", []string{"python3"}},
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "pytest"), []byte(c.first+"\nrest\n"), 0o755))
		require.Equal(t, c.want, interpreterOf("pytest", "python3", "python"), c.name)
	}
	require.Equal(t, []string{"ruby"}, interpreterOf("rspec", "ruby", "ruby"), "no such command")
}
