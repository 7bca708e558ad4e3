package junit_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/junit"
	"github.com/rrr-dev/rrr/pkg/model"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func tr(key, status string, d time.Duration, cases ...model.Case) model.Trial {
	return model.Trial{Key: key, Status: status, Slave: "w1:slave:1", StartedAt: model.Time{Time: t0},
		FinishedAt: model.Time{Time: t0.Add(d)}, Report: cases, Stdout: "out of " + key + "\n", Stderr: "err of " + key + "\n"}
}

// later moves a trial d later.
func later(t model.Trial, d time.Duration) model.Trial {
	t.StartedAt.Time = t.StartedAt.Add(d)
	t.FinishedAt.Time = t.FinishedAt.Add(d)
	return t
}

// run is a finished taskset with one spec of each kind.
func run() *model.Snapshot {
	code := 1
	noReport := tr("t-noreport", "failed", 2*time.Second)
	noReport.ExitCode = &code
	return &model.Snapshot{
		Taskset: model.Taskset{Key: "rrrspec:taskset:x", ID: "x", Status: "failed", CreatedAt: model.Time{Time: t0},
			FinishedAt: model.Time{Time: t0.Add(time.Minute)}},
		Tasks: []model.Task{
			{SpecFile: "spec/pass_spec.rb", Status: "passed", Trials: []model.Trial{
				tr("t-pass", "passed", 3*time.Second,
					model.Case{Name: "works", Classname: "Pass", Status: "passed", TimeSec: 1.5},
					model.Case{Name: "later", Classname: "Pass", Status: "pending", Message: "not yet"})}},
			{SpecFile: "spec/fail_spec.rb", Status: "failed", Trials: []model.Trial{
				tr("t-fail1", "failed", time.Second, model.Case{Name: "adds", Classname: "Calc", Status: "failed", Message: "expected 2\ngot 3"}),
				tr("t-fail2", "failed", time.Second,
					model.Case{Name: "adds", Classname: "Calc", Status: "failed", Message: "expected 2\ngot 4"},
					model.Case{Name: "subtracts", Classname: "Calc", Status: "passed"})}},
			{SpecFile: "spec/flaky_spec.rb", Status: "passed", Trials: []model.Trial{
				tr("t-flaky1", "failed", time.Second,
					model.Case{Name: "races", Classname: "Flaky", Status: "failed", Message: "lost the race"},
					model.Case{Name: "steady", Classname: "Flaky", Status: "passed"}),
				later(tr("t-flaky2", "passed", time.Second,
					model.Case{Name: "races", Classname: "Flaky", Status: "passed"},
					model.Case{Name: "steady", Classname: "Flaky", Status: "passed"}), time.Second)}},
			{SpecFile: "spec/slow_spec.rb", Status: "passed", Trials: []model.Trial{
				tr("t-slow1", "timeout", 10*time.Second), later(tr("t-slow2", "passed", 4*time.Second), 10*time.Second)}},
			{SpecFile: "pkg/api", Status: "failed", Trials: []model.Trial{noReport}},
			{SpecFile: "spec/never_spec.rb", Status: "", Trials: []model.Trial{}},
		},
	}
}

func parse(t *testing.T, s *model.Snapshot) junit.Testsuites {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, junit.Write(&buf, s))
	require.True(t, strings.HasPrefix(buf.String(), xml.Header))
	var doc junit.Testsuites
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &doc), buf.String())
	return doc
}

func prop(ts junit.Testsuite, name string) string {
	for _, p := range ts.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func TestReport(t *testing.T) {
	doc := parse(t, run())
	require.Equal(t, "rrr x", doc.Name)
	require.Len(t, doc.Suites, 6, "one suite per spec")
	require.Equal(t, "60.000", doc.Time)
	// cases: pass 2, fail 2, flaky 2, slow 1, api 1, never 1
	require.Equal(t, 9, doc.Tests)
	require.Equal(t, 2, doc.Failures, "Calc adds, pkg/api")
	require.Equal(t, 0, doc.Errors)
	require.Equal(t, 2, doc.Skipped, "a pending case and the spec that never ran")

	byName := map[string]junit.Testsuite{}
	for _, s := range doc.Suites {
		byName[s.Name] = s
		sum := 0
		for range s.Cases {
			sum++
		}
		require.Equal(t, sum, s.Tests, s.Name)
	}

	pass := byName["spec/pass_spec.rb"]
	require.Equal(t, "3.000", pass.Time)
	require.Equal(t, "1.500", pass.Cases[0].Time)
	require.Nil(t, pass.Cases[0].Failure)
	require.Equal(t, "not yet", pass.Cases[1].Skipped.Message)
	require.Nil(t, pass.SystemOut, "no output for passing specs")
	require.Equal(t, "t-pass", prop(pass, junit.PropTrial))

	fail := byName["spec/fail_spec.rb"]
	require.Equal(t, 1, fail.Failures)
	require.Equal(t, "expected 2", fail.Cases[0].Failure.Message)
	require.Equal(t, "expected 2\ngot 4", fail.Cases[0].Failure.Text, "from the final trial")
	require.Equal(t, "out of t-fail2\n", fail.SystemOut.Data)
	require.Equal(t, "err of t-fail2\n", fail.SystemErr.Data)
	require.Equal(t, "2", prop(fail, junit.PropTrials))
	require.Equal(t, "failed", prop(fail, junit.PropStatus))
	require.Empty(t, prop(fail, junit.PropFlaky))

	flaky := byName["spec/flaky_spec.rb"]
	require.Equal(t, "true", prop(flaky, junit.PropFlaky))
	require.Equal(t, 0, flaky.Failures, "a flaky spec passed")
	require.Equal(t, "races", flaky.Cases[0].Name)
	require.Len(t, flaky.Cases[0].FlakyFailures, 1, "the case that failed before is marked")
	require.Equal(t, "lost the race", flaky.Cases[0].FlakyFailures[0].Message)
	require.Empty(t, flaky.Cases[1].FlakyFailures, "the steady case is not")

	slow := byName["spec/slow_spec.rb"]
	require.Equal(t, "true", prop(slow, junit.PropFlaky))
	require.Len(t, slow.Cases, 1, "no report: one case for the spec")
	require.Equal(t, "spec/slow_spec.rb", slow.Cases[0].Name)
	require.Nil(t, slow.Cases[0].Failure)
	require.Len(t, slow.Cases[0].FlakyErrors, 1, "a timeout before passing")
	require.Equal(t, "timeout", slow.Cases[0].FlakyErrors[0].Type)
	require.Equal(t, "out of t-slow1\n", slow.Cases[0].FlakyErrors[0].SystemOut.Data)

	api := byName["pkg/api"]
	require.Equal(t, 1, api.Failures)
	require.Equal(t, "pkg.api", api.Cases[0].Classname)
	require.Contains(t, api.Cases[0].Failure.Message, "exit code 1")
	require.Contains(t, api.Cases[0].Failure.Text, "out of t-noreport")

	never := byName["spec/never_spec.rb"]
	require.Equal(t, 1, never.Skipped)
	require.Contains(t, never.Cases[0].Skipped.Message, "not run: the taskset was failed")
}

func TestReportOfAFailureNoCaseExplains(t *testing.T) {
	s := run()
	// timed out after the passing cases it reported: the spec still fails
	s.Tasks = []model.Task{{SpecFile: "spec/hang_spec.rb", Status: "failed", Trials: []model.Trial{
		tr("t-hang", "timeout", 30*time.Second, model.Case{Name: "quick", Classname: "Hang", Status: "passed"})}}}
	doc := parse(t, s)
	require.Equal(t, 2, doc.Tests)
	require.Equal(t, 1, doc.Failures)
	hang := doc.Suites[0].Cases[1]
	require.Equal(t, "spec/hang_spec.rb (trial)", hang.Name)
	require.Equal(t, "timeout", hang.Failure.Type)

	// a trial that could not run is an <error>
	s.Tasks = []model.Task{{SpecFile: "spec/gone_spec.rb", Status: "failed", Trials: []model.Trial{tr("t-gone", "error", 0)}}}
	s.Tasks[0].Trials[0].Error = "spec file not found"
	doc = parse(t, s)
	require.Equal(t, 1, doc.Errors)
	require.Contains(t, doc.Suites[0].Cases[0].Error.Message, "spec file not found")
}

func TestReportCapsOutputAndEscapes(t *testing.T) {
	s := run()
	big := strings.Repeat("0123456789abcdef\n", 4000) + "the end \x00\x1b[31m<&>\n"
	s.Tasks[1].Trials[1].Stdout = big
	doc := parse(t, s)
	out := doc.Suites[1].SystemOut.Data
	require.LessOrEqual(t, len(out), junit.OutputCap+100)
	require.True(t, strings.HasPrefix(out, "[rrr: "), "says what was cut")
	require.True(t, strings.HasSuffix(out, "the end \uFFFD<&>\n"), "NUL replaced, colours dropped, markup kept: %q", out[len(out)-30:])

	// "]]>" cannot end a CDATA section early
	s.Tasks[1].Trials[1].Stdout = "a ]]> b"
	require.Equal(t, "a ]]> b", parse(t, s).Suites[1].SystemOut.Data)
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	require.NoError(t, junit.WriteFile(path, run()))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc junit.Testsuites
	require.NoError(t, xml.Unmarshal(b, &doc))
	require.Len(t, doc.Suites, 6)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	require.Error(t, junit.WriteFile(filepath.Join(t.TempDir(), "no", "dir.xml"), run()))
}

// A quarantined spec that failed keeps its failure in the report, with
// the reason as the suite property rrr.quarantined.
func TestQuarantinedSpecIsMarked(t *testing.T) {
	s := run()
	s.Tasks[1].Quarantined = "flaky on CI, #123"
	doc := junit.Build(s)
	var found bool
	for _, suite := range doc.Suites {
		var q string
		for _, p := range suite.Properties {
			if p.Name == junit.PropQuarantined {
				q = p.Value
			}
		}
		if suite.Name != "spec/fail_spec.rb" {
			require.Empty(t, q, suite.Name)
			continue
		}
		found = true
		require.Equal(t, "flaky on CI, #123", q)
		require.Equal(t, 1, suite.Failures, "the failure stays visible")
	}
	require.True(t, found)
}
