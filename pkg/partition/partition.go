// Package partition splits a spec file that is longer than a target into
// tasks of some of its cases each, and turns a partition back into the
// arguments that run it (docs/partitions.md). The cases and their times come
// from earlier reports (schema.CaseTimes, written by the persister); no
// framework is asked to collect them.
package partition

import (
	"cmp"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// Placeholder is the word of a trial command that becomes the arguments
// that select a task's cases: the spec file alone for a whole file.
const Placeholder = "{cases}"

// RunnerSelects reports whether runner (rrr start --runner) is one of the
// adapters rrr ships, which run the cases of a partition they are given
// (worker/runners; docs/runners.md, "cases").
func RunnerSelects(runner string) bool {
	first, _, _ := strings.Cut(strings.TrimSpace(runner), " ")
	return first == "pytest" || first == "rspec"
}

// StyleOf is the case style of the cases of a report read as format, ""
// when its cases cannot be selected one by one.
func StyleOf(format string) string {
	switch format {
	case schema.FormatGoTestJSON:
		return schema.StyleGo
	case schema.FormatJUnit:
		return schema.StylePytest // the classname is the module path, as pytest writes it
	case schema.FormatRSpecJSON:
		return schema.StyleRSpec
	}
	return ""
}

// CaseID is the id by which style selects case c of spec, "" when c is
// not a case it can select (a package that failed to build, a subtest's
// parent is selected instead of the subtest).
func CaseID(style, spec string, c model.Case) string {
	switch style {
	case schema.StyleGo:
		if c.Name == "" || c.Name == c.Classname {
			return "" // the package's own result (a build failure)
		}
		top, _, _ := strings.Cut(c.Name, "/")
		return top
	case schema.StylePytest:
		mod := strings.ReplaceAll(strings.TrimSuffix(spec, ".py"), "/", ".")
		if c.Name == "" {
			return ""
		}
		switch {
		case c.Classname == mod:
			return spec + "::" + c.Name
		case strings.HasPrefix(c.Classname, mod+"."):
			return spec + "::" + strings.ReplaceAll(c.Classname[len(mod)+1:], ".", "::") + "::" + c.Name
		}
	case schema.StyleRSpec:
		id := strings.TrimPrefix(c.ID, "./")
		if scoped, ok := strings.CutPrefix(id, spec+"["); ok {
			if s, ok := strings.CutSuffix(scoped, "]"); ok && rspecScoped.MatchString(s) {
				return id
			}
		}
	}
	return ""
}

// rspecScoped is the scoped id of one RSpec example or group: 1:2:1.
var rspecScoped = regexp.MustCompile(`^[0-9]+(:[0-9]+)*$`)

// scopedIDs are the scoped ids of RSpec case ids (spec[1:2] -> 1:2); an
// id that is not one of spec's is an error.
func scopedIDs(spec string, ids []string) ([]string, error) {
	out := make([]string, len(ids))
	for i, id := range ids {
		if CaseID(schema.StyleRSpec, spec, model.Case{ID: id}) == "" {
			return nil, fmt.Errorf("case %q: %w: not an RSpec example id of %s (%s[1:2])", id, schema.ErrInvalid, spec, spec)
		}
		out[i] = strings.TrimSuffix(strings.TrimPrefix(id, spec+"["), "]")
	}
	return out, nil
}

// RSpecRestHelper is the file, in the trial's output directory, that the
// rest partition of an RSpec file requires: it excludes the examples of the
// other partitions (RSpec has no option that deselects by id).
const RSpecRestHelper = "rrr_rest_partition.rb"

func rspecRestHelper(scoped []string) string {
	return "# rrr: the rest partition of a spec file runs every example but those of\n" +
		"# the other partitions (docs/partitions.md).\n" +
		"skip = %w[" + strings.Join(scoped, " ") + "]\n" +
		"RSpec.configure do |c|\n" +
		"  c.filter_run_excluding(scoped_id: ->(id) { skip.include?(id) })\n" +
		"end\n"
}

// CaseIDs are the distinct ids of cases in report order.
func CaseIDs(style, spec string, cases []model.Case) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range cases {
		if id := CaseID(style, spec, c); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Plan splits spec, estimated at est seconds, into partitions of about
// target seconds by the times of its cases: ceil(est / target) of them (at
// most one per case), each case given to the partition with the least time
// so far, longest case first. The last partition also runs the cases of
// the file that are in none (Rest). It returns the task names in order and
// the partitions; none when the spec is not longer than target or has
// fewer than two cases.
func Plan(spec string, est float64, ct schema.CaseTimes, target float64) ([]string, map[string]schema.Partition) {
	if target <= 0 || est <= target || len(ct.Cases) < 2 ||
		(ct.Style != schema.StyleGo && ct.Style != schema.StylePytest && ct.Style != schema.StyleRSpec) {
		return nil, nil
	}
	n := min(int(math.Ceil(est/target)), len(ct.Cases))
	if n < 2 {
		return nil, nil
	}
	ids := make([]string, 0, len(ct.Cases))
	for id := range ct.Cases {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(ct.Cases[b], ct.Cases[a]), cmp.Compare(a, b))
	})
	load := make([]float64, n)
	bins := make([][]string, n)
	for _, id := range ids {
		i := 0
		for j := range load {
			if load[j] < load[i] {
				i = j
			}
		}
		load[i] += max(ct.Cases[id], 0)
		bins[i] = append(bins[i], id)
	}
	names := make([]string, n)
	parts := make(map[string]schema.Partition, n)
	for i, b := range bins {
		slices.Sort(b)
		names[i] = schema.PartitionName(spec, i+1, n)
		parts[names[i]] = schema.Partition{Spec: spec, Style: ct.Style, Cases: b, Rest: i == n-1}
	}
	return names, parts
}

// Args is what {cases} becomes for the task named name of spec: the spec
// file (as schema.SpecArg) when it is not a partition of parts, else the
// arguments that run its cases in its style; the Rest partition skips the
// cases of the other partitions of its file instead. files are what the
// caller writes, path -> content, before the trial runs: the RSpec rest
// partition's helper, in the trial's output directory dir.
func Args(parts map[string]schema.Partition, name, spec, dir string) (args []string, files map[string]string, err error) {
	p, ok := parts[name]
	if !ok {
		return []string{schema.SpecArg(spec)}, nil, nil
	}
	if p.Style == schema.StyleRSpec {
		cases := p.Cases
		if p.Rest {
			cases = Others(parts, name)
		}
		scoped, err := scopedIDs(p.Spec, cases)
		if err != nil {
			return nil, nil, fmt.Errorf("partition %s: %w", name, err)
		}
		if p.Rest {
			helper := filepath.Join(dir, RSpecRestHelper)
			return []string{"--require", helper, schema.SpecArg(p.Spec)}, map[string]string{helper: rspecRestHelper(scoped)}, nil
		}
		return []string{schema.SpecArg(p.Spec) + "[" + strings.Join(scoped, ",") + "]"}, nil, nil
	}
	args, err = styleArgs(p, name, parts)
	return args, nil, err
}

// styleArgs are the arguments of a partition of the Go and pytest styles.
func styleArgs(p schema.Partition, name string, parts map[string]schema.Partition) ([]string, error) {
	cases := p.Cases
	if p.Rest {
		cases = Others(parts, name)
	}
	switch p.Style {
	case schema.StyleGo:
		flag := "-run"
		if p.Rest {
			flag = "-skip"
		}
		quoted := make([]string, len(cases))
		for i, c := range cases {
			quoted[i] = regexp.QuoteMeta(c)
		}
		return []string{flag, "^(" + strings.Join(quoted, "|") + ")$", schema.SpecArg(p.Spec)}, nil
	case schema.StylePytest:
		if p.Rest {
			out := []string{schema.SpecArg(p.Spec)}
			for _, c := range cases {
				out = append(out, "--deselect", c)
			}
			return out, nil
		}
		out := make([]string, len(cases))
		for i, c := range cases {
			out[i] = "./" + c
		}
		return out, nil
	}
	return nil, fmt.Errorf("partition %s: case style %q: %w", name, p.Style, schema.ErrInvalid)
}

// Others are the cases of the other partitions of name's spec file, sorted.
func Others(parts map[string]schema.Partition, name string) []string {
	var out []string
	for n, q := range parts {
		if n != name && q.Spec == parts[name].Spec {
			out = append(out, q.Cases...)
		}
	}
	slices.Sort(out)
	return out
}

// Check compares the case ids that ran in partition name with its cases:
// note says which ran outside it (the file changed since its cases were
// known, or a Rest partition's new ones) and which of it did not run; ""
// when they match.
func Check(parts map[string]schema.Partition, name string, ran []string) string {
	p := parts[name]
	want := map[string]bool{}
	for _, c := range p.Cases {
		want[c] = true
	}
	got := map[string]bool{}
	var extra, missing []string
	for _, id := range ran {
		got[id] = true
		if !want[id] {
			extra = append(extra, id)
		}
	}
	for _, c := range p.Cases {
		if !got[c] {
			missing = append(missing, c)
		}
	}
	var notes []string
	if len(extra) > 0 {
		notes = append(notes, fmt.Sprintf("%d case(s) ran that are not in this partition (new since its cases were known): %s",
			len(extra), list(extra)))
	}
	if len(missing) > 0 {
		notes = append(notes, fmt.Sprintf("%d case(s) of this partition did not run (renamed or removed?): %s", len(missing), list(missing)))
	}
	return strings.Join(notes, "; ")
}

// list names at most ten ids.
func list(ids []string) string {
	if len(ids) > 10 {
		return strings.Join(ids[:10], ", ") + fmt.Sprintf(" and %d more", len(ids)-10)
	}
	return strings.Join(ids, ", ")
}
