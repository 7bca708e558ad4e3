package format

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// parseJUnit streams the XML: only the cases kept and one case's text are
// held in memory, whatever the size of the report.
func parseJUnit(report []byte, split func(model.Case) *collector) (Outcome, error) {
	d := xml.NewDecoder(&xmlCleaner{r: bytes.NewReader(bytes.TrimPrefix(trimLeft(report), bom))})
	d.Strict = false // tolerate unknown entities such as &nbsp;
	// The cleaner already made the stream valid UTF-8, whatever the declared encoding.
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }

	var (
		c        collector
		root     = true
		depth    int
		suites   []string // file attribute of each open testsuite
		cur      *junitCase
		curDepth int
	)
	c.split = split
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Outcome{}, fmt.Errorf("junit: %w: %w (is the report cut short, or not JUnit XML?)", ErrUnreadable, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			name := t.Name.Local
			if root {
				root = false
				if name != "testsuites" && name != "testsuite" {
					return Outcome{}, fmt.Errorf("junit: %w: the root element is <%s>, want <testsuites> or <testsuite>", ErrUnreadable, name)
				}
			}
			switch {
			case cur != nil && depth == curDepth+1:
				cur.child(name, t.Attr)
			case cur != nil:
				// deeper elements (and testcases inside testcases) belong to the open case
			case name == "testsuite" || name == "testsuites":
				suites = append(suites, attr(t.Attr, "file"))
			case name == "testcase":
				cur, curDepth = &junitCase{Case: model.Case{
					Name:      attr(t.Attr, "name"),
					Classname: attr(t.Attr, "classname"),
					File:      attr(t.Attr, "file"),
					TimeSec:   parseSeconds(attr(t.Attr, "time")),
				}}, depth
				if cur.Name == "" {
					cur.Name = cur.Classname
				}
				for i := len(suites) - 1; i >= 0 && cur.File == ""; i-- {
					cur.File = suites[i]
				}
			}
		case xml.CharData:
			if cur != nil && cur.text != nil && depth == curDepth+1 {
				cur.text.add(t)
			}
		case xml.EndElement:
			switch {
			case cur != nil && depth == curDepth:
				c.add(cur.done())
				cur = nil
			case cur != nil && depth == curDepth+1:
				cur.endChild()
			case cur == nil && (t.Name.Local == "testsuite" || t.Name.Local == "testsuites") && len(suites) > 0:
				suites = suites[:len(suites)-1]
			}
			depth--
		}
	}
	if root {
		return Outcome{}, fmt.Errorf("junit: %w: no XML element in the report", ErrUnreadable)
	}
	return c.outcome(schema.FormatJUnit), nil
}

// junitCase is a testcase being read.
type junitCase struct {
	model.Case
	messages []string
	text     *capBuf // the text of the open failure, error or skipped element
	short    string  // its message (or type) attribute
}

func (j *junitCase) child(name string, attrs []xml.Attr) {
	switch name {
	case "failure", "error":
		j.Status = schema.StatusFailed
	case "skipped":
		if j.Status != schema.StatusFailed {
			j.Status = schema.StatusPending
		}
	default:
		return // system-out, properties, surefire's flakyFailure ...
	}
	j.text = &capBuf{}
	j.short = attr(attrs, "message")
	if j.short == "" {
		j.short = attr(attrs, "type")
	}
}

func (j *junitCase) endChild() {
	if j.text == nil {
		return
	}
	if m := joinMessage(j.short, j.text.String()); m != "" {
		j.messages = append(j.messages, m)
	}
	j.text, j.short = nil, ""
}

func (j *junitCase) done() model.Case {
	j.endChild()
	if j.Status == "" {
		j.Status = schema.StatusPassed
		j.messages = nil
	}
	j.Message = strings.Join(j.messages, "\n\n")
	return j.Case
}

// capBuf keeps the first bytes written to it, a little more than a message holds.
type capBuf struct{ b []byte }

func (c *capBuf) add(p []byte) {
	if room := MaxMessage + 1 - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
}

func (c *capBuf) String() string { return string(c.b) }

func attr(attrs []xml.Attr, name string) string {
	for _, a := range attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// parseSeconds reads a time attribute ("0.012", "1,234.5"); junk is 0.
func parseSeconds(s string) float64 {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 64)
	if err != nil {
		return 0
	}
	return f
}

// xmlCleaner passes XML through with every byte sequence encoding/xml
// would reject (invalid UTF-8, control characters, U+FFFE/U+FFFF)
// replaced by U+FFFD: test output in a failure message is often dirty.
type xmlCleaner struct {
	r    io.Reader
	in   []byte // read, not yet cleaned (a rune cut by the read boundary)
	out  []byte // cleaned, not yet returned
	buf  []byte // out's storage, reused
	err  error
	full [32 << 10]byte
}

func (x *xmlCleaner) Read(p []byte) (int, error) {
	for len(x.out) == 0 {
		if x.err != nil {
			return 0, x.err
		}
		n, err := x.r.Read(x.full[len(x.in):])
		x.in = x.full[:len(x.in)+n]
		x.err = err
		x.clean(err != nil)
	}
	n := copy(p, x.out)
	x.out = x.out[n:]
	return n, nil
}

// badCharRef reads a character reference ("&#27;", "&#x1b;") at the start
// of b: ok when it names a character XML does not allow, n its length; n
// is -1 when b ends before the reference could.
func badCharRef(b []byte) (n int, ok bool) {
	const longest = len("&#x10FFFF;") + 2
	end := bytes.IndexByte(b[:min(len(b), longest)], ';')
	if end < 0 {
		if len(b) < longest {
			return -1, false
		}
		return 0, false
	}
	if end < 2 {
		return 0, false // "&;" or a bare '&' at the end
	}
	digits, base := string(b[2:end]), 10
	if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
		digits, base = digits[1:], 16
	}
	r, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		return 0, false // not a number: encoding/xml leaves it alone when not strict
	}
	return end + 1, !xmlChar(rune(r))
}

// xmlChar reports whether XML 1.0 allows r.
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune
}

// clean moves the complete runes of in to out; at EOF, also what is left.
func (x *xmlCleaner) clean(eof bool) {
	out := x.buf[:0]
	i := 0
	for i < len(x.in) {
		b := x.in[i]
		if b == '&' && i+1 < len(x.in) && x.in[i+1] == '#' || b == '&' && i+1 == len(x.in) && !eof {
			n, ok := badCharRef(x.in[i:])
			if n < 0 && !eof {
				break // the reference may go on in the next read
			}
			if ok {
				out = append(out, "\uFFFD"...)
				i += n
				continue
			}
		}
		if b < utf8.RuneSelf {
			if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, b)
			}
			i++
			continue
		}
		if !eof && !utf8.FullRune(x.in[i:]) {
			break
		}
		r, size := utf8.DecodeRune(x.in[i:])
		if r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, x.in[i:i+size]...)
		}
		i += size
	}
	x.buf, x.out = out, out
	x.in = x.full[:copy(x.full[:], x.in[i:])]
}
