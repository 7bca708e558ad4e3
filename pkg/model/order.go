package model

import (
	"sort"

	"github.com/rrr-dev/rrr/schema"
)

// Order-dependent failures: which specs ran before a trial on its slave.
// A slave runs its trials one after the other, and take_trial and
// start_trial stamp each one's started_at from the Redis clock as they
// push it onto the slave's trial list (<slave>:trial), so the trials of a
// slave sorted by started_at are that list, in Redis and in the results
// store alike (docs/protocol.md, "CI builds and ordered tasksets").

// RanBefore is the slave of the trial key and the spec files its slave
// ran before it in s, in the order they ran (each once, without the
// trial's own spec); "" and nil when s has no such trial.
func RanBefore(s *Snapshot, key string) (string, []string) {
	type run struct {
		spec string
		tr   *Trial
	}
	var me *Trial
	var spec string
	for i := range s.Tasks {
		for j := range s.Tasks[i].Trials {
			if tr := &s.Tasks[i].Trials[j]; tr.Key == key {
				me, spec = tr, s.Tasks[i].SpecFile
			}
		}
	}
	if me == nil || me.Slave == "" {
		return "", nil
	}
	var runs []run
	for i := range s.Tasks {
		for j := range s.Tasks[i].Trials {
			if tr := &s.Tasks[i].Trials[j]; tr.Slave == me.Slave && !tr.StartedAt.IsZero() {
				runs = append(runs, run{s.Tasks[i].SpecFile, tr})
			}
		}
	}
	sort.SliceStable(runs, func(a, b int) bool {
		ta, tb := runs[a].tr, runs[b].tr
		if !ta.StartedAt.Equal(tb.StartedAt.Time) {
			return ta.StartedAt.Before(tb.StartedAt.Time)
		}
		return ta.Key < tb.Key
	})
	seen := map[string]bool{spec: true}
	var before []string
	for _, r := range runs {
		if r.tr == me {
			break
		}
		if !seen[r.spec] {
			seen[r.spec] = true
			before = append(before, r.spec)
		}
	}
	return me.Slave, before
}

// OrderSuspect is the failed trial of a task that `rrr bisect` starts
// from: the first trial of t that failed or timed out after other spec
// files ran on its slave, with its slave and those spec files in order.
type OrderSuspect struct {
	Trial  *Trial
	Index  int // of Trial in t.Trials
	Slave  string
	Before []string
}

// SuspectOrder returns t's OrderSuspect; ok is false when no trial of t
// failed (or timed out) after another spec on its slave: every failed
// trial ran first there, or none failed.
func SuspectOrder(s *Snapshot, t Task) (OrderSuspect, bool) {
	for i := range t.Trials {
		tr := &t.Trials[i]
		if tr.Status != schema.StatusFailed && tr.Status != schema.StatusTimeout {
			continue
		}
		if slave, before := RanBefore(s, tr.Key); len(before) > 0 {
			return OrderSuspect{Trial: tr, Index: i, Slave: slave, Before: before}, true
		}
	}
	return OrderSuspect{}, false
}
