package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// ErrNothingToBisect: the spec never failed after another spec on its
// slave in the taskset, so there is no sequence to bisect.
var ErrNothingToBisect = errors.New("nothing to bisect")

// BisectPlan is what `rrr bisect KEY SPEC` starts from: the failed trial
// of Spec in taskset Of, and the spec files its slave ran before it.
type BisectPlan struct {
	Of, Spec string
	Trial    int // the failed trial's number among the spec's trials
	Slave    string
	Before   []string
}

// PlanBisect finds the trial of spec in s to bisect (model.SuspectOrder).
func PlanBisect(s *model.Snapshot, spec string) (BisectPlan, error) {
	p := BisectPlan{Of: s.Key, Spec: spec}
	if s.Status == schema.StatusRunning || s.Status == schema.StatusNone {
		return p, fmt.Errorf("bisect %s: %w: wait for it (rrr waitfor), or cancel it", s.Key, ErrStillRunning)
	}
	for _, t := range model.BySpec(s.Tasks) {
		if t.SpecFile != spec {
			continue
		}
		o, ok := model.SuspectOrder(s, t)
		if !ok {
			return p, fmt.Errorf("%w: no trial of %s in %s failed after another spec on its slave (%s)", ErrNothingToBisect, spec, s.Key, trialStatuses(t))
		}
		p.Trial, p.Slave, p.Before = o.Index+1, o.Slave, o.Before
		return p, nil
	}
	return p, fmt.Errorf("bisect %s %s: %w: no such spec file in that taskset", s.Key, spec, ErrBadSpec)
}

// BisectRun runs specs in that order, one after the other on one slave,
// as a new taskset, and reports whether the last of them (the spec being
// bisected) failed; key is the taskset's. An error is a run that gave no
// such answer (cancelled, its setup failed, the spec only errored).
type BisectRun func(ctx context.Context, specs []string) (key string, failed bool, err error)

// BisectResult is what Bisect found.
type BisectResult struct {
	Culprit string // the spec whose run before Spec makes it fail; "" when none was found
	Alone   bool   // Spec fails alone: it is not order dependent
	Why     string // when Culprit is "": why none was found
}

// Bisect looks for the one spec of p.Before whose run before p.Spec makes
// it fail, as ci-queue's bisect does: Spec alone first (if it fails alone
// it does not depend on the order), then the whole sequence (to reproduce
// the failure), then halving the candidates each round, keeping the half
// that still makes it fail. say gets a line per step.
func Bisect(ctx context.Context, p BisectPlan, run BisectRun, say func(string)) (BisectResult, error) {
	step := 0
	try := func(what string, before []string) (bool, error) {
		step++
		key, failed, err := run(ctx, append(append([]string{}, before...), p.Spec))
		if err != nil {
			return false, fmt.Errorf("step %d (%s): %w", step, what, err)
		}
		verdict := "passed"
		if failed {
			verdict = "failed"
		}
		say(fmt.Sprintf("step %d: %s: %s %s (%s)", step, what, p.Spec, verdict, key))
		return failed, nil
	}
	if failed, err := try(p.Spec+" alone", nil); err != nil || failed {
		return BisectResult{Alone: failed, Why: "it fails alone: not order dependent"}, err
	}
	cands := p.Before
	if failed, err := try(fmt.Sprintf("after the %d spec(s) that ran before it", len(cands)), cands); err != nil || !failed {
		return BisectResult{Why: fmt.Sprintf("not reproduced: it passed after the %d spec(s) that ran before it on %s", len(cands), p.Slave)}, err
	}
	for len(cands) > 1 {
		half := len(cands) / 2
		left, right := cands[:half], cands[half:]
		failed, err := try(describe(left), left)
		if err != nil {
			return BisectResult{}, err
		}
		if failed {
			cands = left
			continue
		}
		if failed, err = try(describe(right), right); err != nil {
			return BisectResult{}, err
		}
		if !failed {
			return BisectResult{Why: fmt.Sprintf("neither half alone makes it fail: it takes more than one of %s", strings.Join(cands, ", "))}, nil
		}
		cands = right
	}
	return BisectResult{Culprit: cands[0]}, nil
}

func describe(specs []string) string {
	if len(specs) == 1 {
		return "after " + specs[0]
	}
	return fmt.Sprintf("after %d spec(s), %s .. %s", len(specs), specs[0], specs[len(specs)-1])
}
