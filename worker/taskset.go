package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/proc"
	"github.com/rrr-dev/rrr/pkg/rsync"
	"github.com/rrr-dev/rrr/schema"
)

// The layout of the working directory. Working copies live in a folder of
// their own, so that no rsync name (say "logs") can make a working copy of
// the worker's own files, which the fetch (rsync --delete) would wipe.
const (
	copiesDir = "copies" // <working dir>/copies/<rsync name>: working copies
	logsDir   = "logs"   // <working dir>/logs/<taskset id>/: full outputs, trial process groups
)

// tasksetRun is one worker's work on one taskset.
type tasksetRun struct {
	w      *Worker
	ts     model.Taskset
	wl     string // worker log key
	outDir string // full outputs of this taskset on this box
	log    zerolog.Logger
	// tripped: the worker's circuit breaker tripped (breaker.go): it
	// leaves the taskset.
	tripped bool
}

// runTaskset does the worker's part of a taskset from start to end, and
// always leaves it released.
func (w *Worker) runTaskset(ctx context.Context, key string) {
	log := w.log.With().Str("taskset", key).Logger()
	held, err := w.c.Field(ctx, w.key, schema.FTaskset)
	if err != nil {
		log.Warn().Err(err).Msg("read the worker's taskset; skipping the queue entry")
		return
	}
	if held != key {
		// An entry left from before a restart or a release: the dispatcher
		// sets the worker's taskset in the same step as it queues it.
		log.Info().Msgf("queue entry %s is not the worker's taskset (%q): skipped", key, held)
		return
	}
	bg := context.WithoutCancel(ctx)
	w.current.Store(key)
	defer func() {
		w.current.Store("")
		if _, err := w.c.ReleaseWorker(bg, w.key, key); err != nil {
			log.Error().Err(err).Msg("release the taskset")
		}
	}()
	ts, err := model.NewReader(w.c).Taskset(ctx, key)
	var bad *model.FieldError
	if errors.As(err, &bad) && !schema.IsFinal(ts.Status) {
		// Leaving it would only have it dispatched here again: fail it,
		// as the arbiter does (arbiter/check.go).
		log.Warn().Err(err).Msg("the taskset cannot be read: failing it")
		if _, err := w.c.FailTaskset(bg, key, bad.SetAside()); err != nil {
			log.Error().Err(err).Msg("fail the taskset")
		}
		return
	}
	if err != nil {
		// It comes back from the dispatcher: wait, and say so once per
		// interval, not once per round trip.
		w.pause(ctx, "read taskset "+key+" (leaving it)", err)
		return
	}
	if ts.Status != schema.StatusRunning {
		log.Info().Msgf("taskset is %q, not running: leaving it", ts.Status)
		return
	}
	wl, err := w.c.StartWorkerLog(ctx, key, w.key)
	if err != nil {
		log.Error().Err(err).Msg("open the worker log; leaving the taskset")
		return
	}
	w.pruneLogs()
	r := &tasksetRun{w: w, ts: ts, wl: wl, outDir: filepath.Join(w.cfg.WorkingDir, logsDir, ts.ID), log: log}
	defer func() {
		if _, err := w.c.Stamp(bg, wl, schema.FFinishedAt); err != nil {
			log.Warn().Err(err).Msg("stamp the worker log")
		}
	}()

	// tctx ends when the taskset is over (or the worker stops): rsync and
	// setup are cut short, slaves are stopped.
	tctx, cancel := context.WithCancel(ctx)
	over := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Add(1)
	go func() { defer watcher.Done(); r.watch(tctx, over, cancel) }()
	defer watcher.Wait()
	defer cancel()

	r.logf("worker %s (host %s) took the taskset", w.cfg.ID, w.cfg.Host)
	wc, ok := r.prepare(tctx)
	if !ok {
		return
	}
	r.supervise(ctx, over, wc)
	if r.tripped {
		msg := fmt.Sprintf("circuit breaker: %s on worker %s; it left the taskset, which goes on elsewhere, and is marked unhealthy (see rrr nodes) until a trial of it passes or it restarts; check the box",
			breakerReason(w.cfg.Breaker), w.cfg.ID)
		r.log.Error().Msg(msg)
		r.appendLog(logLine(msg))
		return
	}
	r.logf("worker %s left the taskset", w.cfg.ID)
}

// logf writes a line to the worker log of the taskset and to the process
// log; warnf does the same for what went wrong.
func (r *tasksetRun) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.log.Info().Msg(msg)
	r.appendLog(logLine(msg))
}

func (r *tasksetRun) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.log.Warn().Msg(msg)
	r.appendLog(logLine(msg))
}

func (r *tasksetRun) appendLog(text string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.w.c.AppendLog(ctx, schema.WorkerLogText(r.wl), text, r.w.cfg.LogCap); err != nil {
		r.log.Warn().Err(err).Msg("append to the worker log")
	}
}

// fail fails the taskset with reason, and tells the arbiter.
func (r *tasksetRun) fail(reason string) {
	r.warnf("failing the taskset: %s", reason)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := failTaskset(ctx, r.w.c, r.ts.Key, reason); err != nil {
		r.log.Error().Err(err).Msg("fail the taskset")
	}
}

// failTaskset fails a taskset with reason and tells the arbiter.
func failTaskset(ctx context.Context, c *schema.Client, key, reason string) error {
	if _, err := c.FailTaskset(ctx, key, reason); err != nil {
		return err
	}
	if err := c.SendCommand(ctx, schema.Command{Verb: schema.CmdFail, Key: key}); err != nil {
		return fmt.Errorf("tell the arbiter: %w", err)
	}
	return nil
}

// watch closes over, and cancels the taskset's context, when the taskset
// is no longer running: on its "finished" event, or on a status poll as a
// safety net for a missed message.
func (r *tasksetRun) watch(ctx context.Context, over chan<- struct{}, cancel context.CancelFunc) {
	sub := r.w.c.SubscribeEvents(ctx, r.ts.Key)
	defer sub.Close()
	events := sub.Channel()
	tick := time.NewTicker(r.w.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if schema.ParseEvent(m.Payload).Kind != schema.EventFinished {
				continue
			}
		case <-tick.C:
			status, err := r.w.c.Field(ctx, r.ts.Key, schema.FStatus)
			if err != nil {
				continue
			}
			if status == schema.StatusRunning {
				continue
			}
		}
		close(over)
		cancel()
		return
	}
}

// prepare fetches the code and runs the setup; it returns the working
// copy, or false when the worker must leave the taskset.
func (r *tasksetRun) prepare(ctx context.Context) (string, bool) {
	cfg := r.w.cfg
	wc := cfg.InPlaceDir
	if wc == "" {
		if err := checkRsyncName(r.ts.RsyncName); err != nil {
			r.fail(err.Error())
			return "", false
		}
		wc = filepath.Join(cfg.WorkingDir, copiesDir, r.ts.RsyncName)
		src, opts, err := r.rsyncSource(ctx)
		if err != nil {
			r.warnf("cannot fetch the code: %v; this worker leaves the taskset", err)
			return "", false
		}
		r.logf("rsync %s -> %s", src, wc)
		start := time.Now()
		if err := rsync.Sync(ctx, src, wc, opts); err != nil {
			if ctx.Err() != nil {
				return "", false
			}
			r.warnf("fetching the code failed, this worker leaves the taskset (others go on): %v", err)
			return "", false
		}
		r.logf("rsync finished in %s", time.Since(start).Round(time.Millisecond))
	} else {
		r.logf("running the project in place in %s (no rsync)", wc)
	}
	if _, err := r.w.c.Stamp(ctx, r.wl, schema.FRsyncFinishedAt); err != nil {
		r.log.Warn().Err(err).Msg("stamp rsync_finished_at")
	}
	if !r.setup(ctx, wc) {
		return "", false
	}
	if _, err := r.w.c.Stamp(ctx, r.wl, schema.FSetupFinishedAt); err != nil {
		r.log.Warn().Err(err).Msg("stamp setup_finished_at")
	}
	return wc, ctx.Err() == nil
}

// checkRsyncName refuses a name that the client would refuse (a taskset
// written by hand, or by another client): it names a folder below the
// working directory.
func checkRsyncName(name string) error { return schema.CheckName("rsync_name", name) }

// rsyncSource is where the code comes from: the worker's flag, else the
// taskset's rsync_remote_path, else the fleet default in $NS:rsync_info.
func (r *tasksetRun) rsyncSource(ctx context.Context) (src, opts string, err error) {
	remote, opts := r.w.cfg.RsyncRemotePath, r.w.cfg.RsyncOptions
	if remote == "" {
		remote = r.ts.RsyncRemotePath
	}
	if remote == "" || opts == "" {
		info, err := r.w.c.RsyncInfo(ctx)
		if err != nil {
			return "", "", err
		}
		if remote == "" {
			remote = info[schema.FRsyncRemotePath]
		}
		if opts == "" {
			opts = info[schema.FRsyncOptions]
		}
	}
	if remote == "" {
		return "", "", errors.New("no rsync remote path: set --rsync-remote-path on the worker, on `rrr start`, or on `rrr server`")
	}
	if strings.HasSuffix(remote, ":") {
		return remote + r.ts.RsyncName + "/", opts, nil
	}
	return strings.TrimRight(remote, "/") + "/" + r.ts.RsyncName + "/", opts, nil
}

// setup runs the taskset's setup command in the working copy; false when
// it failed (the taskset is failed) or was cut short.
func (r *tasksetRun) setup(ctx context.Context, wc string) bool {
	cmd := r.ts.SetupCommand
	if strings.TrimSpace(cmd) == "" {
		return true
	}
	cfg := r.w.cfg
	r.logf("setup (time limit %s): %s", cfg.SetupTimeout, cmd)
	env := append(baseEnv(), EnvNumSlaves+"="+strconv.Itoa(r.slaves()), EnvTaskset+"="+r.ts.Key)
	res, err := proc.Run(ctx, proc.Spec{
		// One stream, in order, for the log.
		Argv: []string{"sh", "-c", "exec 2>&1\n" + cmd},
		Dir:  wc, Env: env,
		Soft: cfg.SetupTimeout, Hard: cfg.SetupTimeout + cfg.StopGrace, Grace: cfg.StopGrace,
		StdoutFile: filepath.Join(r.outDir, "setup.log"),
		Head:       cfg.LogCap / 4, Tail: cfg.LogCap / 2,
	})
	if err != nil {
		r.fail(fmt.Sprintf("setup command could not run on worker %s: %v", cfg.ID, err))
		return false
	}
	if out := res.Stdout.String(); out != "" {
		if !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		r.appendLog(out)
	}
	if res.Cancelled && res.Timeout == proc.NoTimeout {
		r.logf("setup stopped: %s", res.Describe())
		return false
	}
	if !res.OK() {
		r.fail(fmt.Sprintf("setup command failed on worker %s: %s; last output:\n%s",
			cfg.ID, res.Describe(), lastBytes(res.Stdout.String(), 2000)))
		return false
	}
	r.logf("setup finished in %s", res.Duration.Round(time.Millisecond))
	return true
}

// lastBytes is the end of s, at most n bytes, from a line start where
// possible.
func lastBytes(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "…" + s
}

// baseEnv is this process's environment without rrr's own variables (the
// Redis URL may carry a password).
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RRR_") || name == EnvSlaveNumber || name == EnvNumSlaves {
			continue
		}
		env = append(env, kv)
	}
	return env
}
