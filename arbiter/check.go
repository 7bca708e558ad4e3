package arbiter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// trialInfo is what a check reads of a trial.
type trialInfo struct {
	key, status, slave string
	started            time.Time
}

// taskInfo is what a check knows of a task that was left.
type taskInfo struct {
	key    string
	trials []trialInfo
	// queuePos is the task's place in the task queue, -1 when not queued.
	queuePos int
	// queued: in the queue when read, or put there by this check.
	queued bool
	// done: it has its verdict, or it cannot be handled (malformed).
	done bool
	// runningSeen: settle_task found a trial running that the read missed.
	runningSeen bool
	// corrupt: its trial list holds another type; settle_task settles it.
	corrupt bool
}

func (t *taskInfo) count(statuses ...string) int {
	n := 0
	for _, tr := range t.trials {
		for _, s := range statuses {
			if tr.status == s {
				n++
			}
		}
	}
	return n
}

func (t *taskInfo) running() int { return t.count("") }

// failures counts the trials that count against max_trials (model.IsTrialFailure).
func (t *taskInfo) failures() int {
	n := 0
	for _, tr := range t.trials {
		if model.IsTrialFailure(tr.status) {
			n++
		}
	}
	return n
}

// oldestRunning is the start of the task's longest-running trial.
func (t *taskInfo) oldestRunning() time.Time {
	var oldest time.Time
	for _, tr := range t.trials {
		if tr.status == "" && !tr.started.IsZero() && (oldest.IsZero() || tr.started.Before(oldest)) {
			oldest = tr.started
		}
	}
	return oldest
}

// mayDuplicate bounds speculative execution: a copy is for a trial that may
// be stuck, so a task gets one while a single trial runs, and none once it
// has more than max_trials trials. This does not bound the trials of a task
// to max_trials + 1: a copy queued while a slave holds a task it took and
// has not started yet adds one more (docs/model.md, "Trials per task";
// TestTrialsPerTaskAreNotBoundedByMaxTrialsPlusOne). Without the bound, a
// failing spec at the tail gets a new copy each time one copy fails while
// another runs: its verdict waits on ever more runs of a test that keeps
// failing.
func (t *taskInfo) mayDuplicate(maxTrials int) bool {
	return t.running() < 2 && len(t.trials) <= maxTrials
}

// worthSettling says whether settle_task would change the task, as far as
// the read shows: it would give a verdict, or queue a task that has no
// trial running and is not queued (a slave lost it). settle_task decides
// from Redis itself; this only spares a script call per task that is
// merely queued or running, which is most of them in a large taskset.
func (t *taskInfo) worthSettling(maxTrials int) bool {
	switch {
	case t.corrupt:
		return true
	case t.count(schema.StatusPassed, schema.StatusPending) > 0:
		return true
	case t.running() > 0:
		return false
	case t.failures() >= maxTrials:
		return true
	}
	return !t.queued
}

// Check recovers the lost work of taskset ts and finishes it when nothing
// is left; see the package documentation for the steps. It is idempotent:
// any number of arbiters may check the same taskset at once.
func (a *Arbiter) Check(ctx context.Context, ts string) error {
	if _, ok := a.c.Keys.TasksetID(ts); !ok {
		return fmt.Errorf("check %q: %w: not a taskset key of namespace %s", ts, loopx.ErrBadInput, a.c.Keys.Namespace())
	}
	h, err := a.c.Hash(ctx, ts)
	if err != nil {
		return fmt.Errorf("check taskset %s: %w", ts, err)
	}
	if len(h) == 0 {
		return fmt.Errorf("check taskset %s: %w: no such taskset (expired or never created)", ts, loopx.ErrBadInput)
	}
	t, err := model.DecodeTaskset(a.c.Keys, ts, h)
	var bad *model.FieldError
	if errors.As(err, &bad) && !schema.IsFinal(t.Status) {
		return a.setAside(ctx, ts, bad)
	}
	// No status: a taskset of the original client that no worker has had
	// yet; there is nothing to recover or finish before its dispatch.
	if t.Status != schema.StatusRunning {
		a.log.Debug().Str("taskset", ts).Str("status", t.Status).Msg("check: taskset is not running")
		return nil
	}
	maxTrials := max(t.MaxTrials, 1) // as settle_task reads it

	left, err := a.c.List(ctx, schema.TasksLeft(ts))
	if err != nil {
		return fmt.Errorf("check taskset %s: read tasks left: %w", ts, err)
	}
	if len(left) == 0 {
		return a.finish(ctx, ts)
	}
	tasks, err := a.readTasks(ctx, ts, left)
	if err != nil {
		return err
	}
	if err := a.reapLostTrials(ctx, tasks); err != nil {
		return err
	}

	// Settle every left task whose state calls for it: this gives verdicts
	// whose `trial` command was lost and queues tasks a dead slave took.
	for _, t := range tasks {
		if !t.worthSettling(maxTrials) {
			continue
		}
		out, finished, err := a.c.SettleTask(ctx, t.key)
		if err != nil {
			if !loopx.Permanent(err) {
				return err
			}
			a.logBad(t.key, err, "cannot settle a task; skipping it")
			t.done = true
			continue
		}
		a.noteSettled(ctx, ts, t.key, out, finished)
		switch out {
		case schema.SettlePassed, schema.SettlePending, schema.SettleFailed, schema.SettleSettled:
			t.done = true
		case schema.SettleRunning:
			t.runningSeen = true
		case schema.SettleRequeued, schema.SettleQueued:
			if out == schema.SettleRequeued && len(t.trials) == 0 {
				a.log.Info().Str("task", t.key).Msg("requeued a task that was taken and never started (its slave was lost)")
			}
			t.queued = true
		case schema.SettleStopped:
			return nil
		}
		if finished != "" {
			a.log.Info().Str("taskset", ts).Str("status", finished).Msg("taskset finished")
			return nil
		}
	}

	var remaining []*taskInfo
	for _, t := range tasks {
		if !t.done {
			remaining = append(remaining, t)
		}
	}
	if len(remaining) == 0 {
		return a.finish(ctx, ts)
	}
	if err := a.untry(ctx, ts, remaining, maxTrials); err != nil {
		return err
	}

	queued, err := a.c.ListLen(ctx, schema.TaskQueue(ts))
	if err != nil {
		return fmt.Errorf("check taskset %s: read queue length: %w", ts, err)
	}
	if queued > 0 {
		return nil
	}
	// The queue is empty: slaves are idle or about to be. Queue what has no
	// trial running; when everything runs, duplicate the tail.
	var idle []*taskInfo
	for _, t := range remaining {
		if !t.queued && t.running() == 0 && !t.runningSeen {
			idle = append(idle, t)
		}
	}
	if len(idle) > 0 {
		for _, t := range idle {
			if err := a.requeue(ctx, ts, t, "requeued a task with no trial running"); err != nil {
				return err
			}
		}
		return nil
	}
	var pick *taskInfo
	for _, t := range remaining {
		if t.running() == 0 {
			continue // taken from the queue since the read: it is about to run
		}
		if !t.mayDuplicate(maxTrials) {
			continue
		}
		if pick == nil || len(t.trials) < len(pick.trials) ||
			(len(t.trials) == len(pick.trials) && t.oldestRunning().Before(pick.oldestRunning())) {
			pick = t
		}
	}
	if pick == nil {
		return nil
	}
	return a.requeue(ctx, ts, pick, "speculative execution: queued a running task again for an idle slave")
}

// readTasks reads the queue, the trial lists and the trials of the tasks
// left. The queue is read first: a task taken between the two reads then
// looks queued (nothing is done), never lost.
func (a *Arbiter) readTasks(ctx context.Context, ts string, left []string) ([]*taskInfo, error) {
	queue, err := a.c.List(ctx, schema.TaskQueue(ts))
	if err != nil {
		return nil, fmt.Errorf("check taskset %s: read queue: %w", ts, err)
	}
	pos := make(map[string]int, len(queue))
	for i, k := range queue {
		if _, seen := pos[k]; !seen {
			pos[k] = i
		}
	}
	lists, corrupt, err := a.c.TrialLists(ctx, left)
	if err != nil {
		return nil, fmt.Errorf("check taskset %s: read trial lists: %w", ts, err)
	}
	tasks := make([]*taskInfo, len(left))
	var all []*trialInfo
	for i, k := range left {
		t := &taskInfo{key: k, queuePos: -1}
		if p, ok := pos[k]; ok {
			t.queuePos, t.queued = p, true
		}
		keys := lists[i]
		t.corrupt = corrupt[i]
		t.trials = make([]trialInfo, len(keys))
		for j, tk := range keys {
			t.trials[j].key = tk
			all = append(all, &t.trials[j])
		}
		tasks[i] = t
	}
	keys := make([]string, len(all))
	for i, tr := range all {
		keys[i] = tr.key
	}
	hashes, err := a.c.HashFields(ctx, keys, schema.FStatus, schema.FSlave, schema.FStartedAt)
	if err != nil {
		return nil, fmt.Errorf("check taskset %s: read trials: %w", ts, err)
	}
	for i, tr := range all {
		h := hashes[i]
		if h == nil {
			tr.status = "missing" // settle_task names what is wrong with it
			continue
		}
		tr.status, tr.slave = h[schema.FStatus], h[schema.FSlave]
		started, hasStart := h[schema.FStartedAt]
		if hasStart {
			tr.started, _ = schema.ParseTime(started)
		}
		if _, hasStatus := h[schema.FStatus]; !hasStatus && !hasStart {
			// A listed trial without a hash (it expired, or was never
			// written): it cannot run, and settle_task does not count it.
			tr.status = "missing"
		}
	}
	return tasks, nil
}

// reapLostTrials finishes, as error, the running trials whose slave's
// heartbeat is gone: that slave will never report them. finish_trial pushes
// a `trial` command too, which settles the task again (harmless).
func (a *Arbiter) reapLostTrials(ctx context.Context, tasks []*taskInfo) error {
	var running []*trialInfo
	alive := map[string]bool{}
	for _, t := range tasks {
		for j := range t.trials {
			if tr := &t.trials[j]; tr.status == "" {
				running = append(running, tr)
				alive[tr.slave] = false
			}
		}
	}
	if len(running) == 0 || a.inOutageGrace() {
		return nil
	}
	names := make([]string, 0, len(alive))
	for s := range alive {
		if s != "" {
			names = append(names, s)
		}
	}
	beats, err := a.c.AliveMany(ctx, names)
	if err != nil {
		return fmt.Errorf("read slave heartbeats: %w", err)
	}
	for i, s := range names {
		alive[s] = beats[i]
	}
	for _, tr := range running {
		if alive[tr.slave] {
			continue
		}
		reason := schema.SlaveLost(tr.slave)
		if tr.slave == "" {
			reason = "trial names no slave: nothing can be running it"
		}
		recorded, err := a.c.FinishLost(ctx, tr.key, reason, "")
		if err != nil {
			if !loopx.Permanent(err) {
				return err
			}
			a.logBad(tr.key, err, "cannot finish a lost trial; skipping it")
			continue
		}
		if recorded {
			a.log.Warn().Str("trial", tr.key).Str("slave", tr.slave).Msg("trial lost with its slave: recorded as error")
			if ts, ok := schema.TasksetOfTask(tr.key); ok {
				a.note(ctx, ts, "trial %s recorded as error: %s", tr.key, reason)
			}
			tr.status = schema.StatusError
			continue
		}
		// Its slave (or its worker) reported it first: read what it said.
		s, err := a.c.Field(ctx, tr.key, schema.FStatus)
		if err != nil {
			return fmt.Errorf("read trial %s: %w", tr.key, err)
		}
		tr.status = s
	}
	return nil
}

// inOutageGrace reports whether Redis came back too recently for a missing
// slave heartbeat to mean a dead slave: heartbeats expired while Redis was
// away, and their slaves beat again within their interval. Reaping their
// trials would run them twice and count their time twice.
func (a *Arbiter) inOutageGrace() bool {
	if a.cfg.OutageGrace < 0 {
		return false
	}
	// Still failing: Redis answers this check, but the loop has not yet
	// worked again since it went away.
	failing := a.health.Failing() > 0
	back := a.health.RecoveredAt()
	in := failing || (!back.IsZero() && a.now().Sub(back) < a.cfg.OutageGrace)
	a.mu.Lock()
	defer a.mu.Unlock()
	if in && !failing && !a.graced.Equal(back) {
		a.graced = back
		a.log.Info().Stringer("grace", a.cfg.OutageGrace).
			Msg("redis is back: lost trials are recovered once slaves have had a heartbeat TTL to beat again")
	}
	return in
}

// untry makes a queued task takeable again by the live slaves of the
// taskset when every one of them has taken it before. A slave never takes a
// task twice (take_task), so without this a task that failed on every live
// slave, and may still be retried, would stay queued for ever: two slaves
// and max_trials 3 are enough to hang a taskset. Only tasks that may still
// be retried are released, so a slave re-runs a task at most until it
// fails for good.
func (a *Arbiter) untry(ctx context.Context, ts string, tasks []*taskInfo, maxTrials int) error {
	var cands []*taskInfo
	for _, t := range tasks {
		if t.queuePos >= 0 && t.queuePos < schema.TakeScan && len(t.trials) > 0 && t.failures() < maxTrials {
			cands = append(cands, t)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	slaves, err := a.c.List(ctx, schema.TasksetSlaves(ts))
	if err != nil {
		return fmt.Errorf("check taskset %s: read slaves: %w", ts, err)
	}
	beats, err := a.c.AliveMany(ctx, slaves)
	if err != nil {
		return fmt.Errorf("check taskset %s: read slave heartbeats: %w", ts, err)
	}
	var live []string
	for i, s := range slaves {
		if beats[i] {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return nil // nobody to run it yet; workers will come
	}
	keys := make([]string, len(cands))
	for i, t := range cands {
		keys[i] = t.key
	}
	released, err := a.c.Untry(ctx, ts, keys, live)
	if err != nil {
		return fmt.Errorf("check taskset %s: release tasks: %w", ts, err)
	}
	for _, task := range released {
		a.log.Info().Str("task", task).Int("slaves", len(live)).
			Msg("every live slave has taken this queued task before: it may take it again")
	}
	return nil
}

func (a *Arbiter) requeue(ctx context.Context, ts string, t *taskInfo, why string) error {
	out, err := a.c.RequeueTask(ctx, ts, t.key, len(t.trials))
	if err != nil {
		if !loopx.Permanent(err) {
			return err
		}
		a.logBad(t.key, err, "cannot requeue a task; skipping it")
		return nil
	}
	if out == schema.RequeueDone {
		a.log.Info().Str("task", t.key).Int("trials", len(t.trials)).Msg(why)
		a.note(ctx, ts, "task %s: %s", t.key, why)
	} else {
		a.log.Debug().Str("task", t.key).Str("outcome", string(out)).Msg("requeue not needed")
	}
	return nil
}

func (a *Arbiter) finish(ctx context.Context, ts string) error {
	status, err := a.c.FinishTaskset(ctx, ts)
	if err != nil {
		return err
	}
	if status != "" {
		a.log.Info().Str("taskset", ts).Str("status", status).Msg("taskset finished: no task left")
		a.note(ctx, ts, "taskset %s: every task has its verdict", status)
	}
	return nil
}

// setAside fails a taskset whose hash cannot be read, with the field and
// its value as the reason: it leaves the active list, its workers leave it
// on the "finished" event, and the persister stores what can be read.
// Left active, every loop would trip on it again and again.
func (a *Arbiter) setAside(ctx context.Context, ts string, bad *model.FieldError) error {
	failed, err := a.c.FailTaskset(ctx, ts, bad.SetAside())
	if err != nil {
		return fmt.Errorf("set aside taskset %s: %w", ts, err)
	}
	if failed {
		a.log.Warn().Str("taskset", ts).Str("reason", bad.Reason()).
			Msg("failed a taskset that cannot be read; fix the client that wrote it")
	}
	return nil
}

// logBad logs a malformed object at most once per log interval.
func (a *Arbiter) logBad(key string, err error, msg string) {
	a.mu.Lock()
	logIt := a.bad(key)
	a.mu.Unlock()
	if logIt {
		a.log.Warn().Err(err).Str("key", key).Msg(msg)
	}
}
