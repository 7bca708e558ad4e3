package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/schema"
)

// Deps are what a worker talks through.
type Deps struct {
	Client *schema.Client
	Logger zerolog.Logger
}

// Worker is the service of one build box: it takes tasksets from its
// worker queue one at a time and runs slaves on them.
type Worker struct {
	cfg   Config
	c     *schema.Client
	log   zerolog.Logger
	key   string
	every func(string) bool

	force     chan struct{}
	forceOnce sync.Once

	// current is the taskset the worker works on ("" when idle), for the
	// heartbeat to name when it registers again.
	current atomic.Value
}

// New fills the defaults of cfg, checks it and returns a worker.
func New(cfg Config, deps Deps) (*Worker, error) {
	if deps.Client == nil {
		return nil, fmt.Errorf("%w: a worker needs a Redis client", ErrConfig)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = deps.Client.Keys.Namespace()
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key := deps.Client.Keys.Worker(cfg.ID)
	return &Worker{
		cfg:   cfg,
		c:     deps.Client,
		log:   component(deps.Logger, "worker").With().Str("worker", key).Logger(),
		key:   key,
		every: logx.Every(30*time.Second, time.Now),
		force: make(chan struct{}),
	}, nil
}

// Key is the worker's key.
func (w *Worker) Key() string { return w.key }

// Force makes a stopping worker kill its slaves and their trials at once
// (SIGKILL) instead of waiting for the grace period: the second signal.
func (w *Worker) Force() { w.forceOnce.Do(func() { close(w.force) }) }

// Run registers the worker and serves its queue until ctx ends; then it
// stops its slaves, hands back the taskset in hand, removes its heartbeat
// and returns nil. An error means it could not start.
func (w *Worker) Run(ctx context.Context) error {
	if err := os.MkdirAll(w.cfg.WorkingDir, 0o755); err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	if err := w.registerRetrying(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	hbCtx, stopHB := context.WithCancel(context.WithoutCancel(ctx))
	var hb sync.WaitGroup
	hb.Add(1)
	go func() { defer hb.Done(); w.heartbeat(hbCtx) }()
	defer func() {
		stopHB()
		hb.Wait()
		fin, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.c.EndHeartbeat(fin, w.key); err != nil {
			w.log.Warn().Err(err).Msg("remove the worker heartbeat")
		}
		w.log.Info().Msg("worker stopped")
	}()
	w.log.Info().Msgf("worker ready: type %s, %d slaves, working directory %s", w.cfg.WorkerType, w.cfg.Slaves, w.cfg.WorkingDir)
	w.noteOldCopies()
	w.reapEarlierLife()

	for ctx.Err() == nil {
		ts, err := w.c.PopWorkerQueue(ctx, w.key, w.cfg.PopTimeout)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.pause(ctx, "pop", w.c.NameWrongType(ctx, err, schema.KeyType{Key: schema.WorkerQueue(w.key), Type: "list"}))
			continue
		}
		if ts != "" {
			w.runTaskset(ctx, ts)
		}
	}
	return nil
}

func (w *Worker) fields() map[string]string {
	return map[string]string{
		schema.FWorkerType: w.cfg.WorkerType, schema.FHost: w.cfg.Host,
		schema.FSlaves: strconv.Itoa(w.cfg.Slaves), schema.FPid: strconv.Itoa(os.Getpid()),
	}
}

// registerRetrying registers the worker; while a global key it needs holds
// the wrong type of value it says which, once per interval, and tries
// again, so that the worker comes up once someone fixes the key.
func (w *Worker) registerRetrying(ctx context.Context) error {
	for {
		err := w.c.NameWrongType(ctx, w.register(ctx), schema.KeyType{Key: w.c.Keys.Workers(), Type: "set"},
			schema.KeyType{Key: w.key, Type: "hash"})
		if !errors.Is(err, schema.ErrWrongType) {
			return err
		}
		w.pause(ctx, "register", err)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// register joins the worker set, and leaves a taskset an earlier process
// with the same id held when it died.
func (w *Worker) register(ctx context.Context) error {
	stale, err := w.c.RegisterWorker(ctx, w.key, w.cfg.HeartbeatTTL, w.fields())
	if err != nil {
		return fmt.Errorf("register worker %s: %w", w.key, err)
	}
	if stale == "" {
		return nil
	}
	w.log.Warn().Msgf("an earlier run of this worker held taskset %s: leaving it", stale)
	wl := schema.WorkerLog(stale, w.key)
	if ok, err := w.c.Exists(ctx, wl); err == nil && ok {
		_ = w.c.AppendLog(ctx, schema.WorkerLogText(wl),
			logLine("the worker restarted and left the taskset; its slaves' trials are recovered by the arbiter"), w.cfg.LogCap)
		_, _ = w.c.Stamp(ctx, wl, schema.FFinishedAt)
	}
	if _, err := w.c.ReleaseWorker(ctx, w.key, stale); err != nil {
		return fmt.Errorf("register worker %s: leave taskset %s: %w", w.key, stale, err)
	}
	return nil
}

// heartbeat keeps the worker alive in Redis until ctx ends. A worker the
// dispatcher removed (its heartbeat had expired, say over a network
// partition) registers again, so that it gets work again.
func (w *Worker) heartbeat(ctx context.Context) {
	loopx.Heartbeat(ctx, w.cfg.HeartbeatInterval, func() { w.beat(ctx) })
}

// beat refreshes the worker's heartbeat once, and registers again a worker
// that was removed.
func (w *Worker) beat(ctx context.Context) {
	if err := w.c.Beat(ctx, w.key, w.cfg.HeartbeatTTL); err != nil {
		if ctx.Err() == nil && w.every("beat") {
			w.log.Warn().Err(err).Msg("worker heartbeat")
		}
		return
	}
	if ok, err := w.c.Exists(ctx, w.key); err != nil || ok {
		return
	}
	w.log.Warn().Msg("the worker was removed from Redis (its heartbeat had expired): registering again")
	fields := w.fields()
	if ts, _ := w.current.Load().(string); ts != "" {
		fields[schema.FTaskset] = ts // busy: the dispatcher must not give it another taskset
	}
	if _, err := w.c.RegisterWorker(ctx, w.key, w.cfg.HeartbeatTTL, fields); err != nil && w.every("register") {
		w.log.Warn().Err(err).Msg("register the worker again")
	}
}

// pause logs a Redis error (once per interval) and waits a second.
func (w *Worker) pause(ctx context.Context, what string, err error) {
	if w.every(what) {
		w.log.Warn().Err(err).Msgf("%s failed; retrying", what)
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

// logLine is one line of a log text in Redis.
func logLine(msg string) string {
	return time.Now().UTC().Format(time.RFC3339) + " " + msg + "\n"
}

// noteOldCopies says once, at start, what an older rrr left in the working
// directory: working copies at <working dir>/<rsync name>. They are no
// longer used (copies are fetched into copies/ now) and are left alone.
func (w *Worker) noteOldCopies() {
	entries, err := os.ReadDir(w.cfg.WorkingDir)
	if err != nil {
		return
	}
	var old []string
	for _, e := range entries {
		if n := e.Name(); n != copiesDir && n != logsDir {
			old = append(old, n)
		}
	}
	if len(old) > 0 {
		w.log.Info().Strs("entries", old).Msgf("%s holds entries this worker does not use (working copies of an older rrr "+
			"were <working dir>/<rsync name>; they now go to %s/): remove them to free the space", w.cfg.WorkingDir, copiesDir)
	}
}

// pruneLogs removes the full outputs of tasksets older than KeepLogs.
func (w *Worker) pruneLogs() {
	if w.cfg.KeepAllLogs {
		return
	}
	dir := filepath.Join(w.cfg.WorkingDir, logsDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < w.cfg.KeepLogs {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			w.log.Warn().Err(err).Msgf("remove old outputs %s", e.Name())
		}
	}
}
