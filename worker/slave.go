package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// SlaveDeps are what a slave talks through.
type SlaveDeps struct {
	Client *schema.Client
	Logger zerolog.Logger
}

// Slave pulls the tasks of one taskset and runs each as a trial, until the
// taskset is over or its context ends.
type Slave struct {
	cfg   SlaveConfig
	c     *schema.Client
	log   zerolog.Logger
	ts    model.Taskset
	every func(string) bool
	// runner is the taskset's runner while it runs (nil: none, or it
	// must be started again).
	runner *runner

	// held collects the slave log's lines during a trial, written with
	// the trial's result in one round trip (nil: write each at once).
	heldMu sync.Mutex
	held   *strings.Builder
	// tripped: the worker's circuit breaker tripped (breaker.go); the
	// slave stops.
	tripped bool
}

// maxHeld bounds the log text held back during a trial; past it the lines
// are written at once.
const maxHeld = 64 << 10

// NewSlave fills the defaults of cfg, checks it and returns a slave.
func NewSlave(cfg SlaveConfig, deps SlaveDeps) (*Slave, error) {
	if deps.Client == nil {
		return nil, fmt.Errorf("%w: a slave needs a Redis client", ErrConfig)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Slave{cfg: cfg, c: deps.Client, every: logx.Every(30*time.Second, time.Now)}
	s.log = component(deps.Logger, "slave").With().Str("slave", cfg.Slave).Logger()
	return s, nil
}

// logf logs a message, and keeps it (info and above, whatever the log
// level) in the slave's log in Redis, which is stored with the taskset.
func (s *Slave) logf(level zerolog.Level, err error, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.log.WithLevel(level).Err(err).Msg(msg)
	if level < zerolog.InfoLevel {
		return
	}
	if err != nil {
		msg += ": " + err.Error()
	}
	line := fmt.Sprintf("%s %s %s\n", time.Now().UTC().Format(time.RFC3339), level, msg)
	s.heldMu.Lock()
	if s.held != nil && s.held.Len()+len(line) <= maxHeld {
		s.held.WriteString(line)
		s.heldMu.Unlock()
		return
	}
	s.heldMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.c.AppendLog(ctx, schema.SlaveLog(s.cfg.Slave), line, s.cfg.Trial.LogCap)
}

// Run registers the slave and works until the taskset is over (nil) or
// ctx ends (nil: a trial in hand is stopped and recorded as error, so that
// it is retried elsewhere). An error means the slave could not work at all.
func (s *Slave) Run(ctx context.Context) (err error) {
	fields := map[string]string{
		schema.FWorker: s.cfg.Worker, schema.FNumber: strconv.Itoa(s.cfg.Number),
		schema.FPid: strconv.Itoa(os.Getpid()),
	}
	if err := s.c.RegisterSlave(ctx, s.cfg.Taskset, s.cfg.Slave, s.cfg.HeartbeatTTL, fields); err != nil {
		return fmt.Errorf("register slave %s: %w", s.cfg.Slave, err)
	}
	hbCtx, stopHB := context.WithCancel(context.WithoutCancel(ctx))
	var hb sync.WaitGroup
	hb.Add(1)
	go func() { defer hb.Done(); s.heartbeat(hbCtx) }()
	defer func() {
		stopHB()
		hb.Wait()
		fin, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		// On an error the slave exits non-zero, and the worker records
		// the failure.
		if err == nil || errors.Is(err, ErrBreakerTripped) {
			if _, serr := s.c.Stamp(fin, s.cfg.Slave, schema.FFinishedAt, schema.FStatus, schema.SlaveNormalExit); serr != nil {
				s.logf(zerolog.WarnLevel, serr, "record the slave's exit")
			}
		}
		_ = s.c.EndHeartbeat(fin, s.cfg.Slave)
	}()

	ts, err := model.NewReader(s.c).Taskset(ctx, s.cfg.Taskset)
	if err != nil {
		return fmt.Errorf("slave %s: %w", s.cfg.Slave, err)
	}
	s.ts = ts
	if ts.Status != schema.StatusRunning {
		s.logf(zerolog.InfoLevel, nil, "taskset %s is %q, not running: nothing to do", ts.Key, ts.Status)
		return nil
	}
	if ts.TrialCommand == "" && ts.Runner == "" {
		// The original RRRSpec client names neither (see compat.go).
		ts.Runner, ts.ResultFormat = defaultRunner(ts.ResultFormat)
		s.ts = ts
		s.logf(zerolog.InfoLevel, nil, "taskset %s names no trial command nor runner (as the original RRRSpec client writes it): running it with the %s runner", ts.Key, ts.Runner)
	}
	s.logf(zerolog.InfoLevel, nil, "slave %d of %d started on %s (pid %d)", s.cfg.Number, s.cfg.NumSlaves, ts.Key, os.Getpid())
	defer s.stopRunner()

	sub := s.c.SubscribeEvents(ctx, s.cfg.Taskset)
	defer sub.Close()
	events := sub.Channel()

	idle := false
	// The runner starts before the first task is taken; one that failed
	// starts again when there is a task for it.
	if !s.ensureRunner(ctx) {
		return nil
	}
	for ctx.Err() == nil {
		if _, batching := s.batching(); batching {
			// Batches: take_batch, then a trial of each task (worker/batch.go).
			out, tasks, err := s.take(ctx)
			if err != nil {
				s.pause(ctx, "take", err)
				continue
			}
			if out == schema.TakeOK {
				idle = false
				if !s.ensureRunner(ctx) {
					break
				}
				if stop := s.runBatch(ctx, tasks); stop {
					break
				}
				continue
			}
		} else {
			// One round trip takes a task and starts its trial (take_trial).
			trialID := newID()
			out, taken, err := s.c.TakeTrial(ctx, s.cfg.Taskset, s.cfg.Slave, trialID)
			if err != nil {
				s.logf(zerolog.ErrorLevel, err, "take and start a trial")
				if !errors.Is(err, schema.ErrInvalid) {
					// The reply was lost, maybe not the write: a trial left
					// running under a live slave would never be recovered.
					s.abandonLostStart(ctx, trialID)
				}
				s.pause(ctx, "take", err)
				continue
			}
			switch out {
			case schema.TakeOK:
				idle = false
				if !s.ensureRunner(ctx) {
					s.finishTaken(ctx, taken, errorOutcome("the slave could not start its runner; nothing was run"))
					return nil
				}
				s.runTask(ctx, taken)
				if s.tripped {
					return ErrBreakerTripped
				}
				continue
			case schema.TakeAgain:
				continue
			case schema.TakeStopped:
				s.logf(zerolog.InfoLevel, nil, "taskset is over: slave exits")
				return nil
			}
		}
		// Nothing this slave may take: let the arbiter look (it may finish
		// the taskset or queue the slow tail again), once per idle period.
		if !idle {
			idle = true
			if err := s.c.SendCommand(ctx, schema.Command{Verb: schema.CmdCheck, Key: s.cfg.Taskset}); err != nil {
				s.pause(ctx, "check", err)
			}
		}
		s.waitForWork(ctx, events)
		status, err := s.c.Field(ctx, s.cfg.Taskset, schema.FStatus)
		if err != nil {
			s.pause(ctx, "status", err)
			continue
		}
		if status != schema.StatusRunning {
			s.logf(zerolog.InfoLevel, nil, "taskset is %q: slave exits", status)
			break
		}
	}
	return nil
}

// heartbeat keeps the slave's heartbeat alive until ctx ends.
func (s *Slave) heartbeat(ctx context.Context) {
	loopx.Heartbeat(ctx, s.cfg.HeartbeatInterval, func() {
		if err := s.c.Beat(ctx, s.cfg.Slave, s.cfg.HeartbeatTTL); err != nil && ctx.Err() == nil && s.every("beat") {
			s.logf(zerolog.WarnLevel, err, "slave heartbeat")
		}
	})
}

// waitForWork returns on a "queued" or "finished" event of the taskset,
// after IdleWait, or when ctx ends.
func (s *Slave) waitForWork(ctx context.Context, events <-chan *redis.Message) {
	t := time.NewTimer(s.cfg.Trial.IdleWait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case m, ok := <-events:
			if !ok {
				events = nil // the subscription is gone: wait for the timer
				continue
			}
			switch schema.ParseEvent(m.Payload).Kind {
			case schema.EventQueued, schema.EventFinished:
				return
			}
		}
	}
}

// pause logs a Redis error (once per interval) and waits a second.
func (s *Slave) pause(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	if s.every(what) {
		s.logf(zerolog.WarnLevel, err, "%s failed; retrying", what)
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

// runTask runs the trial take_trial started, and records its result; the
// slave log's lines of the trial go with the result.
func (s *Slave) runTask(ctx context.Context, taken *schema.Taken) {
	s.heldMu.Lock()
	s.held = &strings.Builder{}
	s.heldMu.Unlock()
	t, decodeErr := model.DecodeTask(taken.Task, taken.Fields)
	spec, specErr := schema.CleanSpec(t.SpecFile)
	trialID := taken.Trial[strings.LastIndexByte(taken.Trial, ':')+1:]
	var res trialOutcome
	switch {
	case decodeErr != nil:
		res = errorOutcome(fmt.Sprintf("malformed task: %v; nothing was run", decodeErr))
	case specErr != nil:
		res = errorOutcome(fmt.Sprintf("refused: %v; nothing was run", specErr))
	default:
		s.logf(zerolog.InfoLevel, nil, "trial %s of %s started", trialID, spec)
		start := time.Now()
		res = s.runTrial(ctx, spec, t.Name(), t.EstimateSec, trialID)
		if ctx.Err() == nil { // a trial stopped with the slave says nothing of the box
			s.markFast(&res, time.Since(start), t.EstimateSec)
		}
	}
	s.logf(zerolog.InfoLevel, nil, "trial %s of %s: %s (passed %d, pending %d, failed %d)%s",
		trialID, t.SpecFile, res.status, res.passed, res.pending, res.failed, errSuffix(res.fields[schema.FError]))
	s.finishTaken(ctx, taken, res)
}

// finishTaken records the result of a trial take_trial started, with the
// held log lines, and settles its task, in one round trip; it retries
// while Redis is unreachable (for a while even when ctx has ended: the
// result is worth keeping). A retry after a reply that was lost with the
// write applied changes nothing: the first result wins.
func (s *Slave) finishTaken(ctx context.Context, taken *schema.Taken, res trialOutcome) {
	s.heldMu.Lock()
	var held string
	if s.held != nil {
		held = s.held.String()
	}
	s.held = nil
	s.heldMu.Unlock()
	bg := context.WithoutCancel(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; ; attempt++ {
		wctx, cancel := context.WithTimeout(bg, 5*time.Second)
		var f schema.Finished
		var err error
		if s.cfg.Breaker > 0 {
			f, err = s.c.FinishAndCount(wctx, s.cfg.Taskset, taken.Task, taken.Trial, s.cfg.Slave, s.cfg.Worker, held, s.cfg.Trial.LogCap, res.result())
		} else {
			f, err = s.c.FinishAndSettle(wctx, s.cfg.Taskset, taken.Task, taken.Trial, s.cfg.Slave, held, s.cfg.Trial.LogCap, res.result())
		}
		cancel()
		if err == nil {
			if f.Taskset != "" {
				s.log.Info().Str("status", f.Taskset).Msg("the taskset ended with this trial's verdict")
			}
			s.tripped = s.tripped || s.counted(ctx, f)
			return
		}
		if errors.Is(err, schema.ErrInvalid) {
			s.logf(zerolog.ErrorLevel, err, "record trial %s", taken.Trial)
			return
		}
		if time.Now().After(deadline) || (ctx.Err() != nil && attempt >= 2) {
			s.logf(zerolog.ErrorLevel, err, "could not record trial %s; the arbiter will find it lost", taken.Trial)
			return
		}
		if s.every("finish") {
			s.log.Warn().Err(err).Str("trial", taken.Trial).Msg("record trial; retrying")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// abandonLostStart finishes as error the trial trialID when the take_trial
// whose reply was lost did start it: the slave does not know which task it
// took, and a trial left running under a live slave would never be
// recovered. The task is retried as after any error.
func (s *Slave) abandonLostStart(ctx context.Context, trialID string) {
	trial, err := s.c.LastTrialOf(context.WithoutCancel(ctx), s.cfg.Slave)
	if err != nil || !strings.HasSuffix(trial, ":trial:"+trialID) {
		return // not started, or not known: the arbiter's sweep finds what is left
	}
	s.finish(ctx, trial, errorOutcome("the slave lost contact with Redis while starting the trial"))
}

func errSuffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// finish records a trial's result, retrying while Redis is unreachable
// (for a while even when ctx has ended: the result is worth keeping).
func (s *Slave) finish(ctx context.Context, trial string, res trialOutcome) {
	bg := context.WithoutCancel(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; ; attempt++ {
		wctx, cancel := context.WithTimeout(bg, 5*time.Second)
		_, err := s.c.FinishTrial(wctx, trial, res.result())
		cancel()
		if err == nil || errors.Is(err, schema.ErrInvalid) {
			if err != nil {
				s.logf(zerolog.ErrorLevel, err, "record trial %s", trial)
			}
			return
		}
		if time.Now().After(deadline) || (ctx.Err() != nil && attempt >= 2) {
			s.logf(zerolog.ErrorLevel, err, "could not record trial %s; the arbiter will find it lost", trial)
			return
		}
		if s.every("finish") {
			s.logf(zerolog.WarnLevel, err, "record trial %s; retrying", trial)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// newID returns a random id for trials and slaves.
func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ensureRunner starts the taskset's runner when it has one and it is not
// running; false when it could not start (the taskset is failed) or ctx
// ended.
func (s *Slave) ensureRunner(ctx context.Context) bool {
	if s.ts.Runner == "" || s.runner != nil {
		return true
	}
	if err := s.startRunner(ctx); err != nil {
		if ctx.Err() == nil {
			s.failTaskset(err.Error())
		}
		return false
	}
	return true
}

// startRunner starts the taskset's runner in the working copy; it has as
// long to be ready as a spec without an estimate has to run. The error
// names the runner and the slave and quotes the end of its output.
func (s *Slave) startRunner(ctx context.Context) error {
	start := time.Now()
	logPath := filepath.Join(s.cfg.OutputDir, "run", slaveID(s.cfg.Slave)+".runner.log")
	r, err := startRunner(ctx, runnerConfig{
		name: s.ts.Runner, dir: s.cfg.WorkingCopy, env: s.slaveEnv(),
		scriptDir: filepath.Join(s.cfg.OutputDir, "run", slaveID(s.cfg.Slave)), logPath: logPath,
		limit:   time.Duration(max(s.ts.UnknownSpecTimeoutSec, 1)) * time.Second,
		onStart: func(pgid int) { s.recordPgid(runnerPgidFile(s.cfg.PgidFile), pgid) },
	})
	if err != nil {
		s.clearPgid(runnerPgidFile(s.cfg.PgidFile))
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("slave %s (host %s): %w; the end of its output (%s:%s):\n%s",
			s.cfg.Slave, s.cfg.Host, err, s.cfg.Host, logPath, outputTail(logPath))
	}
	s.runner = r
	s.logf(zerolog.InfoLevel, nil, "runner %q ready in %s (pid %d)", s.ts.Runner, time.Since(start).Round(time.Millisecond), r.cmd.Process.Pid)
	return nil
}

// runnerBroke kills a runner that failed during a trial; the next trial
// starts it again.
func (s *Slave) runnerBroke(msg string) {
	if s.runner == nil {
		return
	}
	s.runner.kill()
	s.logf(zerolog.WarnLevel, nil, "%s; the end of its output:\n%s", msg, s.runner.tail())
	s.runner = nil
	s.clearPgid(runnerPgidFile(s.cfg.PgidFile))
}

// stopRunner stops the runner when the slave ends.
func (s *Slave) stopRunner() {
	if s.runner == nil {
		return
	}
	s.runner.stop(s.cfg.Trial.Grace)
	s.runner = nil
	s.clearPgid(runnerPgidFile(s.cfg.PgidFile))
}

// failTaskset fails the taskset the way a failed setup does: the reason
// goes to the slave's log, the worker's log of the taskset (which the
// summary shows) and the taskset's status_reason.
func (s *Slave) failTaskset(reason string) {
	s.logf(zerolog.ErrorLevel, nil, "failing the taskset: %s", reason)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	line := fmt.Sprintf("%s failing the taskset: %s\n", time.Now().UTC().Format(time.RFC3339), reason)
	if err := s.c.AppendLog(ctx, schema.WorkerLogText(schema.WorkerLog(s.cfg.Taskset, s.cfg.Worker)), line, DefaultLogCap); err != nil {
		s.log.Warn().Err(err).Msg("append to the worker log")
	}
	if err := failTaskset(ctx, s.c, s.cfg.Taskset, reason); err != nil {
		s.logf(zerolog.ErrorLevel, err, "fail the taskset")
	}
}

// slaveID is the last part of a slave key, for file names.
func slaveID(key string) string {
	return key[strings.LastIndexByte(key, ':')+1:]
}
