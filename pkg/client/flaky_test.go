package client_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

func TestFlakiestRanksByFlakyThenFailureRate(t *testing.T) {
	history := map[string]string{
		"steady_spec.rb":  "PPPPPPPPPP",
		"flaky_spec.rb":   "PPPPPFPPFP", // 2 flaky in 10, both recent
		"flakier_spec.rb": "FFPP",       // 2 flaky in 4
		"broken_spec.rb":  "XXXXPPPPPP", // failed only
		"old_spec.rb":     "FFFFFPPPPP", // flaky long ago
		"crash_spec.rb":   "EEPP",       // errors are not the test's
	}
	got := client.Flakiest(history, 0, 0)
	var names []string
	for _, f := range got {
		names = append(names, f.Spec)
	}
	require.Equal(t, []string{"flakier_spec.rb", "old_spec.rb", "flaky_spec.rb", "broken_spec.rb"}, names)
	require.Equal(t, client.FlakySpec{Spec: "flakier_spec.rb", Runs: 4, Flaky: 2, FlakyRate: 0.5, History: "FFPP"}, got[0])
	require.InDelta(t, 0.4, got[3].FailRate, 1e-9)

	recent := client.Flakiest(history, 5, 2)
	require.Len(t, recent, 2, "--limit")
	require.Equal(t, "flakier_spec.rb", recent[0].Spec)
	require.Equal(t, "flaky_spec.rb", recent[1].Spec, "over the last 5 runs old_spec.rb was never flaky, flaky_spec.rb twice")
	require.Equal(t, "PPPPP", client.Flakiest(map[string]string{"x": "FPPPPP"}, 0, 0)[0].History[1:])

	var out bytes.Buffer
	recent[0].Quarantined = "known, #1"
	client.WriteFlaky(&out, "default", recent)
	require.Contains(t, out.String(), "flakier_spec.rb  4     50% (2)")
	require.Contains(t, out.String(), "yes: known, #1")
	out.Reset()
	client.WriteFlaky(&out, "web", nil)
	require.Equal(t, "no spec of class \"web\" was flaky or failed in its recorded runs\n", out.String())
}

// A quarantined spec that failed: the taskset succeeded, the summary lists
// it apart with the reason and its failure.
func TestSummaryOfAQuarantinedFailure(t *testing.T) {
	s := snapshot("succeeded",
		task("a_spec.rb", "passed", nil, trial("passed", 0, 10*time.Second, "s1")),
		task("q_spec.rb", "failed", nil, trial("failed", 0, 5*time.Second, "s1")),
	)
	s.Tasks[1].Quarantined = "flaky on CI, #123"
	s.FailedCount, s.QuarantinedFailedCount, s.SucceededCount = 1, 1, 1
	s.FinishedAt = at(20 * time.Second)
	o := &client.Outcome{Key: s.Key, Snapshot: s, Verdict: model.VerdictOf(s.Taskset)}
	require.Equal(t, model.Succeeded, o.Verdict)
	var out bytes.Buffer
	client.WriteSummary(&out, o, client.SummaryOptions{})
	text := out.String()
	require.Contains(t, text, "succeeded: 2 specs, 1 passed, 1 failed in quarantine")
	require.Contains(t, text, "quarantined specs that failed (1); they do not fail the taskset:")
	require.Contains(t, text, "== q_spec.rb: failed after 1 trial(s)\n   quarantined: flaky on CI, #123\n")
	require.NotContains(t, text, "\nfailed specs")
	require.Equal(t, client.Counts{Total: 2, Passed: 1, Quarantined: 1}, client.CountSpecs(s))

	out.Reset()
	client.WriteShow(&out, s, client.ShowOptions{})
	require.Contains(t, out.String(), "1 failed in quarantine (not failing the taskset)")
	require.Contains(t, out.String(), "quarantined: flaky on CI, #123")

	// A failure that is not quarantined beside it fails the taskset.
	s.Status, s.FailedCount = schema.StatusFailed, 2
	require.Equal(t, model.TestsFailed, model.VerdictOf(s.Taskset))
	s.FailedCount, s.ErrorCount = 2, 1
	require.Equal(t, model.Infra, model.VerdictOf(s.Taskset), "the other one only errored")
}
