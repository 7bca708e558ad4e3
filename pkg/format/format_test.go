package format

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

const goLines = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.5}
{"Action":"pass","Package":"p","Elapsed":0.6}
`

const rspecDoc = `{"version":"3.12.0","examples":[{"full_description":"a b","status":"passed"}],"summary":{"example_count":1}}`

func TestDetect(t *testing.T) {
	tests := []struct {
		name           string
		report, stdout string
		want           string
	}{
		{"junit after BOM and space", "\xef\xbb\xbf \n<?xml version=\"1.0\"?><testsuite/>", "", schema.FormatJUnit},
		{"junit bare", "<testsuites></testsuites>", goLines, schema.FormatJUnit},
		{"rspec", rspecDoc, "", schema.FormatRSpecJSON},
		{"json without examples", `{"version":"3","summary":{}}`, "", schema.FormatExitCode},
		{"go lines", goLines, "", schema.FormatGoTestJSON},
		{"go after noise", "# building\n" + goLines, "", schema.FormatGoTestJSON},
		{"tap version", "TAP version 14\n", "", schema.FormatTAP},
		{"tap plan", "1..3\n", "", schema.FormatTAP},
		{"tap not ok", "junk\nnot ok 1 - x\n", "", schema.FormatTAP},
		{"report garbage, stdout ignored", "garbage", goLines, schema.FormatExitCode},
		{"blank report reads stdout: go", " \n\t", goLines, schema.FormatGoTestJSON},
		{"empty report reads stdout: go", "", goLines, schema.FormatGoTestJSON},
		{"empty report reads stdout: tap", "", "t/a.t .. \nok 1 - a\n1..1\n", schema.FormatTAP},
		{"stdout rspec exactly", "", "\n" + rspecDoc + "\n", schema.FormatRSpecJSON},
		{"stdout rspec after noise", "", "hello\n" + rspecDoc, schema.FormatExitCode},
		{"stdout junit not read", "", "<testsuite/>", schema.FormatExitCode},
		{"stdout plain go test", "", "ok  \texample.com/p\t0.01s\n", schema.FormatExitCode},
		{"stdout bare ok", "", "ok\n", schema.FormatExitCode},
		{"stdout json without Action", "", `{"Test":"x"}`, schema.FormatExitCode},
		{"nothing", "", "", schema.FormatExitCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Detect([]byte(tt.report), []byte(tt.stdout)))
			o, err := Parse(schema.FormatAuto, []byte(tt.report), []byte(tt.stdout))
			if err != nil { // detected, but not readable as that format
				require.ErrorContains(t, err, tt.want+": report unreadable")
				return
			}
			require.Equal(t, tt.want, o.Format)
		})
	}
}

func TestParseExitCode(t *testing.T) {
	o, err := Parse(schema.FormatExitCode, []byte("<testsuite><testcase name='a'/></testsuite>"), []byte(goLines))
	require.NoError(t, err)
	require.Equal(t, Outcome{Format: schema.FormatExitCode}, o)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		format, report, stdout string
		is                     error
		says                   string
	}{
		{"bogus", "", "", schema.ErrInvalid, `result format "bogus"`},
		{"", "", "", schema.ErrInvalid, "want one of"},
		{schema.FormatJUnit, " \n", "<testsuite/>", ErrUnreadable, "junit: report unreadable: the report is empty"},
		{schema.FormatJUnit, "<html><body/></html>", "", ErrUnreadable, "root element is <html>"},
		{schema.FormatJUnit, "<testsuite><testcase name='a'>", "", ErrUnreadable, "cut short"},
		{schema.FormatJUnit, "not xml", "", ErrUnreadable, "no XML element"},
		{schema.FormatRSpecJSON, "", "", ErrUnreadable, "rspec-json: report unreadable: the report is empty"},
		{schema.FormatRSpecJSON, "{}", "", ErrUnreadable, `neither "examples" nor "summary"`},
		{schema.FormatRSpecJSON, "[1]", "", ErrUnreadable, "rspec --format json"},
		{schema.FormatRSpecJSON, `{"examples":[{"status":"passed"}`, "", ErrUnreadable, "examples"},
		{schema.FormatRSpecJSON, `{"examples":[]} {}`, "", ErrUnreadable, "more data after"},
		{schema.FormatRSpecJSON, `{"examples":{}}`, "", ErrUnreadable, "array was expected"},
		{schema.FormatRSpecJSON, `{"examples":[{"run_time":"slow"}]}`, "", ErrUnreadable, "examples"},
		{schema.FormatGoTestJSON, "", "", ErrUnreadable, "go-test-json: report unreadable: the report is empty"},
		{schema.FormatGoTestJSON, "", "PASS\nok  \tp\t0.1s\n", ErrUnreadable, "no go test -json events"},
		{schema.FormatTAP, "", "\n", ErrUnreadable, "tap: report unreadable: the report is empty"},
		{schema.FormatTAP, "hello\n# only a comment\n", "", ErrUnreadable, "no TAP plan"},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.says, func(t *testing.T) {
			_, err := Parse(tt.format, []byte(tt.report), []byte(tt.stdout))
			require.ErrorIs(t, err, tt.is)
			require.ErrorContains(t, err, tt.says)
		})
	}
}

// counts is passed, pending, failed.
type counts [3]int

func parseOK(t *testing.T, format, report string) Outcome {
	t.Helper()
	o, err := Parse(format, []byte(report), nil)
	require.NoError(t, err)
	requireSane(t, o)
	return o
}

func caseNamed(t *testing.T, o Outcome, name string) model.Case {
	t.Helper()
	for _, c := range o.Cases {
		if c.Name == name {
			return c
		}
	}
	require.Failf(t, "case missing", "no case %q in %+v", name, o.Cases)
	return model.Case{}
}

func TestJUnit(t *testing.T) {
	tests := []struct {
		name   string
		report string
		want   counts
		check  wantCase // a case the report must yield
		time   float64  // of check's case
	}{
		{"nested suites, suite file", `<testsuites><testsuite name="a"><testsuite name="b" file="b_test.rb">
			<testcase name="x" classname="B" time="0.25"/></testsuite>
			<testcase name="y"><error message="boom" type="RuntimeError">trace</error></testcase></testsuite></testsuites>`,
			counts{1, 0, 1}, wantCase{Name: "x", Classname: "B", File: "b_test.rb", Status: "passed"}, 0.25},
		{"error message and body", `<testsuite><testcase name="y"><error message="boom">at line 3</error></testcase></testsuite>`,
			counts{0, 0, 1}, wantCase{Name: "y", Status: "failed", Message: []string{"boom\n\nat line 3"}}, 0},
		{"failure beats skipped", `<testsuite><testcase name="z"><skipped/><failure message="late"/></testcase></testsuite>`,
			counts{0, 0, 1}, wantCase{Name: "z", Status: "failed", Message: []string{"late"}}, 0},
		{"type when no message", `<testsuite><testcase name="t"><failure type="AssertionError"/></testcase></testsuite>`,
			counts{0, 0, 1}, wantCase{Name: "t", Status: "failed", Message: []string{"AssertionError"}}, 0},
		{"two failures", `<testsuite><testcase name="t"><failure message="one"/><error message="two"/></testcase></testsuite>`,
			counts{0, 0, 1}, wantCase{Name: "t", Status: "failed", Message: []string{"one\n\ntwo"}}, 0},
		{"skipped message", `<testsuite><testcase name="s" time="1,234.5"><skipped message="later"/></testcase></testsuite>`,
			counts{0, 1, 0}, wantCase{Name: "s", Status: "pending", Message: []string{"later"}}, 1234.5},
		{"output and flaky reruns pass", `<testsuite><testcase name="p" time="NaN"><system-out>noise</system-out>
			<flakyFailure message="once"/></testcase></testsuite>`,
			counts{1, 0, 0}, wantCase{Name: "p", Status: "passed"}, 0},
		{"testcase in testcase is one case", `<testsuite><testcase name="outer"><testcase name="inner"><failure/></testcase></testcase></testsuite>`,
			counts{1, 0, 0}, wantCase{Name: "outer", Status: "passed"}, 0},
		{"classname when no name", `<testsuite><testcase classname="C" time="-3"/></testsuite>`,
			counts{1, 0, 0}, wantCase{Name: "C", Classname: "C", Status: "passed"}, 0},
		{"dirty bytes become U+FFFD", "<testsuite><testcase name=\"d\"><failure message=\"a\x1b[31mred\">\xff\xfe bad &nbsp; &#27; &#x1B; &#233; &#xZZ;</failure></testcase></testsuite>",
			counts{0, 0, 1}, wantCase{Name: "d", Status: "failed", Message: []string{"a\uFFFD[31mred", "\uFFFD\uFFFD bad &nbsp; \uFFFD \uFFFD é &#xZZ;"}}, 0},
		{"latin-1 declaration", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite><testcase name=\"caf\xe9\"/></testsuite>",
			counts{1, 0, 0}, wantCase{Name: "caf\uFFFD", Status: "passed"}, 0},
		{"empty suites", `<testsuites/>`, counts{0, 0, 0}, wantCase{}, 0},
		{"unclosed tags are closed", `<testsuite><testcase name="u"><failure>x</testcase></testsuite>`,
			counts{0, 0, 1}, wantCase{Name: "u", Status: "failed", Message: []string{"x"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parseOK(t, schema.FormatJUnit, tt.report)
			require.Equal(t, tt.want, counts{o.Passed, o.Pending, o.Failed})
			if tt.check.Name != "" {
				requireCase(t, o.Cases, tt.check)
				require.Equal(t, tt.time, caseNamed(t, o, tt.check.Name).TimeSec)
			}
		})
	}
}

func TestRSpec(t *testing.T) {
	tests := []struct {
		name   string
		report string
		want   counts
		check  wantCase
	}{
		{"summary only", `{"summary":{"example_count":10,"failure_count":2,"pending_count":1}}`, counts{7, 1, 2}, wantCase{}},
		{"null examples use the summary", `{"examples":null,"summary":{"example_count":3,"failure_count":1}}`, counts{2, 0, 1}, wantCase{}},
		{"examples beat the summary", `{"examples":[{"description":"x","status":"pending"}],"summary":{"example_count":9}}`,
			counts{0, 1, 0}, wantCase{Name: "x", Status: "pending"}},
		{"other exception classes are named", `{"examples":[{"full_description":"n","file_path":"./n_spec.rb","status":"failed",
			"exception":{"class":"NoMethodError","message":"undefined method 'x' for nil",
			"backtrace":["/usr/lib/ruby/3.1.0/x.rb:1","/var/lib/gems/3.1.0/gems/rspec-core/a.rb:2","./spec/n_spec.rb:4:in 'block'"]}}]}`,
			counts{0, 0, 1}, wantCase{Name: "n", File: "./n_spec.rb", Status: "failed",
				Message: []string{"NoMethodError: undefined method 'x' for nil\n# ./spec/n_spec.rb:4:in 'block'"}}},
		{"unknown status fails", `{"examples":[{"id":"./a_spec.rb[1:1]","status":"exploded"}]}`,
			counts{0, 0, 1}, wantCase{Name: "./a_spec.rb[1:1]", Status: "failed", Message: []string{`unknown example status "exploded"`}}},
		{"errors outside without messages", `{"examples":[],"summary":{"errors_outside_of_examples_count":2}}`,
			counts{0, 0, 1}, wantCase{Name: "errors outside of examples", Status: "failed", Message: []string{"2 error(s) occurred outside of examples"}}},
		{"unknown keys skipped", `{"version":"3","seed":{"a":[1,2]},"examples":[{"description":"p","status":"passed","run_time":0.5}]}`,
			counts{1, 0, 0}, wantCase{Name: "p", Status: "passed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parseOK(t, schema.FormatRSpecJSON, tt.report)
			require.Equal(t, tt.want, counts{o.Passed, o.Pending, o.Failed})
			if tt.check.Name != "" {
				requireCase(t, o.Cases, tt.check)
			}
		})
	}
}

// goStream writes go test -json events; each arg is action, test, output.
func goStream(events ...[3]string) string {
	var b strings.Builder
	for _, e := range events {
		line, _ := json.Marshal(map[string]any{"Action": e[0], "Package": "p", "Test": e[1], "Output": e[2]})
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestGoTest(t *testing.T) {
	tests := []struct {
		name   string
		report string
		want   counts
		check  wantCase
	}{
		{"cut off mid-test", goStream([3]string{"run", "TestA", ""}, [3]string{"output", "TestA", "    a_test.go:3: working\n"}),
			counts{0, 0, 1}, wantCase{Name: "TestA", Classname: "p", Status: "failed", Message: []string{"working\n[rrr: the test did not finish]"}}},
		{"cut off in a subtest: the parent is no case", goStream([3]string{"run", "TestA", ""}, [3]string{"run", "TestA/x", ""}),
			counts{0, 0, 1}, wantCase{Name: "TestA/x", Classname: "p", Status: "failed"}},
		{"count=2 runs twice", goStream([3]string{"run", "TestA", ""}, [3]string{"pass", "TestA", ""},
			[3]string{"run", "TestA", ""}, [3]string{"fail", "TestA", ""}, [3]string{"fail", "", ""}),
			counts{1, 0, 1}, wantCase{Name: "TestA", Classname: "p", Status: "failed"}},
		{"parallel pause and cont, bench ignored", goStream([3]string{"run", "TestA", ""}, [3]string{"pause", "TestA", ""},
			[3]string{"cont", "TestA", ""}, [3]string{"pass", "TestA", ""}, [3]string{"bench", "BenchmarkX", ""}, [3]string{"pass", "", ""}),
			counts{1, 0, 0}, wantCase{Name: "TestA", Classname: "p", Status: "passed"}},
		{"old go build failure in plain lines", "# p\n./a.go:3:1: syntax error\n" +
			goStream([3]string{"output", "", "FAIL\tp [build failed]\n"}, [3]string{"fail", "", ""}),
			counts{0, 0, 1}, wantCase{Name: "p", Classname: "p", Status: "failed", Message: []string{"./a.go:3:1: syntax error\nFAIL\tp [build failed]"}}},
		{"package without tests", goStream([3]string{"output", "", "?   \tp\t[no test files]\n"}, [3]string{"skip", "", ""}),
			counts{0, 0, 0}, wantCase{}},
		{"package fail with a failed test adds nothing", goStream([3]string{"run", "TestA", ""}, [3]string{"fail", "TestA", ""},
			[3]string{"output", "", "FAIL\n"}, [3]string{"fail", "", ""}),
			counts{0, 0, 1}, wantCase{Name: "TestA", Classname: "p", Status: "failed"}},
		{"panic output is the message", goStream([3]string{"run", "TestA", ""}, [3]string{"output", "TestA", "panic: boom [recovered]\n"},
			[3]string{"output", "TestA", "--- FAIL: TestA (0.00s)\n"}, [3]string{"fail", "TestA", ""}),
			counts{0, 0, 1}, wantCase{Name: "TestA", Classname: "p", Status: "failed", Message: []string{"panic: boom [recovered]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parseOK(t, schema.FormatGoTestJSON, tt.report)
			require.Equal(t, tt.want, counts{o.Passed, o.Pending, o.Failed})
			if tt.check.Name != "" {
				requireCase(t, o.Cases, tt.check)
			}
		})
	}
}

func TestGoTestKeepsTheEndOfLongOutput(t *testing.T) {
	events := [][3]string{{"run", "TestA", ""}}
	for i := range 2000 {
		events = append(events, [3]string{"output", "TestA", fmt.Sprintf("    a_test.go:9: line %d é\n", i)})
	}
	events = append(events, [3]string{"fail", "TestA", ""})
	o := parseOK(t, schema.FormatGoTestJSON, goStream(events...))
	m := caseNamed(t, o, "TestA").Message
	require.True(t, strings.HasPrefix(m, omitMark), m[:100])
	require.True(t, strings.HasSuffix(m, "a_test.go:9: line 1999 é"), m[len(m)-100:])
	require.NotContains(t, m, "line 0 ")
}

func TestTAP(t *testing.T) {
	tests := []struct {
		name   string
		report string
		want   counts
		check  wantCase
	}{
		{"yaml block", "TAP version 13\n1..1\nnot ok 1 - y\n  ---\n  message: boom\n  at: x.js:3\n  ...\n",
			counts{0, 0, 1}, wantCase{Name: "y", Status: "failed", Message: []string{"message: boom\nat: x.js:3"}}},
		{"directives", "1..4\nnot ok 1 - a # TODO later\nok 2 - b # todo\nok 3 # Skipped: no db\nnot ok 4 c # SKIP\n",
			counts{0, 4, 0}, wantCase{Name: "test 3", Status: "pending", Message: []string{"no db"}}},
		{"escaped hash is no directive", "1..1\nok 1 - issue \\#12 # SKIP\n",
			counts{0, 1, 0}, wantCase{Name: "issue #12", Status: "pending"}},
		{"escaped hash in a passed test", "1..1\nok 1 - issue \\#12\n",
			counts{1, 0, 0}, wantCase{Name: "issue #12", Status: "passed"}},
		{"no plan", "ok 1 - a\nok 2 - b\n",
			counts{2, 0, 1}, wantCase{Name: "TAP plan", Status: "failed", Message: []string{"no plan after 2 tests", `"b"`}}},
		{"more tests than planned", "1..1\nok 1\nok 2\n",
			counts{2, 0, 1}, wantCase{Name: "TAP plan", Status: "failed", Message: []string{"planned 1 tests but 2 ran"}}},
		{"skip all", "1..0 # SKIP no database\n", counts{0, 1, 0}, wantCase{Name: "TAP plan", Status: "pending", Message: []string{"no database"}}},
		{"bail out ends the stream", "1..3\nok 1 - a\nBail out! disk full\nnot ok 2\nnot ok 3\n",
			counts{1, 0, 1}, wantCase{Name: "Bail out!", Status: "failed", Message: []string{"disk full"}}},
		{"no numbers, CRLF", "ok - first\r\nnot ok - second\r\n# why\r\n1..2\r\n",
			counts{1, 0, 1}, wantCase{Name: "second", Status: "failed", Message: []string{"why"}}},
		{"indented subtest counted by its parent", "1..1\n# Subtest: s\n    not ok 1 - inner\n    1..1\nnot ok 1 - s\n",
			counts{0, 0, 1}, wantCase{Name: "s", Status: "failed"}},
		{"comments after a pass are no message", "1..1\nok 1 - a\n# note\n", counts{1, 0, 0}, wantCase{Name: "a", Status: "passed"}},
		{"prove verdict ignored", "t/a.t .. \nok 1 - a\n1..1\nok\nAll tests successful.\n", counts{1, 0, 0}, wantCase{Name: "a", Status: "passed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := parseOK(t, schema.FormatTAP, tt.report)
			require.Equal(t, tt.want, counts{o.Passed, o.Pending, o.Failed})
			requireCase(t, o.Cases, tt.check)
		})
	}
}

// TestCaps: counts cover every case; Cases keeps the failed ones first and
// stops at MaxCases; messages stop at MaxMessage on a rune boundary.
func TestCaps(t *testing.T) {
	long := strings.Repeat("é", MaxMessage) // 2 bytes a rune: the cut falls inside one
	var b strings.Builder
	b.WriteString("<testsuites><testsuite>")
	for i := range 700 {
		fmt.Fprintf(&b, `<testcase name="pass %d"/>`, i)
	}
	for i := range 600 {
		fmt.Fprintf(&b, `<testcase name="fail %d"><failure>%s</failure></testcase>`, i, long)
	}
	b.WriteString(`<testcase name="skip"><skipped/></testcase></testsuite></testsuites>`)

	o := parseOK(t, schema.FormatJUnit, b.String())
	require.Equal(t, counts{700, 1, 600}, counts{o.Passed, o.Pending, o.Failed})
	require.Len(t, o.Cases, MaxCases)
	require.Equal(t, "fail 0", o.Cases[0].Name)
	require.Equal(t, "fail 499", o.Cases[MaxCases-1].Name)
	m := o.Cases[0].Message
	require.LessOrEqual(t, len(m), MaxMessage)
	require.Greater(t, len(m), MaxMessage-len(cutMark)-2)
	require.True(t, strings.HasSuffix(m, cutMark))
	require.True(t, utf8.ValidString(m))

	// A few failures among many passes still come first.
	b.Reset()
	b.WriteString("1..702\n")
	for i := range 700 {
		fmt.Fprintf(&b, "ok %d - pass %d\n", i+1, i)
	}
	b.WriteString("not ok 701 - late failure\nok 702 # SKIP x\n")
	o = parseOK(t, schema.FormatTAP, b.String())
	require.Equal(t, counts{700, 1, 1}, counts{o.Passed, o.Pending, o.Failed})
	require.Len(t, o.Cases, MaxCases)
	require.Equal(t, "late failure", o.Cases[0].Name)
	require.Equal(t, "test 702", o.Cases[1].Name)
	require.Equal(t, "pass 0", o.Cases[2].Name)
}

func TestRSpecErrorsOutsideComeFirstWithinTheCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"examples":[`)
	for i := range MaxCases {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"full_description":"f %d","status":"failed","exception":{"message":"no"}}`, i)
	}
	b.WriteString(`],"messages":["\nAn error occurred in an after(:suite) hook.\n"],"summary":{"errors_outside_of_examples_count":1}}`)
	o := parseOK(t, schema.FormatRSpecJSON, b.String())
	require.Equal(t, MaxCases+1, o.Failed)
	require.Len(t, o.Cases, MaxCases)
	require.Equal(t, "errors outside of examples", o.Cases[0].Name)
	require.Equal(t, "An error occurred in an after(:suite) hook.", o.Cases[0].Message)
}

// requireSane checks what every Outcome promises, whatever the input.
func requireSane(t testing.TB, o Outcome) {
	t.Helper()
	require.Contains(t, schema.Formats, o.Format)
	require.NotEqual(t, schema.FormatAuto, o.Format)
	require.LessOrEqual(t, len(o.Cases), MaxCases)
	per := map[string]int{}
	rank := map[string]int{schema.StatusFailed: 0, schema.StatusPending: 1, schema.StatusPassed: 2}
	for i, c := range o.Cases {
		r, ok := rank[c.Status]
		require.True(t, ok, "status %q", c.Status)
		if i > 0 {
			require.LessOrEqual(t, rank[o.Cases[i-1].Status], r, "case %d out of order", i)
		}
		per[c.Status]++
		for _, s := range []string{c.Name, c.Classname, c.File, c.Message} {
			require.True(t, utf8.ValidString(s), "%q is not UTF-8", s)
			require.LessOrEqual(t, len(s), MaxMessage)
		}
		require.False(t, math.IsNaN(c.TimeSec) || math.IsInf(c.TimeSec, 0) || c.TimeSec < 0, "time %v", c.TimeSec)
	}
	require.LessOrEqual(t, per[schema.StatusPassed], o.Passed)
	require.LessOrEqual(t, per[schema.StatusPending], o.Pending)
	require.LessOrEqual(t, per[schema.StatusFailed], o.Failed)
	require.GreaterOrEqual(t, min(o.Passed, o.Pending, o.Failed), 0)
	_, err := json.Marshal(o.Cases) // the slave stores them as JSON
	require.NoError(t, err)
}

// TestXMLCleanerChunking: a rune or character reference cut by a read
// boundary is cleaned as if it came whole.
func TestXMLCleanerChunking(t *testing.T) {
	in := "a\x1bé\xff&#27;&#233;&amp;&#x1B;&#xZZ;&#;&" + strings.Repeat("€", 3)
	want := "a\uFFFDé\uFFFD\uFFFD&#233;&amp;\uFFFD&#xZZ;&#;&€€€"
	whole, err := io.ReadAll(&xmlCleaner{r: strings.NewReader(in)})
	require.NoError(t, err)
	require.Equal(t, want, string(whole))
	bytewise, err := io.ReadAll(&xmlCleaner{r: iotest.OneByteReader(strings.NewReader(in))})
	require.NoError(t, err)
	require.Equal(t, want, string(bytewise))
}

// TestGoTestDeepSubtests: in a chain of nested subtests only the leaves
// are cases; a failing leaf does not make its failing parents cases.
func TestGoTestDeepSubtests(t *testing.T) {
	const depth = 300
	var events [][3]string
	names := []string{"TestDeep"}
	for i := 1; i < depth; i++ {
		names = append(names, fmt.Sprintf("%s/%d", names[i-1], i))
	}
	for _, n := range names {
		events = append(events, [3]string{"run", n, ""}, [3]string{"run", n + "/ok", ""}, [3]string{"pass", n + "/ok", ""})
	}
	events = append(events, [3]string{"output", names[depth-1], "    deep_test.go:9: bottom\n"})
	for i := depth - 1; i >= 0; i-- {
		events = append(events, [3]string{"fail", names[i], ""})
	}
	o := parseOK(t, schema.FormatGoTestJSON, goStream(events...))
	require.Equal(t, counts{depth, 0, 1}, counts{o.Passed, o.Pending, o.Failed})
	requireCase(t, o.Cases, wantCase{Name: names[depth-1], Classname: "p", Status: "failed", Message: []string{"deep_test.go:9: bottom"}})
}
