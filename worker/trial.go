package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/format"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/partition"
	"github.com/rrr-dev/rrr/pkg/proc"
	"github.com/rrr-dev/rrr/schema"
)

// Caps of a trial's report field.
const (
	MaxReportCases   = 500
	MaxReportMessage = 4 << 10
	// maxParseInput bounds what is read back from the report and stdout
	// files for the result format: far beyond any real report, short of
	// exhausting memory on a runaway test.
	maxParseInput = 64 << 20
)

// Timeouts returns the soft and hard timeouts of a trial (README.md, "Slaves and trials"):
// estimate known: soft = max(2e, least), hard = max(3e, least); unknown:
// soft = unknown, hard = soft + unknownHardExtra; and always hard >= soft
// + killGrace, so that SIGTERM has time to work.
func Timeouts(estimateSec *int, unknown, least, killGrace, unknownHardExtra time.Duration) (soft, hard time.Duration) {
	if estimateSec != nil {
		e := time.Duration(*estimateSec) * time.Second
		soft, hard = max(2*e, least), max(3*e, least)
	} else {
		soft = unknown
		hard = soft + unknownHardExtra
	}
	return soft, max(hard, soft+killGrace)
}

// trialOutcome is what a trial ended with, before it is written.
type trialOutcome struct {
	status                  string
	passed, pending, failed int
	fields                  map[string]string
}

func (o trialOutcome) result() schema.Result {
	return schema.Result{Status: o.status, Passed: o.passed, Pending: o.pending, Failed: o.failed, Fields: o.fields}
}

func errorOutcome(msg string) trialOutcome {
	return trialOutcome{status: schema.StatusError, fields: map[string]string{schema.FError: msg}}
}

// trialDir is where a trial's full output and report go.
func trialDir(outputDir, spec, trialID string) string {
	return filepath.Join(outputDir, "trials", url.PathEscape(spec), trialID)
}

// runTrial runs spec as a trial, with the taskset's trial command or in
// the slave's runner, and reads its result.
func (s *Slave) runTrial(ctx context.Context, spec, name string, estimateSec *int, trialID string) trialOutcome {
	dir := trialDir(s.cfg.OutputDir, spec, trialID)
	report := filepath.Join(dir, "report")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errorOutcome(fmt.Sprintf("create the output directory: %v", err))
	}
	if _, err := os.Stat(filepath.Join(s.cfg.WorkingCopy, filepath.FromSlash(spec))); err != nil {
		s.logf(zerolog.WarnLevel, nil, "spec file %s is not in the working copy %s: %v", spec, s.cfg.WorkingCopy, err)
	}
	soft, hard := Timeouts(estimateSec,
		time.Duration(s.ts.UnknownSpecTimeoutSec)*time.Second, time.Duration(s.ts.LeastTimeoutSec)*time.Second,
		s.cfg.Trial.KillGrace, s.cfg.Trial.UnknownHardExtra)
	stdoutPath, stderrPath := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	var (
		res    proc.Result
		broken error
	)
	if s.ts.Runner != "" {
		if s.runner == nil {
			return errorOutcome(fmt.Sprintf("runner %q on slave %s is not running; nothing was run", s.ts.Runner, s.cfg.Slave))
		}
		var cases []string
		if _, ok := s.ts.Partitions[name]; ok {
			var err error
			if cases, err = selectCases(s.ts.Partitions, name, spec, dir); err != nil {
				return errorOutcome(fmt.Sprintf("partition %s: %v", name, err))
			}
		}
		res, broken = s.runner.run(ctx, runnerRequest{
			Trial: trialID, File: spec, Cases: cases, Report: report, Stdout: stdoutPath, Stderr: stderrPath,
			Dir: s.cfg.WorkingCopy, Env: envMap(s.trialEnv(spec, report)),
		}, trialLimits{soft: soft, hard: hard, grace: s.cfg.Trial.Grace, answer: s.cfg.Trial.KillGrace},
			func(pgid int) { s.recordPgid(s.cfg.PgidFile, pgid) })
	} else {
		argv, err := trialArgv(s.ts.TrialCommand, []string{spec}, report)
		if strings.Contains(s.ts.TrialCommand, partition.Placeholder) {
			argv, err = casesArgv(s.ts.TrialCommand, s.ts.Partitions, name, spec, report)
		}
		if err != nil {
			return errorOutcome(fmt.Sprintf("trial command %q: %v", s.ts.TrialCommand, err))
		}
		var runErr error
		res, runErr = proc.Run(ctx, proc.Spec{
			Argv: argv, Dir: s.cfg.WorkingCopy, Env: s.trialEnv(spec, report),
			Soft: soft, Hard: hard, Grace: s.cfg.Trial.Grace, WaitDelay: s.cfg.Trial.WaitDelay,
			StdoutFile: stdoutPath, StderrFile: stderrPath,
			OnStart: func(pgid int) { s.recordPgid(s.cfg.PgidFile, pgid) },
		})
		if runErr != nil {
			s.clearPgid(s.cfg.PgidFile)
			return errorOutcome(fmt.Sprintf("could not run the trial in %s: %v", s.cfg.WorkingCopy, runErr))
		}
	}
	s.clearPgid(s.cfg.PgidFile)
	if res.OutputErr != nil {
		s.logf(zerolog.WarnLevel, nil, "full output of %s is incomplete: %v", spec, res.OutputErr)
	}
	if res.OutputCut {
		s.logf(zerolog.WarnLevel, nil, "trial of %s left a process outside its group holding its output; output after %s was not read", spec, s.cfg.Trial.WaitDelay)
	}
	out := s.readOutcome(res, dir, report)
	if _, ok := s.ts.Partitions[name]; ok && broken == nil {
		checkPartition(&out, s.ts.Partitions, name, spec, dir)
	}
	if broken != nil {
		// The trial did not end by itself: error (retried), or timeout
		// when ours fired first; the runner is started again.
		out.status = schema.StatusError
		if res.Timeout != proc.NoTimeout {
			out.status = schema.StatusTimeout
		}
		msg := fmt.Sprintf("runner %q on slave %s: %v", s.ts.Runner, s.cfg.Slave, broken)
		if res.Timeout != proc.NoTimeout || res.Cancelled {
			msg += " (" + res.Describe() + ")"
		}
		out.fields[schema.FError] = msg + "; it is started again for the next trial"
		if out.status == schema.StatusError && !res.Cancelled {
			out.fields[schema.FCrashed] = schema.CrashedRunner
		}
		s.runnerBroke(msg)
	}
	return out
}

// trialArgv is the trial command of specs: {files} (a word of its own)
// becomes one argument per spec, {file} the one spec, {report} the report;
// a command with neither placeholder gets the spec as its last argument.
// A spec is "./<spec>": unambiguous to the command (a path, never an
// option or a package name); the task id stays the clean spec.
func trialArgv(tpl string, specs []string, report string) ([]string, error) {
	if strings.Contains(tpl, "{files}") {
		words, err := proc.Template(tpl, map[string]string{"report": report})
		if err != nil {
			return nil, err
		}
		argv := make([]string, 0, len(words)+len(specs))
		for _, w := range words {
			if w != "{files}" {
				argv = append(argv, w)
				continue
			}
			for _, spec := range specs {
				argv = append(argv, schema.SpecArg(spec))
			}
		}
		return argv, nil
	}
	if len(specs) != 1 {
		return nil, fmt.Errorf("%w: %d spec files for a command without {files}", proc.ErrTemplate, len(specs))
	}
	if !strings.Contains(tpl, "{file}") {
		tpl += " {file}" // a bare command gets the spec file as its last argument
	}
	return proc.Template(tpl, map[string]string{"file": schema.SpecArg(specs[0]), "report": report})
}

// casesArgv is the trial command of the task named name: {cases} (a word
// of its own) becomes the arguments that select its cases (pkg/partition),
// {report} the report.
func casesArgv(tpl string, parts map[string]schema.Partition, name, spec, report string) ([]string, error) {
	words, err := proc.Template(tpl, map[string]string{"report": report})
	if err != nil {
		return nil, err
	}
	args, err := selectCases(parts, name, spec, filepath.Dir(report))
	if err != nil {
		return nil, err
	}
	argv := make([]string, 0, len(words)+len(args))
	for _, w := range words {
		if w == partition.Placeholder {
			argv = append(argv, args...)
		} else {
			argv = append(argv, w)
		}
	}
	return argv, nil
}

// selectCases is what runs the cases of the task named name
// (partition.Args), with the files it needs written into the trial's
// directory dir.
func selectCases(parts map[string]schema.Partition, name, spec, dir string) ([]string, error) {
	args, files, err := partition.Args(parts, name, spec, dir)
	if err != nil {
		return nil, err
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return nil, fmt.Errorf("write %s for partition %s: %w", path, name, err)
		}
	}
	return args, nil
}

// checkPartition holds a partition's result to its cases (docs/partitions.md):
// one that ran no case of its file is an error, never a pass (its cases
// were renamed or removed, or the command ignored the selection), and
// cases other than its own are noted on the trial.
func checkPartition(out *trialOutcome, parts map[string]schema.Partition, name, spec, dir string) {
	if out.status == schema.StatusTimeout || out.status == schema.StatusError {
		return
	}
	var cases []model.Case
	if r := out.fields[schema.FReport]; r != "" {
		_ = json.Unmarshal([]byte(r), &cases) // written by reportJSON just before
	}
	p := parts[name]
	ran := partition.CaseIDs(p.Style, spec, cases)
	if out.passed+out.pending+out.failed == 0 || (len(ran) == 0 && out.failed == 0) {
		out.status = schema.StatusError
		out.fields[schema.FError] = fmt.Sprintf("partition %s matched no case of %s (it should run %d: %s); "+
			"its cases were renamed or removed since they were known, or the trial command does not pass {cases} on; output in %s",
			name, spec, len(p.Cases), strings.Join(p.Cases[:min(len(p.Cases), 5)], ", "), dir)
		return
	}
	if note := partition.Check(parts, name, ran); note != "" {
		out.fields[schema.FPartitionNote] = note
	}
}

// readOutcome reads the report and output of a trial that ended and
// decides its result.
func (s *Slave) readOutcome(res proc.Result, dir, report string) trialOutcome {
	reportBytes, _ := readCapped(report, maxParseInput)
	stdout, err := readCapped(filepath.Join(dir, "stdout"), maxParseInput)
	if err != nil {
		stdout = res.Stdout.Bytes()
	}
	oc, parseErr := format.Parse(s.ts.ResultFormat, reportBytes, stdout)
	out := decide(res, oc, parseErr)
	out.fields[schema.FStdout] = res.Stdout.String()
	out.fields[schema.FStderr] = res.Stderr.String()
	out.fields[schema.FOutputPath] = s.cfg.Host + ":" + dir
	if oc.Format == "" {
		oc.Format = s.ts.ResultFormat
	}
	out.fields[schema.FFormat] = oc.Format
	if res.Exited {
		out.fields[schema.FExitCode] = strconv.Itoa(res.ExitCode)
	}
	if res.Signal != 0 {
		out.fields[schema.FSignal] = proc.SignalName(res.Signal)
	}
	if len(oc.Cases) > 0 {
		out.fields[schema.FReport] = reportJSON(oc.Cases)
	}
	return out
}

// decide gives a finished trial its status and counts (README.md, "Slaves and trials"):
// our timeout -> timeout; stopped by us -> error; a report with failures
// -> failed, pending -> pending, passes -> passed; no cases -> the exit
// code; a non-zero exit or a foreign signal with no failure in the report
// -> failed, with the reason in the error field.
func decide(res proc.Result, oc format.Outcome, parseErr error) trialOutcome {
	out := trialOutcome{fields: map[string]string{}}
	if parseErr == nil {
		out.passed, out.pending, out.failed = oc.Passed, oc.Pending, oc.Failed
	}
	switch {
	case res.Timeout != proc.NoTimeout:
		out.status = schema.StatusTimeout
		out.fields[schema.FError] = res.Describe()
		return out
	case res.Cancelled:
		out.status = schema.StatusError
		out.fields[schema.FError] = "the slave was stopped before the trial finished (the taskset ended or the worker is shutting down): " + res.Describe()
		return out
	case parseErr != nil:
		out.status = schema.StatusFailed
		out.fields[schema.FError] = fmt.Sprintf("report unreadable (%s): %v", res.Describe(), parseErr)
		return out
	}
	clean := res.Exited && res.ExitCode == 0
	switch {
	case out.failed > 0:
		out.status = schema.StatusFailed
	case !clean && out.passed+out.pending > 0:
		out.status = schema.StatusFailed
		out.fields[schema.FError] = fmt.Sprintf("%s, but the report shows no failure", res.Describe())
	case !clean:
		out.status = schema.StatusFailed
		if res.Signal != 0 {
			out.fields[schema.FError] = res.Describe()
		}
	case out.pending > 0:
		out.status = schema.StatusPending
	default:
		out.status = schema.StatusPassed
	}
	return out
}

// reportJSON is the report field: failed cases first, then pending, then
// passed, at most MaxReportCases, messages cut at MaxReportMessage bytes.
func reportJSON(cases []model.Case) string {
	rank := func(c model.Case) int {
		switch c.Status {
		case schema.StatusFailed:
			return 0
		case schema.StatusPending:
			return 1
		}
		return 2
	}
	cs := slices.Clone(cases)
	slices.SortStableFunc(cs, func(a, b model.Case) int { return cmp.Compare(rank(a), rank(b)) })
	if len(cs) > MaxReportCases {
		cs = cs[:MaxReportCases]
	}
	for i := range cs {
		if m := cs[i].Message; len(m) > MaxReportMessage {
			cut := MaxReportMessage
			for cut > 0 && !utf8.RuneStart(m[cut]) {
				cut--
			}
			cs[i].Message = m[:cut] + fmt.Sprintf("\n[rrr: %d bytes omitted]", len(m)-cut)
		}
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return "[]" // model.Case holds only strings and numbers
	}
	return string(b)
}

// readCapped reads at most limit bytes of a file.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// trialEnv is the environment of a trial: the slave's own, without rrr's
// internal variables (RRR_REDIS may carry a password), plus the trial's.
func (s *Slave) trialEnv(spec, report string) []string {
	return append(s.slaveEnv(), EnvSpecFile+"="+spec, EnvReport+"="+report)
}

// slaveEnv is what a trial and a runner share: the slave's environment
// without rrr's internal variables, plus the slave's number and taskset.
func (s *Slave) slaveEnv() []string {
	return append(baseEnv(),
		EnvSlaveNumber+"="+strconv.Itoa(s.cfg.Number),
		EnvNumSlaves+"="+strconv.Itoa(s.cfg.NumSlaves),
		EnvTaskset+"="+s.cfg.Taskset,
	)
}

// envMap turns KEY=VALUE entries into a map; later entries win.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// recordPgid tells the worker which process group to kill should this
// slave die: its trial's (PgidFile) or its runner's.
func (s *Slave) recordPgid(path string, pgid int) {
	if s.cfg.PgidFile == "" {
		return
	}
	if err := writeFileAtomic(path, strconv.Itoa(pgid)); err != nil {
		s.logf(zerolog.WarnLevel, nil, "record a process group in %s: %v", path, err)
	}
}

func (s *Slave) clearPgid(path string) {
	if s.cfg.PgidFile != "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.logf(zerolog.WarnLevel, nil, "remove %s: %v", path, err)
		}
	}
}

// runnerPgidFile is where a slave records its runner's process group,
// beside its trial's.
func runnerPgidFile(pgidFile string) string { return pgidFile + ".runner" }

// writeFileAtomic writes through a temporary file and a rename, so that a
// reader never sees half a number.
func writeFileAtomic(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readPgid reads a process group id written by recordPgid; 0 when none.
func readPgid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 1 {
		return 0
	}
	return n
}
