package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/junit"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

// Quarantine and the flaky history through the command line, on a fleet:
// a quarantined spec's failure does not fail the taskset and is marked in
// the summary, `rrr show`, the JUnit report and the results store; the
// persister records the outcomes that `rrr flaky` ranks; a removed or
// expired entry no longer applies.
func TestQuarantineAndFlakyHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	f := startFleet(t)
	dir := suite(t, filepath.Join(t.TempDir(), "flaky-marker"))
	report := filepath.Join(t.TempDir(), "report.xml")
	class := []string{"--taskset-class", "qa"}

	code, p := f.rrr(t, append(append([]string{"quarantine", "add"}, class...), "--reason", "breaks on CI, #7", "--expires", "14d", "fail/bad.sh")...)
	require.Equal(t, 0, code, p.stderr.String())
	require.Contains(t, p.stdout.String(), "quarantined fail/bad.sh (class qa) until ")
	code, p = f.rrr(t, append([]string{"quarantine", "add", "--expires", "1d"}, "fail/bad.sh")...)
	require.Equal(t, 2, code, "--reason is required: %s", p.stderr.String())
	require.Contains(t, p.stderr.String(), "--reason is required")

	code, p = f.rrr(t, append(append([]string{"quarantine", "list"}, class...), "--json")...)
	require.Equal(t, 0, code, p.stderr.String())
	var listed []schema.Quarantined
	require.NoError(t, json.Unmarshal([]byte(p.stdout.String()), &listed), p.stdout.String())
	require.Len(t, listed, 1)
	require.Equal(t, "fail/bad.sh", listed[0].Spec)
	require.Equal(t, "breaks on CI, #7", listed[0].Reason)
	require.False(t, listed[0].Expired)
	require.InDelta(t, float64(14*24*time.Hour), float64(listed[0].ExpiresAt.Sub(listed[0].AddedAt)), float64(time.Second))
	code, p = f.rrr(t, "quarantine", "list")
	require.Equal(t, 0, code, p.stderr.String())
	require.Contains(t, p.stdout.String(), `no spec of class "default" is in quarantine`, "classes are apart")

	// The quarantined spec fails; the taskset succeeds.
	args := append(append([]string{"start", "--wait", "--junit", report, "--max-trials", "2"}, class...),
		"--dir", dir, "pass/a.sh", "fail/bad.sh", "flaky/f.sh")
	code, p = f.rrr(t, args...)
	out := p.stderr.String()
	require.Equal(t, 0, code, out)
	key := strings.TrimSpace(p.stdout.String())
	require.Contains(t, out, `quarantine: 1 spec file(s) of class "qa" run in quarantine`)
	require.Contains(t, out, key+" succeeded: 3 specs, 2 passed, 1 failed in quarantine, 1 flaky")
	require.Contains(t, out, "quarantined specs that failed (1); they do not fail the taskset:")
	require.Contains(t, out, "   quarantined: breaks on CI, #7\n")
	require.Contains(t, out, "it broke", "the failure is shown")

	s := f.show(t, key)
	require.Equal(t, "succeeded", s.Status)
	require.Equal(t, 1, s.FailedCount)
	require.Equal(t, 1, s.QuarantinedFailedCount)
	bad := taskOf(&s, "fail/bad.sh")
	require.Equal(t, "failed", bad.Status)
	require.Equal(t, "breaks on CI, #7", bad.Quarantined)
	require.Empty(t, taskOf(&s, "pass/a.sh").Quarantined)
	code, p = f.rrr(t, "show", key)
	require.Equal(t, 0, code, p.stderr.String())
	require.Contains(t, p.stdout.String(), "1 failed in quarantine (not failing the taskset)")
	require.Regexp(t, `failed\s+fail/bad.sh\s.*quarantined: breaks on CI, #7`, p.stdout.String())

	doc := readJUnit(t, report)
	require.Equal(t, 1, doc.Failures, "the quarantined failure stays visible")
	for _, suite := range doc.Suites {
		marked := false
		for _, prop := range suite.Properties {
			marked = marked || prop == junit.Property{Name: junit.PropQuarantined, Value: "breaks on CI, #7"}
		}
		require.Equal(t, suite.Name == "fail/bad.sh", marked, suite.Name)
	}

	// The persister stores the mark and records the history.
	id, _ := f.rdb.Keys.TasksetID(key)
	var ranked []client.FlakySpec
	require.Eventually(t, func() bool {
		code, p := f.rrr(t, append(append([]string{"flaky"}, class...), "--json")...)
		require.Equal(t, 0, code, p.stderr.String())
		ranked = nil
		require.NoError(t, json.Unmarshal([]byte(p.stdout.String()), &ranked), p.stdout.String())
		return len(ranked) == 2
	}, 30*time.Second, 100*time.Millisecond, "the persister records the outcomes")
	require.Equal(t, client.FlakySpec{Spec: "flaky/f.sh", Runs: 1, Flaky: 1, FlakyRate: 1, History: "F"}, ranked[0])
	require.Equal(t, client.FlakySpec{Spec: "fail/bad.sh", Runs: 1, Failed: 1, FailRate: 1, History: "X",
		Quarantined: "breaks on CI, #7"}, ranked[1])
	stored, err := store.Read(f.results, id)
	require.NoError(t, err)
	require.Equal(t, "breaks on CI, #7", taskOf(stored, "fail/bad.sh").Quarantined)
	require.Equal(t, 1, stored.QuarantinedFailedCount)

	code, p = f.rrr(t, append(append([]string{"flaky"}, class...), "--limit", "1")...)
	require.Equal(t, 0, code, p.stderr.String())
	require.Regexp(t, `flaky/f.sh\s+1\s+100% \(1\)\s+0% \(0\)`, p.stdout.String())
	require.NotContains(t, p.stdout.String(), "fail/bad.sh", "--limit 1")
	code, p = f.rrr(t, "flaky", "--runs", "0")
	require.Equal(t, 2, code, p.stderr.String())

	// Out of quarantine, the same failure fails the taskset: once removed,
	// and once its entry expired.
	code, p = f.rrr(t, append(append([]string{"quarantine", "remove"}, class...), "fail/bad.sh", "pass/b.sh")...)
	require.Equal(t, 0, code, p.stderr.String())
	require.Contains(t, p.stdout.String(), "removed fail/bad.sh from the quarantine of class qa")
	require.Contains(t, p.stderr.String(), "pass/b.sh was not in the quarantine of class qa")
	code, p = f.rrr(t, append(append([]string{"start", "--wait", "--max-trials", "1"}, class...), "--dir", dir, "fail/bad.sh")...)
	require.Equal(t, 1, code, p.stderr.String())

	code, p = f.rrr(t, append(append([]string{"quarantine", "add"}, class...), "--reason", "briefly", "--expires", "1", "fail/bad.sh")...)
	require.Equal(t, 0, code, p.stderr.String())
	require.Eventually(t, func() bool {
		code, p := f.rrr(t, append([]string{"quarantine", "list"}, class...)...)
		require.Equal(t, 0, code, p.stderr.String())
		return strings.Contains(p.stdout.String(), "expired ")
	}, 30*time.Second, 100*time.Millisecond, "the entry expires")
	code, p = f.rrr(t, append(append([]string{"start", "--wait", "--max-trials", "1"}, class...), "--dir", dir, "fail/bad.sh")...)
	require.Equal(t, 1, code, "an expired entry does not apply: %s", p.stderr.String())
	require.NotContains(t, p.stderr.String(), "in quarantine")
}
