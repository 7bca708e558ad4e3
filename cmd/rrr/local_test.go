package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/junit"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/store"
)

// runLocal runs `rrr local` to its end and returns its exit code, its
// stderr, and the taskset the results store kept.
func runLocal(t testing.TB, bin, results string, args ...string) (int, string, *model.Snapshot) {
	t.Helper()
	return runLocalEnv(t, nil, bin, results, args...)
}

// runLocalEnv is runLocal with more environment variables.
func runLocalEnv(t testing.TB, env []string, bin, results string, args ...string) (int, string, *model.Snapshot) {
	t.Helper()
	p := spawnEnv(t, env, bin, append([]string{"local", "--results-dir", results}, args...)...)
	code := p.exit(t, 90*time.Second)
	out := p.stderr.String()
	ids, err := store.List(results)
	require.NoError(t, err)
	var latest *model.Snapshot
	for _, id := range ids {
		if !strings.Contains(out, id) {
			continue
		}
		latest, err = store.Read(results, id)
		require.NoError(t, err, out)
	}
	return code, out, latest
}

func TestLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	bin := build(t)

	t.Run("passing, failing, flaky and timing out in one run", func(t *testing.T) {
		dir := suite(t, filepath.Join(t.TempDir(), "flaky-marker"))
		results, report := t.TempDir(), filepath.Join(t.TempDir(), "report.xml")
		code, out, s := runLocal(t, bin, results, "--slaves", "2", "--max-trials", "2", "--unknown-spec-timeout", "2",
			"--junit", report, "--dir", dir, "pass/*.sh", "fail/bad.sh", "flaky/f.sh", "slow/hang.sh")
		require.Equal(t, 1, code, out)
		require.Contains(t, out, "failed specs (2):")
		require.Contains(t, out, "flaky specs (1)")
		require.NotNil(t, s, "the run is in the results store:\n%s", out)
		require.Equal(t, "failed", s.Status)
		require.Equal(t, 2, s.FailedCount)
		require.Equal(t, 3, s.SucceededCount)
		final := map[string]string{}
		for _, task := range s.Tasks {
			final[task.SpecFile] = task.Status + "/" + model.FinalTrial(task).Status
		}
		require.Equal(t, map[string]string{
			"pass/a.sh": "passed/passed", "pass/b.sh": "passed/passed", "flaky/f.sh": "passed/passed",
			"fail/bad.sh": "failed/failed", "slow/hang.sh": "failed/timeout",
		}, final)

		doc := readJUnit(t, report)
		require.Equal(t, 2, doc.Failures)
		var flaky bool
		for _, suite := range doc.Suites {
			for _, p := range suite.Properties {
				flaky = flaky || (p == junit.Property{Name: junit.PropFlaky, Value: "true"} && suite.Name == "flaky/f.sh")
			}
		}
		require.True(t, flaky, "the flaky spec is marked in the JUnit report")
	})

	t.Run("estimates of one run order the next", func(t *testing.T) {
		dir := project(t, map[string]string{
			// the bigger file runs first while nothing is known
			"quick.sh": "# a long comment makes this the bigger file\nexit 0\n",
			"slow.sh":  "sleep 0.5\n",
			".rrr.yml": "trial-command: sh {file}\nformat: exit-code\n",
		})
		results := t.TempDir()
		order := func(s *model.Snapshot) []string {
			var specs []string
			for _, task := range s.Tasks {
				specs = append(specs, task.SpecFile)
			}
			return specs
		}
		code, out, first := runLocal(t, bin, results, "--slaves", "1", "--dir", dir, "slow.sh", "quick.sh")
		require.Equal(t, 0, code, out)
		require.Equal(t, []string{"quick.sh", "slow.sh"}, order(first), "no estimates: the largest file first")
		require.Nil(t, first.Tasks[1].EstimateSec)

		code, out, second := runLocal(t, bin, results, "--slaves", "1", "--dir", dir, "slow.sh", "quick.sh")
		require.Equal(t, 0, code, out)
		require.Equal(t, []string{"slow.sh", "quick.sh"}, order(second), "estimates: longest first, whatever the sizes")
		require.NotNil(t, second.Tasks[0].EstimateSec)
		require.Equal(t, 1, *second.Tasks[0].EstimateSec, "0.5 s rounds up to a whole second")
	})

	// {file} means to the trial's command what the spec meant to the person
	// (issue 19 item 8, issue 12 item 5); "--" ends the options.
	t.Run("specs reach the trial as paths", func(t *testing.T) {
		dir := project(t, map[string]string{"-n.sh": "echo ran\n", "a.sh": "exit 0\n"})
		code, out, s := runLocal(t, bin, t.TempDir(), "--slaves", "1", "--dir", dir, "--trial-command", "sh {file}",
			"--format", "exit-code", "--", "-n.sh", "a.sh")
		require.Equal(t, 0, code, out)
		require.Equal(t, "-n.sh", s.Tasks[0].SpecFile, "the task id is the spec")
		require.Equal(t, "ran\n", s.Tasks[0].Trials[0].Stdout)
		code, out, _ = runLocal(t, bin, t.TempDir(), "--dir", dir, "--trial-command", "sh {file}", "a.sh", "-n.sh")
		require.Equal(t, 2, code, out)
		require.Contains(t, out, `"-n.sh" looks like a flag after an argument`)

		mod := project(t, map[string]string{
			"go.mod":          "module example.com/m\n\ngo 1.21\n",
			"cases/a_test.go": "package cases\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n",
		})
		code, out, s = runLocal(t, bin, t.TempDir(), "--slaves", "1", "--dir", mod, "--format", "go-test-json",
			"--trial-command", "go test -count=1 -json {file}", "./cases")
		require.Equal(t, 0, code, out)
		require.Equal(t, "cases", s.Tasks[0].SpecFile)
		require.Equal(t, 1, s.Tasks[0].Trials[0].Passed, "the package of the project ran, not a standard library one")
	})

	// What a test prints, and what a spec is named, never reaches a
	// terminal or a CI log as control characters (issue 19, item 11).
	t.Run("terminal escapes are printed escaped", func(t *testing.T) {
		spec := "esc\x1b[31m.sh"
		dir := project(t, map[string]string{spec: `printf 'before\033[2J\033]0;title\007nul\000after\n'; exit 1` + "\n"})
		results := t.TempDir()
		code, out, s := runLocal(t, bin, results, "--slaves", "1", "--max-trials", "1", "--dir", dir,
			"--trial-command", "sh {file}", "--format", "exit-code", spec)
		require.Equal(t, 1, code, out)
		require.Equal(t, "before\x1b[2J\x1b]0;title\anul\x00after\n", s.Tasks[0].Trials[0].Stdout, "kept raw in Redis and the store")
		// the progress lines and the summary of `rrr local`
		require.NotContains(t, out, "\x1b")
		require.NotContains(t, out, "\x00")
		require.NotContains(t, out, "\a")
		require.Contains(t, out, `before\x1b[2J\x1b]0;title\x07nul\x00after`)
		require.Contains(t, out, `esc\x1b[31m.sh`)
		for _, args := range [][]string{{"--show-errors"}, {"--verbose"}} {
			code, stdout, stderr := rrr(t, append(append([]string{"show"}, args...), "--results-dir", results, s.ID)...)
			require.Equal(t, 1, code, stderr)
			for _, text := range []string{stdout, stderr} {
				require.NotContains(t, text, "\x1b", args)
				require.NotContains(t, text, "\x00", args)
			}
			require.Contains(t, stdout, `esc\x1b[31m.sh`, args)
			if args[0] == "--show-errors" {
				require.Contains(t, stdout, `before\x1b[2J\x1b]0;title\x07nul\x00after`)
			}
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		dir := project(t, map[string]string{"a.sh": ""})
		for _, args := range [][]string{
			{"--dir", dir, "--trial-command", "sh {file}", "nothing/*.sh"},
			{"--dir", dir, "--trial-command", "sh {file}", "a.sh", "--slaves", "2"},
			{"--dir", dir, "--trial-command", "sh {file}", "--slaves", "0", "a.sh"},
			{"--dir", dir, "../outside.sh"},
		} {
			code, out, _ := runLocal(t, bin, t.TempDir(), args...)
			require.Equal(t, 2, code, "%v: %s", args, out)
		}
	})
}

// A suite of thousands of spec files on the embedded Redis: its TTLs run
// on a clock of their own, not on every command (which sorted every key
// each time, and a run of 3,000 no-op specs never finished).
func TestLocalThousandsOfSpecs(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	bin := build(t)
	files := map[string]string{}
	for i := range 2000 {
		files[fmt.Sprintf("specs/s%04d.sh", i)] = ""
	}
	dir := project(t, files)
	code, out, s := runLocal(t, bin, t.TempDir(), "--slaves", "4", "--dir", dir, "--format", "exit-code",
		"--trial-command", "true {file}", "specs/*.sh")
	require.Equal(t, 0, code, out)
	require.NotNil(t, s, out)
	require.Equal(t, 2000, s.SucceededCount)
}

// The embedded Redis's clock lets a TTL run out as time passes, as a
// heartbeat's does on a real Redis.
func TestMiniClockExpiresKeys(t *testing.T) {
	m := miniredis.NewMiniRedis()
	require.NoError(t, m.Start())
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = miniClock{m}.Run(ctx) }()
	require.NoError(t, m.Set("beat", "alive"))
	m.SetTTL("beat", 300*time.Millisecond)
	require.True(t, m.Exists("beat"))
	require.Eventually(t, func() bool { return !m.Exists("beat") }, 5*time.Second, 50*time.Millisecond)
}
