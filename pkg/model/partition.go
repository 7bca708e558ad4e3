package model

import (
	"regexp"
	"slices"
	"strings"

	"github.com/rrr-dev/rrr/schema"
)

// BySpec returns one task per spec file, in the order of their first task:
// the task itself for a spec file that ran whole, and for one that ran in
// partitions (docs/partitions.md) a task that stands for all of them
// (Merge). Counts, summaries and JUnit reports are per spec file.
func BySpec(tasks []Task) []Task {
	idx := map[string]int{}
	var groups [][]Task
	for _, t := range tasks {
		i, ok := idx[t.SpecFile]
		if !ok || t.Partition() == "" {
			idx[t.SpecFile] = len(groups)
			groups = append(groups, []Task{t})
			continue
		}
		groups[i] = append(groups[i], t)
	}
	out := make([]Task, len(groups))
	for i, g := range groups {
		out[i] = g[0]
		if g[0].Partition() != "" {
			out[i] = Merge(g)
		}
	}
	return out
}

// Merge is the task of a spec file that ran in partitions: failed when a
// partition failed a test; without a verdict while one has none; error when
// one errored; pending when one is pending; else passed. Its trials are
// all of theirs; for a passed file, the one that passed last comes first
// among the passed ones (FinalTrial), so that every failure before some
// partition passed makes it flaky.
func Merge(parts []Task) Task {
	m := parts[0]
	m.Key = m.Taskset + ":task:" + m.SpecFile
	if m.Taskset == "" {
		m.Key = m.SpecFile
	}
	m.Parts = len(parts)
	m.Trials = nil
	var failed, open, errored, pending bool
	for _, p := range parts {
		m.Trials = append(m.Trials, p.Trials...)
		switch v := p.Verdict(); v {
		case schema.StatusFailed:
			failed = true
		case schema.StatusError:
			errored = true
		case schema.StatusPending:
			pending = true
		case schema.StatusPassed:
		default:
			open = true
		}
		if p.Error != "" && m.Error == "" {
			m.Error = p.Error
		}
	}
	m.FailureKind = ""
	switch {
	case failed:
		m.Status = schema.StatusFailed
	case open:
		m.Status = ""
	case errored:
		m.Status, m.FailureKind = schema.StatusFailed, schema.FailureError
	case pending:
		m.Status = schema.StatusPending
	default:
		m.Status = schema.StatusPassed
	}
	if m.Status == schema.StatusPassed || m.Status == schema.StatusPending {
		// Stable: the other trials keep their order, the passed ones go
		// last-finished first after them.
		slices.SortStableFunc(m.Trials, func(a, b Trial) int {
			pa, pb := a.Status == m.Status, b.Status == m.Status
			switch {
			case pa && pb:
				return b.FinishedAt.Compare(a.FinishedAt.Time)
			case pa:
				return 1
			case pb:
				return -1
			}
			return 0
		})
	}
	return m
}

// PartOf is the "p<i>of<n>" of the key of a partition's task or trial,
// "" for one of a whole spec file.
func PartOf(key string) string {
	taskKey, _, _ := strings.Cut(key, ":trial:")
	i := strings.LastIndex(taskKey, "#p")
	if i < 0 || !partSuffix.MatchString(taskKey[i+1:]) {
		return ""
	}
	return taskKey[i+1:]
}

var partSuffix = regexp.MustCompile(`^p[0-9]+of[0-9]+$`)
