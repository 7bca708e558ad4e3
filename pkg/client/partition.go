package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rrr-dev/rrr/pkg/partition"
	"github.com/rrr-dev/rrr/schema"
)

// Partitioned reports whether the taskset's trials can run part of a spec
// file (docs/partitions.md): its trial command takes {cases}, or its
// runner is one of rrr's adapters, which select cases as pytest and RSpec
// do.
func Partitioned(ts schema.TasksetSpec) bool {
	return strings.Contains(ts.TrialCommand, partition.Placeholder) || partition.RunnerSelects(ts.Runner)
}

// PlanPartitions splits the specs of ts whose estimate (nil: unknown) is
// longer than target (0: the known work over slaves) into partitions by
// the known times of their cases, and returns the specs it could not split
// although they are that long (their cases are not known yet). Specs keeps
// its order: a partitioned spec's place holds its partitions.
func PlanPartitions(ts *schema.TasksetSpec, estimates []*float64, cases map[string]schema.CaseTimes, slaves int, target time.Duration) (sec float64, whole []string) {
	var work float64
	for _, e := range estimates {
		if e != nil {
			work += *e
		}
	}
	sec = target.Seconds()
	if sec <= 0 {
		sec = work / float64(max(slaves, 1))
	}
	specs := make([]string, 0, len(ts.Specs))
	for i, spec := range ts.Specs {
		if estimates[i] == nil || *estimates[i] <= sec || sec <= 0 {
			specs = append(specs, spec)
			continue
		}
		names, parts := partition.Plan(spec, *estimates[i], cases[spec], sec)
		if len(names) == 0 {
			whole = append(whole, spec)
			specs = append(specs, spec)
			continue
		}
		if ts.Partitions == nil {
			ts.Partitions = map[string]schema.Partition{}
		}
		for _, n := range names {
			ts.Partitions[n] = parts[n]
		}
		specs = append(specs, names...)
	}
	ts.Specs = specs
	return sec, whole
}

// planPartitions reads the estimates and the known cases of ts's specs and
// splits the long ones (slaves 0: count the slaves of the live workers).
func (c *Client) planPartitions(ctx context.Context, ts *schema.TasksetSpec, slaves int, target time.Duration) error {
	est, err := c.Schema.Estimates(ctx, ts.TasksetClass, ts.Specs)
	if err != nil {
		return err
	}
	cases, err := c.Schema.CaseEstimates(ctx, ts.TasksetClass, ts.Specs)
	if err != nil {
		return err
	}
	if slaves <= 0 {
		if slaves, err = c.fleetSlaves(ctx, ts.WorkerType, ts.MaxWorkers); err != nil {
			return err
		}
	}
	before := len(ts.Specs)
	sec, whole := PlanPartitions(ts, est, cases, slaves, target)
	if n := len(ts.Partitions); n > 0 {
		files := map[string]bool{}
		for _, p := range ts.Partitions {
			files[p.Spec] = true
		}
		c.say("partitions: %d spec file(s) longer than %.1fs run in %d partitions (%d tasks for %d spec files)",
			len(files), sec, n, len(ts.Specs), before)
	}
	if len(whole) > 0 {
		c.say("partitions: %d spec file(s) longer than %.1fs run whole: their cases are not known yet (this run records them), e.g. %s",
			len(whole), sec, whole[0])
	}
	return nil
}

// checkCases refuses a {cases} that is not a word of its own, or that
// comes with {file} or {files}.
func checkCases(tpl string, words []string) error {
	if strings.Contains(tpl, "{file}") || strings.Contains(tpl, "{files}") {
		return fmt.Errorf("--trial-command %q: %w: {cases} stands for the spec file and the cases of it to run: give it without {file} or {files}",
			tpl, ErrBadTrialCommand)
	}
	for _, w := range words {
		if strings.Contains(w, partition.Placeholder) && w != partition.Placeholder {
			return fmt.Errorf("--trial-command %q: %w: {cases} must be a word of its own (it becomes the spec file, or the arguments that run part of it), not part of %q",
				tpl, ErrBadTrialCommand, w)
		}
	}
	return nil
}
