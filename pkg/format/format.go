package format

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

//go:generate ./testdata/gen.sh

// MaxCases caps Outcome.Cases; the counts still cover every case.
const MaxCases = 500

// MaxMessage caps a case's message (and its name, class name and file) in bytes.
const MaxMessage = 4096

// ErrUnreadable is wrapped by every error about a report that is empty or
// cannot be read as the format asked for.
var ErrUnreadable = errors.New("report unreadable")

// Outcome is what a trial's report says.
type Outcome struct {
	Format                  string // the format actually used: one of schema.Formats except "auto"
	Passed, Pending, Failed int
	// Cases lists failed cases first, then pending, then passed, each group
	// in report order; at most MaxCases of them.
	Cases []model.Case
}

// Parse reads a trial's report as the format name (one of schema.Formats).
// report is the file the trial wrote at {report}; stdout is its standard
// output, read by go-test-json, tap and rspec-json when report is empty.
func Parse(name string, report []byte, stdout []byte) (Outcome, error) {
	return parse(name, report, stdout, nil)
}

// ParseSplit reads a report as Parse does and also splits it: Parts maps
// key(case) to the outcome of the cases with that key (a batch's report
// split by spec file, docs/batches.md); cases whose key is "" are in
// Parts[""]. Counts of the parts add up to the total's, except where a
// format counts what has no case (an RSpec summary without examples).
func ParseSplit(name string, report, stdout []byte, key func(model.Case) string) (Outcome, map[string]Outcome, error) {
	var parts map[string]*collector
	split := func(k model.Case) *collector {
		id := key(k)
		c := parts[id]
		if c == nil {
			c = &collector{}
			parts[id] = c
		}
		return c
	}
	parts = map[string]*collector{}
	o, err := parse(name, report, stdout, split)
	if err != nil {
		return o, nil, err
	}
	out := make(map[string]Outcome, len(parts))
	for id, c := range parts {
		out[id] = c.outcome(o.Format)
	}
	return o, out, nil
}

func parse(name string, report []byte, stdout []byte, split func(model.Case) *collector) (Outcome, error) {
	if name == schema.FormatAuto {
		name = Detect(report, stdout)
	}
	switch name {
	case schema.FormatExitCode:
		return Outcome{Format: schema.FormatExitCode}, nil
	case schema.FormatJUnit:
		if isBlank(report) {
			return Outcome{}, emptyErr(name, "JUnit XML", "e.g. pytest --junitxml={report}")
		}
		return parseJUnit(report, split)
	case schema.FormatRSpecJSON:
		in := pick(report, stdout)
		if isBlank(in) {
			return Outcome{}, emptyErr(name, "RSpec JSON", "e.g. rspec --format json --out {report}")
		}
		return parseRSpec(in, split)
	case schema.FormatGoTestJSON:
		in := pick(report, stdout)
		if isBlank(in) {
			return Outcome{}, emptyErr(name, "go test -json events", "e.g. go test -json, or go test -json > {report} through sh -c")
		}
		return parseGoTest(in, split)
	case schema.FormatTAP:
		in := pick(report, stdout)
		if isBlank(in) {
			return Outcome{}, emptyErr(name, "TAP", "e.g. prove -v --merge {file}")
		}
		return parseTAP(in, split)
	}
	return Outcome{}, fmt.Errorf("result format %q: %w: want one of %v", name, schema.ErrInvalid, schema.Formats)
}

// Detect says which format auto picks: the report is sniffed when it is
// not blank, else stdout (go-test-json, tap, or a stdout that is exactly
// an RSpec JSON document); exit-code when nothing matches.
func Detect(report []byte, stdout []byte) string {
	if !isBlank(report) {
		b := trimLeft(report)
		switch {
		case b[0] == '<':
			return schema.FormatJUnit
		case b[0] == '{' && hasExamples(b):
			return schema.FormatRSpecJSON
		case looksGoTest(b):
			return schema.FormatGoTestJSON
		case looksTAP(b):
			return schema.FormatTAP
		}
		return schema.FormatExitCode
	}
	b := trimLeft(stdout)
	switch {
	case len(b) > 0 && b[0] == '{' && isRSpecDocument(b):
		return schema.FormatRSpecJSON
	case looksGoTest(b):
		return schema.FormatGoTestJSON
	case looksTAP(b):
		return schema.FormatTAP
	}
	return schema.FormatExitCode
}

func emptyErr(format, what, hint string) error {
	return fmt.Errorf("%s: %w: the report is empty: the trial command must write %s to {report} (%s)",
		format, ErrUnreadable, what, hint)
}

// pick is the report, or stdout when the report is blank.
func pick(report, stdout []byte) []byte {
	if isBlank(report) {
		return stdout
	}
	return report
}

var bom = []byte("\xef\xbb\xbf")

// trimLeft drops a UTF-8 byte order mark and leading white space.
func trimLeft(b []byte) []byte {
	return bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(b, " \t\r\n"), bom), " \t\r\n")
}

func isBlank(b []byte) bool { return len(trimLeft(b)) == 0 }

// collector counts cases and keeps the first MaxCases of each status, so a
// huge report costs memory for at most 3*MaxCases cases.
type collector struct {
	// split, when set, gives each case a second collector too (ParseSplit).
	split                   func(model.Case) *collector
	failed, pending, passed []model.Case
	nFailed, nPending       int
	nPassed                 int
}

func (c *collector) add(k model.Case) {
	if c.split != nil {
		c.split(k).add(k)
	}
	group := &c.passed
	switch k.Status {
	case schema.StatusFailed:
		c.nFailed++
		group = &c.failed
	case schema.StatusPending:
		c.nPending++
		group = &c.pending
	default:
		k.Status = schema.StatusPassed
		c.nPassed++
	}
	if len(*group) >= MaxCases {
		return
	}
	k.Name = capHead(k.Name)
	k.Classname = capHead(k.Classname)
	k.File = capHead(k.File)
	k.Message = capHead(k.Message)
	if math.IsNaN(k.TimeSec) || math.IsInf(k.TimeSec, 0) || k.TimeSec < 0 {
		k.TimeSec = 0 // JSON cannot carry NaN or infinities
	}
	*group = append(*group, k)
}

func (c *collector) outcome(format string) Outcome {
	o := Outcome{Format: format, Passed: c.nPassed, Pending: c.nPending, Failed: c.nFailed}
	for _, group := range [][]model.Case{c.failed, c.pending, c.passed} {
		n := min(len(group), MaxCases-len(o.Cases))
		o.Cases = append(o.Cases, group[:n]...)
	}
	return o
}

const cutMark = "\n[rrr: message truncated]"

// capHead makes s valid UTF-8 and keeps its first MaxMessage bytes.
func capHead(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxMessage {
		return s
	}
	n := MaxMessage - len(cutMark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + cutMark
}

const omitMark = "[rrr: start of output omitted]\n"

// capTail makes s valid UTF-8 and keeps its last MaxMessage bytes: the end
// of a test's output is where it failed.
func capTail(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxMessage {
		return s
	}
	i := len(s) - (MaxMessage - len(omitMark))
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return omitMark + s[i:]
}

// joinMessage puts a short message (an attribute, an exception's text) in
// front of a longer body unless the body already says it.
func joinMessage(short, body string) string {
	short, body = strings.TrimSpace(short), strings.TrimSpace(body)
	switch {
	case short == "":
		return body
	case body == "" || body == short:
		return short
	case strings.Contains(squash(body), squash(short)):
		return body
	}
	return short + "\n\n" + body
}

// squash collapses runs of white space, so that a message indented
// differently in a body still matches.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// lines calls fn with each line of b (without its line ending), at most
// maxLine bytes of it; it stops when fn returns false.
func lines(b []byte, maxLine int, fn func(line []byte) bool) {
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > maxLine {
			line = line[:maxLine]
		}
		if !fn(line) {
			return
		}
	}
}

// sniffWindow bounds how much of a large input Detect reads.
const sniffWindow = 1 << 20

func window(b []byte) []byte {
	if len(b) > sniffWindow {
		return b[:sniffWindow]
	}
	return b
}
