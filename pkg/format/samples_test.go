package format

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// wantCase is a case a sample must contain; Message lists substrings.
type wantCase struct {
	Name, Classname, File, Status string
	Message                       []string
}

// The samples were written by the real tools (testdata/gen.sh).
var samples = []struct {
	file                    string
	format                  string
	passed, pending, failed int
	cases                   []wantCase
	absent                  []string // names that must not be cases
}{
	{file: "rspec.json", format: schema.FormatRSpecJSON, passed: 1, pending: 2, failed: 1, cases: []wantCase{
		{Name: "Calculator subtracts wrongly", File: "./spec/sample_spec.rb", Status: schema.StatusFailed,
			Message: []string{"expected: 1", "got: 2", "spec/sample_spec.rb:7"}},
		{Name: "Calculator multiplies, some day", File: "./spec/sample_spec.rb", Status: schema.StatusPending,
			Message: []string{"not implemented"}},
		{Name: "Calculator divides", File: "./spec/sample_spec.rb", Status: schema.StatusPending,
			Message: []string{"Temporarily skipped with xit"}},
		{Name: "Calculator adds", File: "./spec/sample_spec.rb", Status: schema.StatusPassed},
	}},
	{file: "rspec-load-error.json", format: schema.FormatRSpecJSON, failed: 1, cases: []wantCase{
		{Name: "errors outside of examples", Status: schema.StatusFailed,
			Message: []string{"An error occurred while loading ./spec/broken_spec.rb", "undefined_method_at_load_time"}},
	}},
	{file: "rspec-junit.xml", format: schema.FormatJUnit, passed: 1, pending: 2, failed: 1, cases: []wantCase{
		{Name: "Calculator subtracts wrongly", Classname: "spec.sample_spec", File: "./spec/sample_spec.rb",
			Status: schema.StatusFailed, Message: []string{"expected: 1", "got: 2", "sample_spec.rb:7"}},
		{Name: "Calculator divides", Classname: "spec.sample_spec", File: "./spec/sample_spec.rb", Status: schema.StatusPending},
		{Name: "Calculator adds", Classname: "spec.sample_spec", File: "./spec/sample_spec.rb", Status: schema.StatusPassed},
	}},
	{file: "pytest.xml", format: schema.FormatJUnit, passed: 3, pending: 2, failed: 2, cases: []wantCase{
		{Name: "test_fails", Classname: "test_sample", Status: schema.StatusFailed,
			Message: []string{"AssertionError: arithmetic is broken", "test_sample.py:7"}},
		{Name: "test_setup_error", Classname: "test_sample", Status: schema.StatusFailed,
			Message: []string{`failed on setup with "RuntimeError: fixture exploded"`}},
		{Name: "test_skipped", Classname: "test_sample", Status: schema.StatusPending, Message: []string{"no network here"}},
		{Name: "test_xfail", Classname: "test_sample", Status: schema.StatusPending, Message: []string{"known bug"}},
		{Name: "test_param[2]", Classname: "test_sample", Status: schema.StatusPassed},
	}},
	{file: "gotest-ok.json", format: schema.FormatGoTestJSON, passed: 3, pending: 2, failed: 3, cases: []wantCase{
		{Name: "TestFails", Classname: "example.com/sample/ok", Status: schema.StatusFailed,
			Message: []string{"ok_test.go:8: about to compare", "ok_test.go:9: got 2, want 3"}},
		{Name: "TestTable/large", Classname: "example.com/sample/ok", Status: schema.StatusFailed, Message: []string{"too large"}},
		{Name: "TestParentOnly", Classname: "example.com/sample/ok", Status: schema.StatusFailed, Message: []string{"parent check failed"}},
		{Name: "TestSkipped", Classname: "example.com/sample/ok", Status: schema.StatusPending, Message: []string{"needs a database"}},
		{Name: "TestTable/skipped", Classname: "example.com/sample/ok", Status: schema.StatusPending, Message: []string{"later"}},
		{Name: "TestParentOnly/fine", Classname: "example.com/sample/ok", Status: schema.StatusPassed},
	}, absent: []string{"TestTable"}},
	{file: "gotest-broken.json", format: schema.FormatGoTestJSON, failed: 1, cases: []wantCase{
		{Name: "example.com/sample/broken", Classname: "example.com/sample/broken", Status: schema.StatusFailed,
			Message: []string{`broken_test.go:5:49: cannot use "nope"`, "[build failed]"}},
	}},
	{file: "gotest-crash.json", format: schema.FormatGoTestJSON, passed: 1, failed: 1, cases: []wantCase{
		{Name: "TestExits", Classname: "example.com/sample/crash", Status: schema.StatusFailed,
			Message: []string{"crash_test.go:13: leaving", "did not finish", "FAIL\texample.com/sample/crash"}},
		{Name: "TestFirst", Classname: "example.com/sample/crash", Status: schema.StatusPassed},
	}, absent: []string{"example.com/sample/crash"}},
	{file: "tap-sample.tap", format: schema.FormatTAP, passed: 2, pending: 2, failed: 1, cases: []wantCase{
		{Name: "adds wrongly", Status: schema.StatusFailed},
		{Name: "test 3", Status: schema.StatusPending, Message: []string{"no network"}},
		{Name: "todo test", Status: schema.StatusPending, Message: []string{"not done", "Failed (TODO) test 'todo test'"}},
		{Name: "grouped", Status: schema.StatusPassed},
	}, absent: []string{"inner one"}},
	{file: "prove-sample.txt", format: schema.FormatTAP, passed: 2, pending: 2, failed: 1, cases: []wantCase{
		{Name: "adds wrongly", Status: schema.StatusFailed,
			Message: []string{"Failed test 'adds wrongly'", "got: '2'", "expected: '3'"}},
	}},
	{file: "tap-bail.tap", format: schema.FormatTAP, passed: 1, failed: 1, cases: []wantCase{
		{Name: "Bail out!", Status: schema.StatusFailed, Message: []string{"database is gone"}},
		{Name: "connects", Status: schema.StatusPassed},
	}, absent: []string{"TAP plan"}},
	{file: "tap-died.tap", format: schema.FormatTAP, passed: 1, failed: 1, cases: []wantCase{
		{Name: "TAP plan", Status: schema.StatusFailed, Message: []string{"planned 3 tests but 1 ran", `"first"`}},
	}},
}

func readSample(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err, "run testdata/gen.sh to regenerate the samples")
	return b
}

func TestSamples(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			report := readSample(t, s.file)
			require.Equal(t, s.format, Detect(report, nil), "Detect of the report")

			o, err := Parse(s.format, report, nil)
			require.NoError(t, err)
			require.Equal(t, s.format, o.Format)
			require.Equal(t, [3]int{s.passed, s.pending, s.failed}, [3]int{o.Passed, o.Pending, o.Failed},
				"passed, pending, failed")
			require.Len(t, o.Cases, s.passed+s.pending+s.failed)
			requireOrdered(t, o.Cases)
			for _, w := range s.cases {
				requireCase(t, o.Cases, w)
			}
			for _, name := range s.absent {
				for _, c := range o.Cases {
					require.NotEqual(t, name, c.Name, "%s must not be a case", name)
				}
			}

			auto, err := Parse(schema.FormatAuto, report, nil)
			require.NoError(t, err)
			require.Equal(t, o, auto, "auto reads the report as %s", s.format)
		})
	}
}

// TestSamplesOnStdout: a trial that prints its report and writes no file.
func TestSamplesOnStdout(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			stdout := readSample(t, s.file)
			want := s.format
			if s.format == schema.FormatJUnit {
				want = schema.FormatExitCode // JUnit is only read from the report file
			}
			require.Equal(t, want, Detect(nil, stdout))
			o, err := Parse(schema.FormatAuto, []byte("\n"), stdout)
			require.NoError(t, err)
			require.Equal(t, want, o.Format)
			if want != schema.FormatExitCode {
				require.Equal(t, s.failed, o.Failed)
				named, err := Parse(s.format, nil, stdout)
				require.NoError(t, err)
				require.Equal(t, o, named)
			}
		})
	}
}

func requireCase(t *testing.T, cases []model.Case, w wantCase) {
	t.Helper()
	for _, c := range cases {
		if c.Name != w.Name {
			continue
		}
		require.Equal(t, w.Status, c.Status, "status of %s", w.Name)
		require.Equal(t, w.Classname, c.Classname, "classname of %s", w.Name)
		require.Equal(t, w.File, c.File, "file of %s", w.Name)
		for _, m := range w.Message {
			require.Contains(t, c.Message, m, "message of %s", w.Name)
		}
		if len(w.Message) == 0 && w.Status == schema.StatusPassed {
			require.Empty(t, c.Message, "a passed case has no message")
		}
		return
	}
	require.Failf(t, "case missing", "no case named %q in %+v", w.Name, cases)
}

// requireOrdered checks failed cases come first, then pending, then passed.
func requireOrdered(t *testing.T, cases []model.Case) {
	t.Helper()
	rank := map[string]int{schema.StatusFailed: 0, schema.StatusPending: 1, schema.StatusPassed: 2}
	for i := 1; i < len(cases); i++ {
		r, ok := rank[cases[i].Status]
		require.True(t, ok, "status %q", cases[i].Status)
		require.LessOrEqual(t, rank[cases[i-1].Status], r, "case %d (%s) out of order", i, cases[i].Name)
	}
}
