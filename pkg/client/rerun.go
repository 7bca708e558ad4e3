package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// Rerun is what `rrr start --rerun-failed KEY` takes from an earlier
// taskset: the spec files that did not pass there.
type Rerun struct {
	Of    string   // the earlier taskset's key
	Specs []string // failed, errored, or without a verdict (stopped, not run)
	// Skipped counts the specs that passed (or are pending) there, and
	// Missing the ones to rerun that are no longer in the project.
	Skipped int
	Missing []string
	// Why counts Specs by their verdict there: "2 failed, 1 not run".
	Why string
}

// ErrStillRunning is returned by RerunOf for a taskset that has not ended.
var ErrStillRunning = fmt.Errorf("%w: the taskset has not finished", ErrBadKey)

// RerunOf picks the spec files of s to run again, keeping those that are
// still files under dir.
func RerunOf(s *model.Snapshot, dir string) (Rerun, error) {
	r := Rerun{Of: s.Key}
	if s.Status == schema.StatusRunning || s.Status == schema.StatusNone {
		return r, fmt.Errorf("--rerun-failed %s: %w: wait for it (rrr waitfor), or cancel it", s.Key, ErrStillRunning)
	}
	counts := map[string]int{}
	var order []string
	for _, t := range model.BySpec(s.Tasks) { // a spec file that ran in partitions runs again whole
		why := t.Verdict()
		switch why {
		case schema.StatusPassed, schema.StatusPending:
			r.Skipped++
			continue
		case "":
			why = "without a verdict"
			if model.FinalTrial(t) == nil {
				why = "not run"
			}
		case schema.StatusError:
			why = "errored"
		}
		if counts[why] == 0 {
			order = append(order, why)
		}
		counts[why]++
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(t.SpecFile))); err != nil {
			r.Missing = append(r.Missing, t.SpecFile)
			continue
		}
		r.Specs = append(r.Specs, t.SpecFile)
	}
	parts := make([]string, len(order))
	for i, why := range order {
		parts[i] = fmt.Sprintf("%d %s", counts[why], why)
	}
	r.Why = strings.Join(parts, ", ")
	return r, nil
}

// String is the line the client prints before it starts the rerun.
func (r Rerun) String() string {
	if len(r.Specs) == 0 && len(r.Missing) == 0 {
		return fmt.Sprintf("nothing to rerun: every spec file of %s passed (%d)", r.Of, r.Skipped)
	}
	s := fmt.Sprintf("rerun of %s: %d spec file(s) that did not pass there (%s); %d that passed are skipped",
		r.Of, len(r.Specs), r.Why, r.Skipped)
	if len(r.Missing) > 0 {
		s += fmt.Sprintf("; %d no longer in the project are skipped too: %s", len(r.Missing), strings.Join(r.Missing, ", "))
	}
	return s
}

// Inherit fills the settings of ts that the command line, RRR_* variables
// and .rrr.yml left unset (isSet says which flags they set) from the
// earlier taskset, so a rerun runs as the run it repeats.
func Inherit(ts *schema.TasksetSpec, old model.Taskset, isSet func(flag string) bool) {
	if !isSet("trial-command") && !isSet("runner") && !isSet("slave-command") {
		ts.TrialCommand, ts.Runner, ts.SlaveCommand = old.TrialCommand, old.Runner, old.SlaveCommand
	}
	str := func(flag string, dst *string, v string) {
		if !isSet(flag) && v != "" {
			*dst = v
		}
	}
	num := func(flag string, dst *int, v int) {
		if !isSet(flag) && v > 0 {
			*dst = v
		}
	}
	str("setup-command", &ts.SetupCommand, old.SetupCommand)
	str("format", &ts.ResultFormat, old.ResultFormat)
	str("worker-type", &ts.WorkerType, old.WorkerType)
	str("taskset-class", &ts.TasksetClass, old.TasksetClass)
	num("max-trials", &ts.MaxTrials, old.MaxTrials)
	num("max-workers", &ts.MaxWorkers, old.MaxWorkers)
	num("max-failures", &ts.MaxFailures, old.MaxFailures)
	if !isSet("unknown-spec-timeout") && old.UnknownSpecTimeoutSec > 0 {
		ts.UnknownSpecTimeout = secondsOf(old.UnknownSpecTimeoutSec)
	}
	if !isSet("least-timeout") && old.LeastTimeoutSec > 0 {
		ts.LeastTimeout = secondsOf(old.LeastTimeoutSec)
	}
}

func secondsOf(n int) time.Duration { return time.Duration(n) * time.Second }
