package worker

import (
	"regexp"
	"strings"

	"github.com/rrr-dev/rrr/schema"
)

// The original RRRSpec client names no trial command: its slave command
// (`bundle exec rrrspec-client slave`, often after a `cd DIR` line) starts
// its own Ruby slave, which loads RSpec and runs each spec file. rrr runs
// such a taskset with its own slave and RSpec, so that the original client
// drives an rrr fleet unchanged. See docs/protocol.md, "The original
// client".
var (
	originalSlaveLine = regexp.MustCompile(`^(bundle\s+exec\s+)?(\S*/)?rrrspec(-client)?\s+slave$`)
	cdLine            = regexp.MustCompile(`^cd\s+\S+$`)
)

// originalSlave reports whether cmd is a slave command of the original
// client: its last line starts the original slave, and any lines before it
// only change directory. It also says whether the slave ran under bundler
// (the RSpec runner loads bundler by itself when there is a Gemfile).
func originalSlave(cmd string) (ok, bundled bool) {
	var lines []string
	for _, l := range strings.Split(cmd, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return false, false
	}
	last := lines[len(lines)-1]
	m := originalSlaveLine.FindStringSubmatch(last)
	if m == nil {
		return false, false
	}
	for _, l := range lines[:len(lines)-1] {
		if !cdLine.MatchString(l) {
			return false, false
		}
	}
	return true, m[1] != ""
}

// customSlave reports whether a taskset's slave command replaces rrr's
// slave: it does unless it is empty or the original client's.
func customSlave(cmd string) bool {
	if strings.TrimSpace(cmd) == "" {
		return false
	}
	ok, _ := originalSlave(cmd)
	return !ok
}

// defaultRunner is how rrr runs a taskset that names neither a trial
// command nor a runner (the original client never does): in the RSpec
// runner (worker/runners), which loads bundler when the project has a
// Gemfile and spec_helper once per slave, with a JSON report. Trials run in
// the working copy's root, where the spec paths are relative to; `cd` lines
// of the original slave command are not followed.
func defaultRunner(format string) (runner, resultFormat string) {
	if format == "" {
		format = schema.FormatRSpecJSON
	}
	return "rspec", format
}
