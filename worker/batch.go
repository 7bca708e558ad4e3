package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/format"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/proc"
	"github.com/rrr-dev/rrr/schema"
)

// Batches: several spec files in one trial command (docs/batches.md).

// batching reports whether the taskset's tasks are taken in batches, and
// how they are filled.
func (s *Slave) batching() (schema.Batching, bool) {
	if s.ts.BatchMax < 2 || s.ts.BatchTargetSec <= 0 {
		return schema.Batching{}, false
	}
	return schema.Batching{Max: s.ts.BatchMax, Slaves: max(s.ts.BatchSlaves, 1),
		TargetSec: s.ts.BatchTargetSec, Class: s.ts.TasksetClass}, true
}

// take takes the next batch of tasks of a taskset that runs batches
// (others take one task at a time with take_trial).
func (s *Slave) take(ctx context.Context) (schema.TakeOutcome, []string, error) {
	b, _ := s.batching()
	return s.c.TakeBatch(ctx, s.cfg.Taskset, s.cfg.Slave, b)
}

// batchMember is one task of a batch, with its running trial.
type batchMember struct {
	task, spec, trialID, trial string
	estimateSec                *int
}

// runBatch starts a trial of each task, runs their spec files in one
// command, and finishes each trial with its spec's part of the report;
// stop is true when the taskset turned out to be over.
func (s *Slave) runBatch(ctx context.Context, tasks []string) (stop bool) {
	var members []batchMember
	for _, task := range tasks {
		h, err := s.c.Hash(ctx, task)
		if err != nil {
			// The task left the queue; the arbiter's check finds it again.
			s.pause(ctx, "read task", err)
			continue
		}
		t, decodeErr := model.DecodeTask(task, h)
		spec, specErr := schema.CleanSpec(t.SpecFile)
		trialID := newID()
		out, trial, _, err := s.c.StartTrial(ctx, s.cfg.Taskset, task, trialID, s.cfg.Slave)
		if err != nil {
			s.logf(zerolog.ErrorLevel, err, "start a trial of %s", task)
			if !errors.Is(err, schema.ErrInvalid) {
				s.finish(ctx, schema.Trial(task, trialID), errorOutcome("the slave lost contact with Redis while starting the trial"))
			}
			continue
		}
		switch out {
		case schema.StartSettled:
			continue
		case schema.StartStopped:
			// Trials started already are finished as error below.
			stop = true
		}
		if stop {
			break
		}
		switch {
		case decodeErr != nil:
			s.finish(ctx, trial, errorOutcome(fmt.Sprintf("malformed task: %v; nothing was run", decodeErr)))
			continue
		case specErr != nil:
			s.finish(ctx, trial, errorOutcome(fmt.Sprintf("refused: %v; nothing was run", specErr)))
			continue
		}
		members = append(members, batchMember{task: task, spec: spec, trialID: trialID, trial: trial, estimateSec: t.EstimateSec})
	}
	if stop {
		for _, m := range members {
			s.finish(ctx, m.trial, errorOutcome("the taskset ended before the batch ran; nothing was run"))
		}
		s.logf(zerolog.InfoLevel, nil, "taskset is over: slave exits")
		return true
	}
	if len(members) == 0 {
		return false
	}
	batchID := newID()
	specs := make([]string, len(members))
	for i, m := range members {
		specs[i] = m.spec
	}
	s.logf(zerolog.InfoLevel, nil, "batch %s of %d spec files started: %s", batchID, len(members), strings.Join(specs, " "))
	outs := s.runBatchTrials(ctx, batchID, members)
	for i, m := range members {
		res := outs[i]
		if len(members) > 1 {
			res.fields[schema.FBatch] = batchID
			res.fields[schema.FBatchSize] = strconv.Itoa(len(members))
		}
		s.logf(zerolog.InfoLevel, nil, "trial %s of %s (batch %s): %s (passed %d, pending %d, failed %d)%s",
			m.trialID, m.spec, batchID, res.status, res.passed, res.pending, res.failed, errSuffix(res.fields[schema.FError]))
		s.finish(ctx, m.trial, res)
	}
	return false
}

// batchTimeouts are the timeouts of a batch: those of one spec whose
// estimate is the sum of the batch's; with an unknown estimate in it, the
// unknown timeout plus twice the known ones.
func (s *Slave) batchTimeouts(members []batchMember) (soft, hard time.Duration) {
	unknown := time.Duration(s.ts.UnknownSpecTimeoutSec) * time.Second
	least := time.Duration(s.ts.LeastTimeoutSec) * time.Second
	sum, anyUnknown := 0, false
	for _, m := range members {
		if m.estimateSec == nil {
			anyUnknown = true
			continue
		}
		sum += *m.estimateSec
	}
	if !anyUnknown {
		return Timeouts(&sum, unknown, least, s.cfg.Trial.KillGrace, s.cfg.Trial.UnknownHardExtra)
	}
	soft, hard = Timeouts(nil, unknown, least, s.cfg.Trial.KillGrace, s.cfg.Trial.UnknownHardExtra)
	extra := 2 * time.Duration(sum) * time.Second
	return soft + extra, hard + extra
}

// runBatchTrials runs the batch's spec files in one command and returns
// the outcome of each member.
func (s *Slave) runBatchTrials(ctx context.Context, batchID string, members []batchMember) []trialOutcome {
	specs := make([]string, len(members))
	for i, m := range members {
		specs[i] = m.spec
	}
	all := func(o func() trialOutcome) []trialOutcome {
		outs := make([]trialOutcome, len(members))
		for i := range outs {
			outs[i] = o()
		}
		return outs
	}
	dir := filepath.Join(s.cfg.OutputDir, "batches", batchID)
	report := filepath.Join(dir, "report")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return all(func() trialOutcome { return errorOutcome(fmt.Sprintf("create the output directory: %v", err)) })
	}
	soft, hard := s.batchTimeouts(members)
	stdoutPath, stderrPath := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	// A taskset has a runner or a trial command, never both
	// (schema.TasksetSpec.Validate), and only a trial command takes {files}.
	argv, err := trialArgv(s.ts.TrialCommand, specs, report)
	if err != nil {
		return all(func() trialOutcome { return errorOutcome(fmt.Sprintf("trial command %q: %v", s.ts.TrialCommand, err)) })
	}
	res, err := proc.Run(ctx, proc.Spec{
		Argv: argv, Dir: s.cfg.WorkingCopy, Env: append(s.slaveEnv(), EnvReport+"="+report),
		Soft: soft, Hard: hard, Grace: s.cfg.Trial.Grace, WaitDelay: s.cfg.Trial.WaitDelay,
		StdoutFile: stdoutPath, StderrFile: stderrPath,
		OnStart: func(pgid int) { s.recordPgid(s.cfg.PgidFile, pgid) },
	})
	s.clearPgid(s.cfg.PgidFile)
	if err != nil {
		return all(func() trialOutcome {
			return errorOutcome(fmt.Sprintf("could not run the trial in %s: %v", s.cfg.WorkingCopy, err))
		})
	}
	reportBytes, _ := readCapped(report, maxParseInput)
	stdout, err := readCapped(stdoutPath, maxParseInput)
	if err != nil {
		stdout = res.Stdout.Bytes()
	}
	total, parts, parseErr := format.ParseSplit(s.ts.ResultFormat, reportBytes, stdout, specOfCase(specs, s.cfg.WorkingCopy))
	outs := splitBatch(res, specs, total, parts, parseErr)
	var caseSec float64
	specSec := make([]float64, len(specs))
	for i, spec := range specs {
		for _, c := range parts[spec].Cases {
			specSec[i] += c.TimeSec
		}
		caseSec += specSec[i]
	}
	for i, spec := range specs {
		o := &outs[i]
		if o.status != schema.StatusPassed && o.status != schema.StatusPending {
			// The batch's output is the only clue to what went wrong.
			o.fields[schema.FStdout] = res.Stdout.String()
			o.fields[schema.FStderr] = res.Stderr.String()
		}
		o.fields[schema.FOutputPath] = s.cfg.Host + ":" + dir
		f := total.Format
		if f == "" {
			f = s.ts.ResultFormat
		}
		o.fields[schema.FFormat] = f
		if res.Exited {
			o.fields[schema.FExitCode] = strconv.Itoa(res.ExitCode)
		}
		if res.Signal != 0 {
			o.fields[schema.FSignal] = proc.SignalName(res.Signal)
		}
		if cs := parts[spec].Cases; len(cs) > 0 {
			o.fields[schema.FReport] = reportJSON(cs)
		}
		share := res.Duration.Seconds() / float64(len(specs))
		if caseSec > 0 {
			share = res.Duration.Seconds() * specSec[i] / caseSec
		}
		if len(specs) > 1 {
			o.fields[schema.FBatchShareSec] = strconv.FormatFloat(max(share, 0.001), 'f', 3, 64)
		}
	}
	return outs
}

// batchError is the outcome of every spec of a batch that did not end by
// itself or whose report cannot be read: error, so that each is retried
// alone rather than failed for what another spec of the batch did.
func batchError(res proc.Result, n int, why string) trialOutcome {
	o := errorOutcome(fmt.Sprintf("the batch of %d spec files %s; each is retried alone", n, why))
	o.passed, o.pending, o.failed = 0, 0, 0
	return o
}

// splitBatch gives each spec of a batch its result (docs/batches.md):
//   - the batch timed out, was stopped, was killed by a signal, or its
//     report cannot be read: error for all;
//   - a spec with failed cases of its own: failed;
//   - failed cases that name no spec of the batch: error for every spec
//     without failures of its own (the failure may be theirs);
//   - a spec with cases, none failed: pending or passed;
//   - a spec without cases: passed when the batch exited 0 (as alone: no
//     cases and exit 0 passes), else error;
//   - a batch that exited non-zero with no failed case at all: error for
//     every spec without failures.
func splitBatch(res proc.Result, specs []string, total format.Outcome, parts map[string]format.Outcome, parseErr error) []trialOutcome {
	outs := make([]trialOutcome, len(specs))
	n := len(specs)
	var why string
	switch {
	case res.Timeout != proc.NoTimeout:
		why = "timed out (" + res.Describe() + ")"
	case res.Cancelled:
		why = "was stopped before it finished (the taskset ended or the worker is shutting down): " + res.Describe()
	case res.Signal != 0:
		why = "crashed: " + res.Describe()
	case parseErr != nil:
		why = fmt.Sprintf("left a report that cannot be read (%s): %v", res.Describe(), parseErr)
	}
	if why != "" {
		for i := range outs {
			outs[i] = batchError(res, n, why)
		}
		return outs
	}
	own := 0
	for _, spec := range specs {
		own += parts[spec].Failed
	}
	stray := total.Failed - own
	clean := res.Exited && res.ExitCode == 0
	for i, spec := range specs {
		p := parts[spec]
		o := trialOutcome{fields: map[string]string{}, passed: p.Passed, pending: p.Pending, failed: p.Failed}
		switch {
		case p.Failed > 0:
			o.status = schema.StatusFailed
		case stray > 0:
			o = batchError(res, n, fmt.Sprintf("has %d failed case(s) in its report that name no spec file of the batch (e.g. %s)",
				stray, strayExample(total, parts, specs)))
		case !clean && total.Failed == 0:
			o = batchError(res, n, res.Describe()+", but no case of its report failed")
		case p.Passed+p.Pending == 0 && !clean:
			o = batchError(res, n, res.Describe()+", and its report has no case of "+spec)
		case p.Pending > 0:
			o.status = schema.StatusPending
		default:
			o.status = schema.StatusPassed
		}
		outs[i] = o
	}
	return outs
}

// strayExample names a failed case of a batch's report that is not of a
// spec of the batch.
func strayExample(total format.Outcome, parts map[string]format.Outcome, specs []string) string {
	ours := map[string]bool{}
	for _, s := range specs {
		ours[s] = true
	}
	for key, p := range parts {
		if ours[key] {
			continue
		}
		for _, c := range p.Cases {
			if c.Status == schema.StatusFailed {
				return strconv.Quote(caseLabel(c))
			}
		}
	}
	return "a failure outside any case"
}

func caseLabel(c model.Case) string {
	for _, s := range []string{c.File, c.Classname} {
		if s != "" {
			return s + ": " + c.Name
		}
	}
	return c.Name
}

// specOfCase says which spec file of a batch a case of its report is of
// ("" for none): by its file (JUnit file, RSpec file_path), else by its
// class name: a Go package path ending in the spec's directory, or a
// dotted module path (pytest's classname) of the spec. The longest match
// wins.
func specOfCase(specs []string, workingCopy string) func(model.Case) string {
	bySpec := make(map[string]bool, len(specs))
	for _, s := range specs {
		bySpec[s] = true
	}
	return func(c model.Case) string {
		if f := c.File; f != "" {
			if filepath.IsAbs(f) {
				if rel, err := filepath.Rel(workingCopy, f); err == nil {
					f = filepath.ToSlash(rel)
				}
			}
			if f = path.Clean(f); bySpec[f] {
				return f
			}
			// RSpec example ids and pytest node ids: file[1:2], file::test
			if i := strings.IndexAny(f, "[:"); i > 0 && bySpec[f[:i]] {
				return f[:i]
			}
		}
		best := ""
		for _, s := range specs {
			if len(s) > len(best) && classOf(c.Classname, s) {
				best = s
			}
		}
		return best
	}
}

// classOf reports whether a case's class name names spec: the spec
// itself, a Go package path that ends in it, or its dotted module path
// (spec a/b/test_c.py: a.b.test_c, a.b.test_c.TestX).
func classOf(class, spec string) bool {
	if class == "" {
		return false
	}
	if class == spec || strings.HasSuffix(class, "/"+spec) {
		return true
	}
	mod := strings.ReplaceAll(strings.TrimSuffix(spec, path.Ext(spec)), "/", ".")
	return class == mod || strings.HasPrefix(class, mod+".")
}
