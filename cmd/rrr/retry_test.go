package main

// End-to-end: a CI job retried after a red run reruns only what was red,
// found by the CI's build id (rrr start --rerun-failed auto, --retry-of).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rrrEnv runs a client command of the fleet with more environment variables.
func (f *e2eFleet) rrrEnv(t *testing.T, env []string, args ...string) (int, *proc) {
	t.Helper()
	p := spawnEnv(t, env, f.bin, append(f.global, args...)...)
	return p.exit(t, 90*time.Second), p
}

func TestE2ECIRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	f := startFleet(t)
	fixed := filepath.Join(t.TempDir(), "fixed")
	dir := project(t, map[string]string{
		"pass/a.sh": "echo 1..1; echo 'ok 1 - adds'\n",
		"pass/b.sh": "echo 1..1; echo 'ok 1 - multiplies'\n",
		// red until the test "fixes" it, whichever slave runs it
		"red/x.sh": "echo 1..1; if [ -e " + fixed + " ]; then echo 'ok 1 - x'; else echo 'not ok 1 - x'; exit 1; fi\n",
		".rrr.yml": "trial-command: sh {file}\nformat: tap\nrsync-name: ci\nmax-trials: 1\ntaskset-class: retry\nspecs: ['pass/*.sh', 'red/x.sh']\n",
	})
	// What GitHub Actions sets; GitLab's CI_* are cleared, should the tests run there.
	attempt := func(n string) []string {
		return []string{"GITHUB_RUN_ID=777", "GITHUB_JOB=test", "GITHUB_RUN_ATTEMPT=" + n, "CI_PIPELINE_ID=", "RRR_BUILD_ID="}
	}
	noCI := []string{"GITHUB_RUN_ID=", "CI_PIPELINE_ID=", "RRR_BUILD_ID="}

	code, p := f.rrrEnv(t, attempt("1"), "start", "--wait", "--rerun-failed", "auto", "--dir", dir)
	require.Equal(t, 1, code, p.stderr.String())
	require.Contains(t, p.stderr.String(), "--rerun-failed auto: no earlier taskset of build 777-test: running every spec")
	first := strings.TrimSpace(p.stdout.String())
	s := f.show(t, first)
	require.Len(t, s.Tasks, 3)
	require.Equal(t, "777-test", s.BuildID)

	require.NoError(t, os.WriteFile(fixed, nil, 0o644))
	code, p = f.rrrEnv(t, attempt("2"), "start", "--wait", "--rerun-failed", "auto", "--dir", dir)
	require.Equal(t, 0, code, p.stderr.String())
	out := p.stderr.String()
	require.Contains(t, out, "retry of build 777-test: its latest taskset is "+first)
	require.Contains(t, out, "rerun of "+first+": 1 spec file(s) that did not pass there (1 failed); 2 that passed are skipped")
	require.Contains(t, out, "a rerun of "+first+" (build 777-test): only its spec files that did not pass")
	second := strings.TrimSpace(p.stdout.String())
	s = f.show(t, second)
	require.Len(t, s.Tasks, 1, "only the failure ran again")
	require.Equal(t, "red/x.sh", s.Tasks[0].SpecFile)
	require.Equal(t, first, s.RerunOf)
	require.Equal(t, "777-test", s.BuildID)

	// Outside CI, by the build id: the latest taskset of the build is the
	// green retry, so there is nothing left to run.
	code, p = f.rrrEnv(t, noCI, "start", "--wait", "--retry-of", "777-test", "--dir", dir)
	require.Equal(t, 0, code, p.stderr.String())
	require.Contains(t, p.stderr.String(), "retry of build 777-test: its latest taskset is "+second)
	require.Contains(t, p.stderr.String(), "nothing to rerun: every spec file of "+second+" passed (1)")
	require.Empty(t, strings.TrimSpace(p.stdout.String()), "no taskset created")

	code, p = f.rrrEnv(t, noCI, "start", "--retry-of", "778-test", "--dir", dir)
	require.Equal(t, 4, code, p.stderr.String())
	require.Contains(t, p.stderr.String(), "--retry-of 778-test: taskset not found: no taskset of that build")
	code, p = f.rrrEnv(t, noCI, "start", "--retry-of", "777-test", "--dir", dir, "pass/a.sh")
	require.Equal(t, 2, code, "SPECs and --retry-of: %s", p.stderr.String())
}
