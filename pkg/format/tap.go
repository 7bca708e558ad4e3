package format

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

var (
	tapVersion = regexp.MustCompile(`^TAP version \d+\s*$`)
	tapPlan    = regexp.MustCompile(`^1\.\.(\d+)\s*(?:#\s*(.*))?$`)
	tapNumber  = regexp.MustCompile(`^(not )?ok \d+`)
)

// tapParser reads a TAP stream line by line. Indented lines (subtests, as
// Test::More and TAP 14 write them) are skipped: a subtest is one case,
// through the summary line its parent prints. Comment lines and a YAML
// block after a failing, skipped or todo test become its message.
type tapParser struct {
	c        collector
	planned  int
	sawPlan  bool
	tests    int
	open     *model.Case // the last case, still taking diagnostics
	diag     capBuf
	inYAML   bool
	bailed   bool
	lastName string
}

func parseTAP(in []byte, split func(model.Case) *collector) (Outcome, error) {
	p := &tapParser{}
	p.c.split = split
	lines(in, maxLine, func(line []byte) bool {
		p.line(bytes.TrimRight(line, " \t"))
		return !p.bailed
	})
	p.flush()
	switch {
	case p.bailed:
	case !p.sawPlan && p.tests == 0:
		return Outcome{}, fmt.Errorf("tap: %w: %w", ErrUnreadable,
			errors.New(`no TAP plan ("1..N") or test line ("ok N", "not ok N") found`))
	case !p.sawPlan:
		p.c.add(model.Case{Name: "TAP plan", Status: schema.StatusFailed,
			Message: fmt.Sprintf("no plan after %d tests: the test script stopped early (last test: %q)", p.tests, p.lastName)})
	case p.tests != p.planned:
		p.c.add(model.Case{Name: "TAP plan", Status: schema.StatusFailed,
			Message: fmt.Sprintf("planned %d tests but %d ran (last test: %q)", p.planned, p.tests, p.lastName)})
	}
	return p.c.outcome(schema.FormatTAP), nil
}

func (p *tapParser) line(s []byte) {
	if p.inYAML {
		if string(bytes.TrimSpace(s)) == "..." {
			p.inYAML = false
		} else {
			p.diag.add(bytes.TrimPrefix(s, []byte("  ")))
			p.diag.add([]byte("\n"))
		}
		return
	}
	if len(s) == 0 {
		return
	}
	if s[0] == ' ' || s[0] == '\t' {
		p.inYAML = p.open != nil && string(bytes.TrimSpace(s)) == "---"
		return
	}
	if s[0] == '#' {
		if bytes.HasPrefix(s, []byte("# Subtest")) {
			p.flush() // what follows belongs to the next test
		} else if p.open != nil {
			p.diag.add(bytes.TrimPrefix(s[1:], []byte(" ")))
			p.diag.add([]byte("\n"))
		}
		return
	}
	p.flush()
	if rest, ok := bytes.CutPrefix(s, []byte("Bail out!")); ok {
		p.bailed = true
		p.c.add(model.Case{Name: "Bail out!", Status: schema.StatusFailed, Message: string(bytes.TrimSpace(rest))})
		return
	}
	notOK := bytes.HasPrefix(s, []byte("not ok"))
	if rest, ok := bytes.CutPrefix(s, []byte("ok")); ok || notOK {
		if notOK {
			rest = s[len("not ok"):]
		}
		if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '#') {
			p.test(notOK, string(rest))
		}
		// else not TAP ("okay"), or prove's bare per-file "ok"
		return
	}
	if m := tapPlan.FindSubmatch(s); m != nil {
		n, err := strconv.Atoi(string(m[1]))
		if err != nil || n > 1<<30 {
			return // no script plans that many tests: not a plan
		}
		p.planned += n
		p.sawPlan = true
		if n == 0 {
			// "1..0 # SKIP why": the whole script was skipped.
			p.c.add(model.Case{Name: "TAP plan", Status: schema.StatusPending, Message: cutDirective(string(m[2]), "SKIP")})
		}
	}
}

// test reads a test line after its "ok" or "not ok".
func (p *tapParser) test(notOK bool, rest string) {
	p.tests++
	rest = strings.TrimSpace(rest)
	num := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
	number, rest := rest[:num], strings.TrimSpace(rest[num:])
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "-"))
	desc, directive := splitDirective(rest)
	k := model.Case{Name: desc, Status: schema.StatusPassed}
	if k.Name == "" && number != "" {
		k.Name = "test " + number
	} else if k.Name == "" {
		k.Name = fmt.Sprintf("test %d", p.tests)
	}
	p.lastName = k.Name
	upper := strings.ToUpper(directive)
	switch {
	case strings.HasPrefix(upper, "SKIP"):
		k.Status, k.Message = schema.StatusPending, cutDirective(directive, "SKIP")
	case strings.HasPrefix(upper, "TODO"):
		k.Status, k.Message = schema.StatusPending, cutDirective(directive, "TODO")
	case notOK:
		k.Status = schema.StatusFailed
	}
	if k.Status == schema.StatusPassed {
		p.c.add(k)
		return
	}
	p.open = &k
}

// flush adds the open case with the diagnostics that followed it.
func (p *tapParser) flush() {
	if p.open == nil {
		return
	}
	p.open.Message = joinMessage(p.open.Message, p.diag.String())
	p.c.add(*p.open)
	p.open, p.diag, p.inYAML = nil, capBuf{}, false
}

// splitDirective splits "desc # SKIP why" at the first unescaped '#'.
func splitDirective(s string) (desc, directive string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '#':
			return unescapeTAP(strings.TrimSpace(s[:i])), strings.TrimSpace(s[i+1:])
		}
	}
	return unescapeTAP(s), ""
}

var tapUnescaper = strings.NewReplacer(`\#`, `#`, `\\`, `\`)

func unescapeTAP(s string) string { return tapUnescaper.Replace(s) }

// cutDirective drops the directive word ("SKIP", "skipped", "TODO") and
// returns its reason.
func cutDirective(s, word string) string {
	if len(s) < len(word) || !strings.EqualFold(s[:len(word)], word) {
		return strings.TrimSpace(s)
	}
	s = s[len(word):]
	return strings.TrimSpace(strings.TrimLeft(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:"))
}

// looksTAP reports whether one of the first lines is a TAP version, plan
// or numbered test line.
func looksTAP(b []byte) bool {
	found := false
	lines(window(b), maxLine, func(line []byte) bool {
		found = tapVersion.Match(line) || tapPlan.Match(line) || tapNumber.Match(line)
		return !found
	})
	return found
}
