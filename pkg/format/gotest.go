package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// maxLine bounds one line of go test -json or TAP; longer lines are cut
// (a cut JSON event no longer decodes and is skipped).
const maxLine = 1 << 20

// goEvent is one line of go test -json (cmd/test2json).
type goEvent struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output and build-fail events (Go 1.24+)
	FailedBuild string
}

type goTest struct {
	pkg, name   string
	seq         int // start order
	depth       int // how many parents it has
	parent      *goTest
	out         tailBuf
	hasChildren bool
	childFailed bool
}

type goPackage struct {
	tests  map[string]*goTest // running tests by name
	out    tailBuf
	failed bool // a case of this package counted as failed
}

// goParser follows the event stream. A test with subtests is not a case
// itself (its subtests are), unless it fails while none of its subtests
// did: then its own failure is a case.
type goParser struct {
	c      collector
	pkgs   map[string]*goPackage // packages not yet ended
	builds map[string]*tailBuf   // build output by import path
	stray  tailBuf               // lines that are not events
	seq    int
	events int
}

func parseGoTest(in []byte, split func(model.Case) *collector) (Outcome, error) {
	p := &goParser{pkgs: map[string]*goPackage{}, builds: map[string]*tailBuf{}}
	p.c.split = split
	lines(in, maxLine, func(line []byte) bool {
		var ev goEvent
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &ev) != nil || ev.Action == "" {
			p.stray.add(string(line) + "\n")
			return true
		}
		p.events++
		p.event(ev)
		return true
	})
	if p.events == 0 {
		return Outcome{}, fmt.Errorf("go-test-json: %w: %w", ErrUnreadable,
			errors.New("no go test -json events found (run go test with -json)"))
	}
	// The stream ended: what is still open was cut off with it.
	names := make([]string, 0, len(p.pkgs))
	for name := range p.pkgs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p.endPackage(name, "fail", "")
	}
	return p.c.outcome(schema.FormatGoTestJSON), nil
}

func (p *goParser) pkg(name string) *goPackage {
	g := p.pkgs[name]
	if g == nil {
		g = &goPackage{tests: map[string]*goTest{}}
		p.pkgs[name] = g
	}
	return g
}

func (p *goParser) event(ev goEvent) {
	if ev.Action == "build-output" {
		b := p.builds[ev.ImportPath]
		if b == nil {
			b = &tailBuf{}
			p.builds[ev.ImportPath] = b
		}
		b.add(ev.Output)
		return
	}
	if ev.Package == "" {
		return // build-fail: the package's own fail event follows
	}
	g := p.pkg(ev.Package)
	if ev.Test == "" {
		switch ev.Action {
		case "output":
			g.out.add(ev.Output)
		case "pass", "fail", "skip":
			p.endPackage(ev.Package, ev.Action, ev.FailedBuild)
		}
		return
	}
	switch ev.Action {
	case "run", "output", "pass", "fail", "skip":
	default:
		return // pause, cont, bench: no news about the result
	}
	t := g.tests[ev.Test]
	if t == nil || ev.Action == "run" {
		p.seq++
		t = &goTest{pkg: ev.Package, name: ev.Test, seq: p.seq}
		g.tests[ev.Test] = t
		// One lookup per test: walking names up the tree instead would be
		// quadratic in a deep (or hostile) name.
		if t.parent = g.tests[parentName(ev.Test)]; t.parent != nil {
			t.parent.hasChildren = true
			t.depth = t.parent.depth + 1
		}
	}
	switch ev.Action {
	case "output":
		if !isGoNoise(ev.Output) {
			t.out.add(ev.Output)
		}
	case "pass", "fail", "skip":
		delete(g.tests, ev.Test)
		p.endTest(t, ev.Action, ev.Elapsed, "")
	}
}

// endTest counts a finished test as a case, if it is one.
func (p *goParser) endTest(t *goTest, action string, elapsed float64, note string) {
	if t.hasChildren && (action != "fail" || t.childFailed) {
		return
	}
	k := model.Case{Name: t.name, Classname: t.pkg, TimeSec: elapsed}
	switch action {
	case "pass":
		k.Status = schema.StatusPassed
	case "skip":
		k.Status = schema.StatusPending
		k.Message = strings.TrimSpace(t.out.String())
	default:
		k.Status = schema.StatusFailed
		k.Message = strings.TrimSpace(strings.TrimSpace(t.out.String()) + "\n" + note)
		p.pkg(t.pkg).failed = true
		for a := t.parent; a != nil && !a.childFailed; a = a.parent {
			a.childFailed = true
		}
	}
	p.c.add(k)
}

// endPackage settles a package. When it failed, its tests still running
// failed too (the test binary exited or was killed under them); when none
// of its cases failed (a build failure, a crash in TestMain), the package
// is one failed case.
func (p *goParser) endPackage(name, action, failedBuild string) {
	g := p.pkgs[name]
	if g == nil {
		return
	}
	defer delete(p.pkgs, name) // after its tests, which mark it failed
	var open []*goTest
	for _, t := range g.tests {
		// Benchmarks report no end when they pass.
		if action == "fail" && !strings.HasPrefix(t.name, "Benchmark") {
			open = append(open, t)
		}
	}
	// Deepest first, so a parent learns that a subtest failed.
	sort.Slice(open, func(i, j int) bool {
		if open[i].depth != open[j].depth {
			return open[i].depth > open[j].depth
		}
		return open[i].seq < open[j].seq
	})
	pkgOut := strings.TrimSpace(g.out.String())
	for _, t := range open {
		p.endTest(t, "fail", 0, "[rrr: the test did not finish]\n"+pkgOut)
	}
	if action != "fail" || g.failed {
		return
	}
	msg := pkgOut
	if b := p.builds[failedBuild]; failedBuild != "" && b != nil {
		msg = strings.TrimSpace(b.String()) + "\n" + msg
	} else if s := strings.TrimSpace(p.stray.String()); s != "" {
		msg = s + "\n" + msg // before Go 1.24 build errors were plain lines
	}
	p.c.add(model.Case{Name: name, Classname: name, Status: schema.StatusFailed, Message: strings.TrimSpace(msg)})
}

// parentName is the name of a subtest's parent, "" for a top-level test.
func parentName(name string) string {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ""
	}
	return name[:i]
}

// isGoNoise is output that only says what the events already say.
func isGoNoise(s string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS:", "--- FAIL:", "--- SKIP:"} {
		if strings.HasPrefix(strings.TrimLeft(s, " "), p) {
			return true
		}
	}
	return false
}

// looksGoTest reports whether one of the first lines is a go test -json event.
func looksGoTest(b []byte) bool {
	found := false
	lines(window(b), maxLine, func(line []byte) bool {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '{' {
			return true
		}
		var ev struct{ Action string }
		found = json.Unmarshal(line, &ev) == nil && ev.Action != ""
		return !found
	})
	return found
}

// tailBuf keeps the last bytes written to it, enough for a message.
type tailBuf struct {
	b       []byte
	dropped bool
}

func (t *tailBuf) add(s string) {
	t.b = append(t.b, s...)
	if len(t.b) > 2*MaxMessage {
		t.b = append(t.b[:0], t.b[len(t.b)-MaxMessage:]...)
		t.dropped = true
	}
}

func (t *tailBuf) String() string {
	s := dedent(string(t.b))
	if t.dropped {
		s = omitMark + s
	}
	return capTail(s)
}

// dedent removes the indentation all lines share: go test indents a
// test's output by its depth.
func dedent(s string) string {
	ls := strings.Split(s, "\n")
	indent := -1
	for _, l := range ls {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); indent < 0 || n < indent {
			indent = n
		}
	}
	if indent <= 0 {
		return s
	}
	for i, l := range ls {
		ls[i] = l[min(indent, len(l)-len(strings.TrimLeft(l, " "))):]
	}
	return strings.Join(ls, "\n")
}
