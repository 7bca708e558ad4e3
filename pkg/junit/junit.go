package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// OutputCap bounds each output stream copied into the report, keeping its
// end (where failures are reported).
const OutputCap = 16 << 10

// Property names rrr adds to each <testsuite>.
const (
	PropFlaky  = "rrr.flaky"  // "true" when the spec failed, then passed
	PropTrials = "rrr.trials" // how many trials the spec ran
	PropStatus = "rrr.status" // the spec's verdict ("" when it got none)
	PropTrial  = "rrr.trial"  // the key of the trial the cases come from
	// PropBatch is "<batch id> of <N>" when that trial ran in a batch of N
	// spec files (docs/batches.md); the suite still holds this spec's cases only.
	PropBatch = "rrr.batch"
	// PropQuarantined is the reason the spec ran in quarantine: its
	// failure, still reported, did not fail the taskset.
	PropQuarantined = "rrr.quarantined"
	// PropPartitions is the number of partitions a spec file ran in
	// (docs/partitions.md): its suite holds the cases of all of them.
	PropPartitions = "rrr.partitions"
)

// Testsuites is the document: one suite per spec file.
type Testsuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Suites   []Testsuite `xml:"testsuite"`
}

// Testsuite is one spec file.
type Testsuite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr,omitempty"`
	File       string     `xml:"file,attr,omitempty"`
	Properties []Property `xml:"properties>property"`
	Cases      []Testcase `xml:"testcase"`
	SystemOut  *Text      `xml:"system-out"`
	SystemErr  *Text      `xml:"system-err"`
}

// Text is character data written as CDATA, so that output stays readable.
type Text struct {
	Data string `xml:",cdata"`
}

// Property is a name/value pair of a suite.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Testcase is one test case, or the whole spec when its format gives none.
type Testcase struct {
	Name          string  `xml:"name,attr"`
	Classname     string  `xml:"classname,attr"`
	File          string  `xml:"file,attr,omitempty"`
	Time          string  `xml:"time,attr"`
	Failure       *Result `xml:"failure"`
	Error         *Result `xml:"error"`
	Skipped       *Result `xml:"skipped"`
	FlakyFailures []Flaky `xml:"flakyFailure"`
	FlakyErrors   []Flaky `xml:"flakyError"`
	SystemOut     string  `xml:"system-out,omitempty"`
}

// Result is a <failure>, <error> or <skipped>.
type Result struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// Flaky is a surefire-style <flakyFailure>/<flakyError>: a failure of an
// earlier trial of a test that passed in the end.
type Flaky struct {
	Message    string `xml:"message,attr,omitempty"`
	Type       string `xml:"type,attr,omitempty"`
	StackTrace *Text  `xml:"stackTrace"`
	SystemOut  *Text  `xml:"system-out"`
	SystemErr  *Text  `xml:"system-err"`
}

// Build makes the report of a taskset loaded with its outputs: one suite
// per spec, with the test cases of the spec's final trial (or one case for
// the spec when its format gives none). A failed spec carries <failure>
// (or <error> when it could not run) with the message and the output's
// end; a flaky spec (failed, then passed) carries <flakyFailure> on the
// test cases that failed before, or on its first case when the earlier
// trial gave no per-case report, and the property rrr.flaky=true; a spec
// that never ran is <skipped>.
func Build(s *model.Snapshot) Testsuites {
	doc := Testsuites{Name: "rrr " + s.ID}
	if !s.FinishedAt.IsZero() && !s.CreatedAt.IsZero() {
		doc.Time = secs(s.FinishedAt.Sub(s.CreatedAt.Time))
	} else {
		doc.Time = "0"
	}
	// One suite per spec file: the partitions of one (docs/partitions.md)
	// are merged at the place of the first.
	var suites []Testsuite
	parts := map[string][]model.Task{}
	for _, t := range s.Tasks {
		if t.Partition() != "" {
			parts[t.SpecFile] = append(parts[t.SpecFile], t)
		}
	}
	for _, t := range s.Tasks {
		switch ps := parts[t.SpecFile]; {
		case t.Partition() == "":
			suites = append(suites, suite(s, t))
		case len(ps) > 0:
			suites = append(suites, mergeSuites(model.Merge(ps), partSuites(s, ps)))
			delete(parts, t.SpecFile)
		}
	}
	for _, ts := range suites {
		doc.Tests += ts.Tests
		doc.Failures += ts.Failures
		doc.Errors += ts.Errors
		doc.Skipped += ts.Skipped
		doc.Suites = append(doc.Suites, ts)
	}
	return doc
}

func partSuites(s *model.Snapshot, parts []model.Task) []Testsuite {
	out := make([]Testsuite, len(parts))
	for i, t := range parts {
		out[i] = suite(s, t)
	}
	return out
}

// mergeSuites is the one suite of a spec file that ran in partitions: the
// cases, counts and time of all of them, with m's verdict (model.Merge).
func mergeSuites(m model.Task, parts []Testsuite) Testsuite {
	ts := Testsuite{Name: m.SpecFile, File: m.SpecFile, Timestamp: parts[0].Timestamp}
	var sec float64
	for _, p := range parts {
		ts.Tests += p.Tests
		ts.Failures += p.Failures
		ts.Errors += p.Errors
		ts.Skipped += p.Skipped
		f, _ := strconv.ParseFloat(p.Time, 64)
		sec += f
		ts.Cases = append(ts.Cases, p.Cases...)
		if p.SystemOut != nil || p.SystemErr != nil {
			ts.SystemOut, ts.SystemErr = p.SystemOut, p.SystemErr // the output of a failed partition
		}
	}
	ts.Time = strconv.FormatFloat(sec, 'f', 3, 64)
	ts.Properties = []Property{{PropStatus, m.Verdict()}, {PropTrials, strconv.Itoa(len(m.Trials))}, {PropPartitions, strconv.Itoa(len(parts))}}
	flaky := false
	for _, p := range parts {
		for _, pr := range p.Properties {
			flaky = flaky || pr.Name == PropFlaky
		}
	}
	if flaky {
		ts.Properties = append(ts.Properties, Property{PropFlaky, "true"})
	}
	if m.Quarantined != "" {
		ts.Properties = append(ts.Properties, Property{PropQuarantined, m.Quarantined})
	}
	return ts
}

func suite(s *model.Snapshot, t model.Task) Testsuite {
	ts := Testsuite{Name: t.SpecFile, File: t.SpecFile, Time: "0"}
	ft := model.FinalTrial(t)
	ts.Properties = []Property{
		{PropStatus, t.Verdict()},
		{PropTrials, strconv.Itoa(len(t.Trials))},
	}
	flaky := model.IsFlaky(t)
	if flaky {
		ts.Properties = append(ts.Properties, Property{PropFlaky, "true"})
	}
	if t.Quarantined != "" {
		ts.Properties = append(ts.Properties, Property{PropQuarantined, t.Quarantined})
	}
	if ft == nil && t.Status == schema.StatusFailed {
		// settled without trials to read (a corrupt trial list): an error
		ts.Cases = []Testcase{{Name: t.SpecFile, Classname: className(t.SpecFile), File: t.SpecFile, Time: "0",
			Error: &Result{Message: firstLine(t.Error), Type: schema.StatusError, Text: clean(t.Error)}}}
		ts.Tests, ts.Errors = 1, 1
		return ts
	}
	if ft == nil || t.Status == "" {
		why := "not run: the taskset " + orRunning(s.Status)
		if ft != nil {
			why = fmt.Sprintf("no verdict: the taskset %s (last trial %s)", orRunning(s.Status), ft.Status)
		}
		if s.StatusReason != "" {
			why += ": " + s.StatusReason
		}
		ts.Cases = []Testcase{{Name: t.SpecFile, Classname: className(t.SpecFile), File: t.SpecFile, Time: "0",
			Skipped: &Result{Message: why}}}
		ts.Tests, ts.Skipped = 1, 1
		return ts
	}
	ts.Properties = append(ts.Properties, Property{PropTrial, ft.Key})
	if ft.BatchSize > 1 {
		ts.Properties = append(ts.Properties, Property{PropBatch, fmt.Sprintf("%s of %d", ft.Batch, ft.BatchSize)})
	}
	ts.Time = secs(ft.Duration())
	if !ft.StartedAt.IsZero() {
		ts.Timestamp = ft.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	bad := t.Status == schema.StatusFailed || flaky
	if bad {
		ts.SystemOut = text(capTail(ft.Stdout))
		ts.SystemErr = text(capTail(ft.Stderr))
	}

	caseFailed := false
	for _, c := range ft.Report {
		tc := Testcase{Name: c.Name, Classname: c.Classname, File: c.File, Time: secs(time.Duration(c.TimeSec * float64(time.Second)))}
		if tc.Classname == "" {
			tc.Classname = className(t.SpecFile)
		}
		if tc.File == "" {
			tc.File = t.SpecFile
		}
		switch c.Status {
		case schema.StatusFailed:
			tc.Failure = &Result{Message: firstLine(c.Message), Type: "failed", Text: clean(c.Message)}
			caseFailed = true
		case schema.StatusPending:
			tc.Skipped = &Result{Message: firstLine(c.Message)}
		}
		ts.Cases = append(ts.Cases, tc)
	}
	// A spec without cases, or one whose failure no case explains (it
	// timed out, crashed, or exited non-zero with a clean report), gets a
	// case of its own so that the failure counts.
	if len(ts.Cases) == 0 || (model.IsTrialFailure(ft.Status) && !caseFailed) {
		tc := Testcase{Name: t.SpecFile, Classname: className(t.SpecFile), File: t.SpecFile, Time: ts.Time}
		if len(ts.Cases) > 0 {
			tc.Name = t.SpecFile + " (trial)"
		}
		switch ft.Status {
		case schema.StatusPending:
			tc.Skipped = &Result{Message: "pending"}
		case schema.StatusFailed, schema.StatusTimeout:
			tc.Failure = &Result{Message: trialMessage(*ft), Type: ft.Status, Text: clean(outputText(*ft))}
		case schema.StatusError:
			tc.Error = &Result{Message: trialMessage(*ft), Type: ft.Status, Text: clean(outputText(*ft))}
		}
		ts.Cases = append(ts.Cases, tc)
	}
	if flaky {
		markFlaky(&ts, t)
	}
	for _, tc := range ts.Cases {
		ts.Tests++
		switch {
		case tc.Failure != nil:
			ts.Failures++
		case tc.Error != nil:
			ts.Errors++
		case tc.Skipped != nil:
			ts.Skipped++
		}
	}
	return ts
}

// markFlaky adds the earlier failed trials of a flaky spec to its cases.
func markFlaky(ts *Testsuite, t model.Task) {
	index := map[string]int{}
	for i, tc := range ts.Cases {
		index[tc.Classname+"\x00"+tc.Name] = i
	}
	for _, tr := range model.FlakyTrials(t) {
		attributed := false
		for _, c := range tr.Report {
			if c.Status != schema.StatusFailed {
				continue
			}
			cls := c.Classname
			if cls == "" {
				cls = className(t.SpecFile)
			}
			if i, ok := index[cls+"\x00"+c.Name]; ok {
				ts.Cases[i].FlakyFailures = append(ts.Cases[i].FlakyFailures,
					Flaky{Message: firstLine(c.Message), Type: "failed", StackTrace: text(c.Message)})
				attributed = true
			}
		}
		if attributed {
			continue
		}
		f := Flaky{Message: trialMessage(tr), Type: tr.Status, SystemOut: text(capTail(tr.Stdout)), SystemErr: text(capTail(tr.Stderr))}
		if tr.Status == schema.StatusFailed {
			ts.Cases[0].FlakyFailures = append(ts.Cases[0].FlakyFailures, f)
		} else {
			ts.Cases[0].FlakyErrors = append(ts.Cases[0].FlakyErrors, f)
		}
	}
}

// trialMessage says why a trial did not pass, in one line.
func trialMessage(tr model.Trial) string {
	parts := []string{"trial " + tr.Status}
	if tr.ExitCode != nil {
		parts = append(parts, fmt.Sprintf("exit code %d", *tr.ExitCode))
	}
	if tr.Signal != "" {
		parts = append(parts, "killed by "+tr.Signal)
	}
	if tr.Error != "" {
		parts = append(parts, tr.Error)
	}
	if tr.Slave != "" {
		parts = append(parts, "on "+tr.Slave)
	}
	return strings.Join(parts, ", ")
}

func outputText(tr model.Trial) string {
	var b strings.Builder
	if tr.Stdout != "" {
		b.WriteString("stdout:\n" + capTail(tr.Stdout) + "\n")
	}
	if tr.Stderr != "" {
		b.WriteString("stderr:\n" + capTail(tr.Stderr) + "\n")
	}
	if tr.OutputPath != "" {
		b.WriteString("full output: " + tr.OutputPath + "\n")
	}
	return b.String()
}

// capTail keeps the last OutputCap bytes of s, on a line boundary.
func capTail(s string) string {
	if len(s) <= OutputCap {
		return s
	}
	cut := len(s) - OutputCap
	if i := strings.IndexByte(s[cut:], '\n'); i >= 0 && i < 1024 {
		cut += i + 1
	}
	return fmt.Sprintf("[rrr: %d bytes omitted]\n", cut) + s[cut:]
}

// ansi matches terminal escape sequences (colours) of test output.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// clean makes text fit in XML: without terminal escapes, and with
// characters XML cannot hold (NUL, other controls) replaced by U+FFFD.
func clean(s string) string {
	s = ansi.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return utf8.RuneError
	}, s)
}

// text is s as CDATA, or nil when it is empty.
func text(s string) *Text {
	if s == "" {
		return nil
	}
	return &Text{Data: clean(s)}
}

func firstLine(s string) string {
	s = strings.TrimSpace(clean(s))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// className turns a spec path into a dotted class name, as JUnit viewers
// group by it: spec/models/user_spec.rb -> spec.models.user_spec.
func className(spec string) string {
	spec = strings.TrimSuffix(spec, filepath.Ext(spec))
	return strings.ReplaceAll(spec, "/", ".")
}

func orRunning(status string) string {
	if status == "" || status == schema.StatusRunning {
		return "is still running"
	}
	return "was " + status
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// Write writes the report of s to w.
func Write(w io.Writer, s *model.Snapshot) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(Build(s)); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteFile writes the report of s to path, atomically.
func WriteFile(path string, s *model.Snapshot) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".rrr-junit-*.xml")
	if err != nil {
		return fmt.Errorf("write junit report %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := Write(f, s); err != nil {
		f.Close()
		return fmt.Errorf("write junit report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write junit report %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("write junit report %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write junit report %s: %w", path, err)
	}
	return nil
}
