package schema

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client runs the protocol's scripts and small commands on one Redis, in
// one namespace. It is safe for concurrent use.
type Client struct {
	rdb  redis.UniversalClient
	Keys Keys
}

// NewClient wraps rdb for namespace ("" means DefaultNamespace).
func NewClient(rdb redis.UniversalClient, namespace string) *Client {
	return &Client{rdb: rdb, Keys: NewKeys(namespace)}
}

// maxStaleRetries bounds the retries of a script whose caller's read went
// stale; each retry needs another writer to win a race, so a few suffice.
const maxStaleRetries = 20

// ErrStale is returned when a script kept finding that what the caller read
// had changed; it is safe to try again later.
var ErrStale = errors.New("state changed while reading; try again")

// TasksetSpec is what a client submits.
type TasksetSpec struct {
	RsyncName          string
	SetupCommand       string
	SlaveCommand       string
	TrialCommand       string
	Runner             string // a persistent runner instead of the trial command (docs/runners.md)
	ResultFormat       string
	WorkerType         string
	MaxWorkers         int
	MaxTrials          int
	TasksetClass       string
	UnknownSpecTimeout time.Duration
	LeastTimeout       time.Duration
	RsyncRemotePath    string
	RsyncOptions       string
	Specs              []string // relative to the project root
	// Batches (docs/batches.md): BatchMax >= 2 lets a slave run up to that
	// many spec files in one trial command, filled up to BatchTargetSec of
	// estimates, the tail shared between BatchSlaves slaves.
	BatchMax       int
	BatchTargetSec float64
	BatchSlaves    int
	// MaxFailures > 0 stops the taskset (failed, ReasonMaxFailures) once
	// that many specs have failed for good, with tasks still left.
	MaxFailures int
	// RerunOf is the key of the taskset whose failures this one runs again
	// (rrr start --rerun-failed).
	RerunOf string
	// BuildID is the CI build the taskset was created for (rrr start
	// --build-id): with it, a retry of the build finds it (Keys.Build).
	BuildID string
	// Ordered queues the specs in the given order, and the workers run
	// them on one slave (FOrdered): rrr bisect.
	Ordered bool
	// Quarantined maps the spec files that run in quarantine to the reason
	// (ActiveQuarantine): their tasks get FQuarantined. Specs of the map
	// that are not in Specs are ignored.
	Quarantined map[string]string
	// Partitions maps task names of Specs to the part of a spec file they
	// run (docs/partitions.md); a name that is not in it is a spec file.
	Partitions map[string]Partition
}

// WithDefaults returns s with its zero values filled and its spec paths
// cleaned (CleanSpec; a path it refuses is left for Validate to report).
// CreateTaskset calls it, then Validate.
func (s TasksetSpec) WithDefaults() TasksetSpec {
	if s.WorkerType == "" {
		s.WorkerType = DefaultWorkerType
	}
	if s.TasksetClass == "" {
		s.TasksetClass = DefaultTasksetClass
	}
	if s.ResultFormat == "" {
		s.ResultFormat = FormatAuto
	}
	if s.MaxTrials == 0 {
		s.MaxTrials = DefaultMaxTrials
	}
	if s.UnknownSpecTimeout == 0 {
		s.UnknownSpecTimeout = DefaultUnknownSpecTimeout * time.Second
	}
	if s.LeastTimeout == 0 {
		s.LeastTimeout = DefaultLeastTimeout * time.Second
	}
	if s.Specs != nil {
		specs := make([]string, len(s.Specs)) // the caller's slice stays as it is
		for i, spec := range s.Specs {
			if clean, err := CleanSpec(spec); err == nil {
				spec = clean
			}
			specs[i] = spec
		}
		s.Specs = specs
	}
	return s
}

// Validate checks the values a script cannot check, of a spec filled by
// WithDefaults; it changes nothing.
func (s *TasksetSpec) Validate() error {
	switch {
	case s.MaxTrials < 1:
		return fmt.Errorf("max trials %d: %w: must be at least 1", s.MaxTrials, ErrInvalid)
	case s.MaxWorkers < 0:
		return fmt.Errorf("max workers %d: %w: must be 0 (no limit) or more", s.MaxWorkers, ErrInvalid)
	case s.UnknownSpecTimeout < time.Second || s.LeastTimeout < time.Second:
		return fmt.Errorf("timeouts: %w: must be at least one second", ErrInvalid)
	case s.TrialCommand == "" && s.SlaveCommand == "" && strings.TrimSpace(s.Runner) == "":
		return fmt.Errorf("taskset: %w: a trial command, a runner (or a slave command) is required", ErrInvalid)
	case s.TrialCommand != "" && s.Runner != "":
		return fmt.Errorf("taskset: %w: a runner replaces the trial command: give one of them, not both", ErrInvalid)
	case len(s.Specs) == 0:
		return fmt.Errorf("taskset: %w: no spec files", ErrInvalid)
	case s.MaxFailures < 0:
		return fmt.Errorf("max failures %d: %w: must be 0 (no limit) or more", s.MaxFailures, ErrInvalid)
	case s.BatchMax < 0 || s.BatchTargetSec < 0 || s.BatchSlaves < 0:
		return fmt.Errorf("taskset: %w: batch settings must not be negative", ErrInvalid)
	}
	if s.BuildID != "" {
		if err := CheckBuildID(s.BuildID); err != nil {
			return err
		}
	}
	if s.RsyncName != "" {
		if err := CheckName("rsync name", s.RsyncName); err != nil {
			return err
		}
	}
	valid := false
	for _, f := range Formats {
		valid = valid || f == s.ResultFormat
	}
	if !valid {
		return fmt.Errorf("result format %q: %w: want one of %v", s.ResultFormat, ErrInvalid, Formats)
	}
	seen := make(map[string]bool, len(s.Specs))
	for _, spec := range s.Specs {
		clean, err := CleanSpec(spec)
		if err != nil {
			return err
		}
		if clean != spec {
			return fmt.Errorf("spec file %q: %w: not clean (%q; WithDefaults cleans it)", spec, ErrInvalid, clean)
		}
		if seen[clean] {
			return fmt.Errorf("spec file %q: %w: given twice", spec, ErrInvalid)
		}
		seen[clean] = true
	}
	return checkPartitions(s.Specs, s.Partitions)
}

func (s *TasksetSpec) fields() []string {
	f := []string{
		FRsyncName, s.RsyncName,
		FSetupCommand, s.SetupCommand,
		FSlaveCommand, s.SlaveCommand,
		FTrialCommand, s.TrialCommand,
		FRunner, s.Runner,
		FResultFormat, s.ResultFormat,
		FWorkerType, s.WorkerType,
		FMaxWorkers, strconv.Itoa(s.MaxWorkers),
		FMaxTrials, strconv.Itoa(s.MaxTrials),
		FTasksetClass, s.TasksetClass,
		FUnknownSpecTimeoutSec, secs(s.UnknownSpecTimeout),
		FLeastTimeoutSec, secs(s.LeastTimeout),
		FRsyncRemotePath, s.RsyncRemotePath,
		FRsyncOptions, s.RsyncOptions,
	}
	if s.MaxFailures > 0 {
		f = append(f, FMaxFailures, strconv.Itoa(s.MaxFailures))
	}
	if s.RerunOf != "" {
		f = append(f, FRerunOf, s.RerunOf)
	}
	if s.BuildID != "" {
		f = append(f, FBuildID, s.BuildID)
	}
	if s.Ordered {
		f = append(f, FOrdered, "1")
	}
	if len(s.Partitions) > 0 {
		b, _ := json.Marshal(s.Partitions) // strings and bools only
		f = append(f, FPartitions, string(b))
	}
	if s.BatchMax >= 2 {
		f = append(f, FBatchMax, strconv.Itoa(s.BatchMax),
			FBatchTargetSec, strconv.FormatFloat(max(s.BatchTargetSec, 0.001), 'f', 3, 64),
			FBatchSlaves, strconv.Itoa(max(s.BatchSlaves, 1)))
	}
	return f
}

func secs(d time.Duration) string {
	return strconv.FormatInt(int64(d.Round(time.Second)/time.Second), 10)
}

// CreateTaskset creates taskset id from spec in one step: the taskset, its
// tasks in estimate order, its place among the active tasksets, and a
// dispatcher wake-up. It returns the taskset key.
func (c *Client) CreateTaskset(ctx context.Context, id string, spec TasksetSpec) (string, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return "", err
	}
	// The results store and the workers accept every id that passes.
	if err := CheckTasksetID(id); err != nil {
		return "", fmt.Errorf("create taskset: %w", err)
	}
	ts := c.Keys.Taskset(id)
	fields := spec.fields()
	keys := make([]string, 0, 7+len(spec.Specs))
	keys = append(keys, ts, Tasks(ts), TasksLeft(ts), TaskQueue(ts), c.Keys.ActiveTaskset(),
		c.Keys.DispatcherQueue(), c.Keys.Estimate(spec.TasksetClass))
	args := make([]any, 0, 2+len(fields)+2*len(spec.Quarantined)+len(spec.Specs))
	args = append(args, len(fields)/2)
	for _, f := range fields {
		args = append(args, f)
	}
	// A partition's task has its own name in its key and its spec file as
	// its spec: create_taskset gives it that file's estimate and quarantine.
	file := func(name string) string {
		if p, ok := spec.Partitions[name]; ok {
			return p.Spec
		}
		return name
	}
	var quarantined []any
	for _, s := range spec.Specs {
		if reason, ok := spec.Quarantined[file(s)]; ok {
			quarantined = append(quarantined, file(s), reason)
		}
	}
	args = append(args, len(quarantined)/2)
	args = append(args, quarantined...)
	for _, s := range spec.Specs {
		keys = append(keys, Task(ts, s))
		args = append(args, file(s))
	}
	if err := scriptCreateTaskset.Run(ctx, c.rdb, keys, args...).Err(); err != nil {
		return "", scriptErr("create taskset", err)
	}
	return ts, nil
}

// TakeOutcome says what TakeTask found.
type TakeOutcome string

// Outcomes of TakeTask.
const (
	TakeOK    TakeOutcome = "ok"    // a task was taken
	TakeEmpty TakeOutcome = "empty" // the queue is empty
	TakeTried TakeOutcome = "tried" // only tasks this slave took before are queued

	// TakeTrial only:
	TakeStopped TakeOutcome = "stopped" // the taskset is not running: stop
	TakeAgain   TakeOutcome = "again"   // the tasks taken had their verdict: take again
)

// TakeScan is how many queued tasks TakeTask looks at.
const TakeScan = 100

// TakeTask takes the first queued task of taskset that slave has not taken.
func (c *Client) TakeTask(ctx context.Context, taskset, slave string) (TakeOutcome, string, error) {
	v, err := scriptTakeTask.Run(ctx, c.rdb, []string{TaskQueue(taskset), SlaveTried(slave)}, TakeScan).Result()
	if err != nil {
		return "", "", scriptErr("take task", err)
	}
	out, task, err := pair("take task", v)
	return TakeOutcome(out), task, err
}

// Batching is how take_batch fills a batch (docs/batches.md).
type Batching struct {
	Max       int     // most tasks in a batch
	Slaves    int     // slaves the taskset is spread over
	TargetSec float64 // the sum of estimates a batch is filled up to
	Class     string  // the taskset class, whose estimates are read
}

// TakeBatch takes the first queued task of taskset that slave has not
// taken and, when it may run in a batch, short queued tasks after it
// (take_batch.lua). One task runs alone; several form a batch.
func (c *Client) TakeBatch(ctx context.Context, taskset, slave string, b Batching) (TakeOutcome, []string, error) {
	v, err := scriptTakeBatch.Run(ctx, c.rdb,
		[]string{TaskQueue(taskset), SlaveTried(slave), c.Keys.Estimate(b.Class), Batched(taskset)},
		TakeScan, TaskPrefix(taskset), b.Max, b.Slaves, strconv.FormatFloat(b.TargetSec, 'f', 3, 64)).Result()
	if err != nil {
		return "", nil, scriptErr("take batch", err)
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return "", nil, fmt.Errorf("take batch: unexpected reply %#v", v)
	}
	out, _ := list[0].(string)
	tasks := make([]string, 0, len(list)-1)
	for _, t := range list[1:] {
		s, ok := t.(string)
		if !ok {
			return "", nil, fmt.Errorf("take batch: unexpected reply %#v", v)
		}
		tasks = append(tasks, s)
	}
	return TakeOutcome(out), tasks, nil
}

// StartOutcome says what StartTrial did.
type StartOutcome string

// Outcomes of StartTrial.
const (
	StartOK      StartOutcome = "ok"      // the trial runs
	StartSettled StartOutcome = "settled" // the task has its verdict: skip it
	StartStopped StartOutcome = "stopped" // the taskset is over: stop
)

// StartTrial creates trial trialID of task for slave, stamped with the Redis
// time, and returns its key and start time.
func (c *Client) StartTrial(ctx context.Context, taskset, task, trialID, slave string) (StartOutcome, string, time.Time, error) {
	trial := Trial(task, trialID)
	v, err := scriptStartTrial.Run(ctx, c.rdb,
		[]string{task, TaskTrials(task), trial, SlaveTrials(slave), taskset}, slave).Result()
	if err != nil {
		return "", "", time.Time{}, scriptErr("start trial", err)
	}
	out, started, err := pair("start trial", v)
	if err != nil || out != string(StartOK) {
		return StartOutcome(out), "", time.Time{}, err
	}
	t, err := ParseTime(started)
	return StartOK, trial, t, err
}

// Taken is a task a slave took with TakeTrial, and the trial it started.
type Taken struct {
	Task, Trial string
	Started     time.Time
	Fields      map[string]string // the task's hash
}

// TakeTrial takes the first queued task of taskset that slave has not
// taken and starts trial trialID of it, in one round trip (take_trial.lua);
// a Taken comes with TakeOK only.
func (c *Client) TakeTrial(ctx context.Context, taskset, slave, trialID string) (TakeOutcome, *Taken, error) {
	v, err := scriptTakeTrial.Run(ctx, c.rdb, []string{TaskQueue(taskset), SlaveTried(slave), taskset, SlaveTrials(slave)},
		TakeScan, slave, trialID).StringSlice()
	if err != nil {
		return "", nil, scriptErr("take trial", err)
	}
	if len(v) == 0 {
		return "", nil, fmt.Errorf("take trial: empty reply")
	}
	out := TakeOutcome(v[0])
	if out != TakeOK {
		return out, nil, nil
	}
	if len(v) < 4 || len(v)%2 != 0 {
		return "", nil, fmt.Errorf("take trial: malformed reply %q", v)
	}
	t := &Taken{Task: v[1], Trial: v[2], Fields: map[string]string{}}
	for i := 4; i+1 < len(v); i += 2 {
		t.Fields[v[i]] = v[i+1]
	}
	if t.Started, err = ParseTime(v[3]); err != nil {
		return "", nil, fmt.Errorf("take trial: started_at: %w", err)
	}
	return TakeOK, t, nil
}

// LastTrialOf is the last trial slave started ("" when none).
func (c *Client) LastTrialOf(ctx context.Context, slave string) (string, error) {
	v, err := c.rdb.LIndex(ctx, SlaveTrials(slave), -1).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

// Result is what a slave reports of a trial.
type Result struct {
	Status                  string
	Passed, Pending, Failed int
	// Fields are more trial fields: stdout, stderr, exit_code, signal, error, ...
	Fields map[string]string
}

// FinishTrial records r for a running trial and asks the arbiter to settle
// it. It returns false when the trial had a result already (the first wins).
func (c *Client) FinishTrial(ctx context.Context, trial string, r Result) (bool, error) {
	v, err := scriptFinishTrial.Run(ctx, c.rdb, []string{trial, c.Keys.ArbiterQueue()}, r.args("", 1, 1)...).Slice()
	if err != nil {
		return false, scriptErr("finish trial", err)
	}
	recorded, _, _, err := finishReply(v)
	return recorded, err
}

// args are finish_trial's ARGV.
func (r Result) args(log string, logCap, tasksetLogCap int) []any {
	args := []any{r.Status, r.Passed, r.Pending, r.Failed, log, logCap, tasksetLogCap}
	for f, v := range r.Fields {
		args = append(args, f, v)
	}
	return args
}

// Finished is what FinishAndSettle did.
type Finished struct {
	Recorded bool          // false: the trial had a result already (the first wins)
	Outcome  SettleOutcome // the settle's; "" when not recorded, SettleDeferred when left to the arbiter
	Taskset  string        // the taskset's status when this call finished it, else ""
	// Run is, with FinishAndCount, the worker's run of fast failures in
	// the taskset after this trial; RunTripped when its breaker tripped.
	Run int
}

// SettleDeferred is FinishAndSettle's outcome when the task could not be
// settled in place and the arbiter was asked to.
const SettleDeferred SettleOutcome = "deferred"

// FinishAndSettle is a slave's finish, in one round trip: it records r for
// trial (of task, of taskset), appends log (the slave's held lines, under
// logCap) to the slave's log, and settles the task at once, as settle_task
// does, writing to the taskset's log what the arbiter would. Calling it
// again after a lost reply changes nothing more: the first result wins.
func (c *Client) FinishAndSettle(ctx context.Context, taskset, task, trial, slave, log string, logCap int, r Result) (Finished, error) {
	return c.finishAndSettle(ctx, taskset, task, trial, slave, log, logCap, r)
}

// finishAndSettle runs finish_trial's slave form; breaker are the three
// keys of the worker's circuit breaker (breaker.go), or none.
func (c *Client) finishAndSettle(ctx context.Context, taskset, task, trial, slave, log string, logCap int, r Result, breaker ...string) (Finished, error) {
	keys := []string{trial, c.Keys.ArbiterQueue(), SlaveLog(slave), task, TaskTrials(task), taskset,
		TasksLeft(taskset), TaskQueue(taskset), c.Keys.ActiveTaskset(), c.Keys.PersisterQueue(), TasksetLog(taskset)}
	v, err := scriptFinishTrial.Run(ctx, c.rdb, append(keys, breaker...), r.args(log, max(logCap, 1), TasksetLogCap)...).Slice()
	if err != nil {
		return Finished{}, scriptErr("finish trial", err)
	}
	recorded, out, finished, err := finishReply(v)
	f := Finished{Recorded: recorded, Outcome: SettleOutcome(out), Taskset: finished}
	if len(v) == 4 {
		run, _ := v[3].(int64)
		f.Run = int(run)
	}
	return f, err
}

// finishReply decodes finish_trial's {recorded, outcome, taskset status[, run]}.
func finishReply(v []any) (bool, string, string, error) {
	if len(v) != 3 && len(v) != 4 {
		return false, "", "", fmt.Errorf("finish trial: malformed reply %v", v)
	}
	n, _ := v[0].(int64)
	out, _ := v[1].(string)
	finished, _ := v[2].(string)
	return n == 1, out, finished, nil
}

// SettleOutcome says what SettleTask did; see settle_task.lua.
type SettleOutcome string

// Outcomes of SettleTask.
const (
	SettlePassed   SettleOutcome = StatusPassed
	SettlePending  SettleOutcome = StatusPending
	SettleFailed   SettleOutcome = StatusFailed
	SettleRunning  SettleOutcome = "running"
	SettleRequeued SettleOutcome = "requeued"
	SettleQueued   SettleOutcome = "queued"
	SettleSettled  SettleOutcome = "settled"
	SettleStopped  SettleOutcome = "stopped"
)

// SettleTask gives task its verdict from its trials, exactly once, and
// finishes the taskset when it was the last task left. finished is the
// taskset's new status when this call finished it, else "".
func (c *Client) SettleTask(ctx context.Context, task string) (out SettleOutcome, finished string, err error) {
	ts, err := c.rdb.HGet(ctx, task, FTaskset).Result()
	if errors.Is(err, redis.Nil) || (err == nil && ts == "") {
		return "", "", fmt.Errorf("settle task %s: %w: no such task", task, ErrInvalid)
	}
	if err != nil {
		return "", "", fmt.Errorf("settle task %s: %w", task, err)
	}
	for range maxStaleRetries {
		trials, err := c.rdb.LRange(ctx, TaskTrials(task), 0, -1).Result()
		if err != nil && !IsWrongType(err) { // the script settles a corrupt list
			return "", "", fmt.Errorf("settle task %s: %w", task, err)
		}
		keys := append([]string{task, TaskTrials(task), ts, TasksLeft(ts), TaskQueue(ts),
			c.Keys.ActiveTaskset(), c.Keys.PersisterQueue()}, trials...)
		v, err := scriptSettleTask.Run(ctx, c.rdb, keys).Result()
		if err != nil {
			return "", "", scriptErr("settle task", err)
		}
		o, fin, err := pair("settle task", v)
		if err != nil {
			return "", "", err
		}
		if o != "stale" {
			return SettleOutcome(o), fin, nil
		}
	}
	return "", "", fmt.Errorf("settle task %s: %w", task, ErrStale)
}

// RequeueOutcome says what RequeueTask did; see requeue_task.lua.
type RequeueOutcome string

// Outcomes of RequeueTask.
const (
	RequeueDone    RequeueOutcome = "requeued"
	RequeueQueued  RequeueOutcome = "queued"
	RequeueSettled RequeueOutcome = "settled"
	RequeueStopped RequeueOutcome = "stopped"
	RequeueStale   RequeueOutcome = "stale"
)

// RequeueTask queues task of taskset again at the tail, provided it still
// has seenTrials trials and no verdict.
func (c *Client) RequeueTask(ctx context.Context, taskset, task string, seenTrials int) (RequeueOutcome, error) {
	v, err := scriptRequeueTask.Run(ctx, c.rdb,
		[]string{task, TaskTrials(task), taskset, TaskQueue(taskset)}, seenTrials).Text()
	if err != nil {
		return "", scriptErr("requeue task", err)
	}
	return RequeueOutcome(v), nil
}

// FinishTaskset finishes a running taskset with no task left, and returns
// the status it set, or "" when tasks are left or it was not running.
func (c *Client) FinishTaskset(ctx context.Context, taskset string) (string, error) {
	v, err := scriptFinishTaskset.Run(ctx, c.rdb, []string{taskset, TasksLeft(taskset), TaskQueue(taskset),
		c.Keys.ActiveTaskset(), c.Keys.PersisterQueue()}).Text()
	if err != nil {
		return "", scriptErr("finish taskset", err)
	}
	return v, nil
}

// CancelTaskset cancels a taskset that has not finished; false when it had.
func (c *Client) CancelTaskset(ctx context.Context, taskset, reason string) (bool, error) {
	return c.stopTaskset(ctx, taskset, StatusCancelled, reason)
}

// FailTaskset fails a taskset that has not finished (a setup failed, slaves
// keep crashing); false when it had finished.
func (c *Client) FailTaskset(ctx context.Context, taskset, reason string) (bool, error) {
	return c.stopTaskset(ctx, taskset, StatusFailed, reason)
}

func (c *Client) stopTaskset(ctx context.Context, taskset, status, reason string) (bool, error) {
	n, err := scriptStopTaskset.Run(ctx, c.rdb, []string{taskset, TaskQueue(taskset), c.Keys.ActiveTaskset(),
		c.Keys.PersisterQueue(), TasksetLog(taskset)}, status, reason).Int()
	if err != nil {
		return false, scriptErr("stop taskset", err)
	}
	return n == 1, nil
}

// DispatchOutcome says what Dispatch did; see dispatch.lua.
type DispatchOutcome string

// Outcomes of Dispatch.
const (
	DispatchOK      DispatchOutcome = "ok"
	DispatchStopped DispatchOutcome = "stopped"
	DispatchDead    DispatchOutcome = "dead"
	DispatchBusy    DispatchOutcome = "busy"
	DispatchType    DispatchOutcome = "type"
	DispatchWorked  DispatchOutcome = "worked"
	DispatchFull    DispatchOutcome = "full"
)

// Dispatch gives taskset to worker if the rules allow it.
func (c *Client) Dispatch(ctx context.Context, taskset, worker string) (DispatchOutcome, error) {
	v, err := scriptDispatch.Run(ctx, c.rdb, []string{taskset, Assigned(taskset), worker, Heartbeat(worker),
		WorkerQueue(worker), WorkerLog(taskset, worker)}).Text()
	if err != nil {
		return "", scriptErr("dispatch", err)
	}
	return DispatchOutcome(v), nil
}

// ReleaseWorker makes worker leave taskset and become idle; false when it
// did not hold that taskset.
func (c *Client) ReleaseWorker(ctx context.Context, worker, taskset string) (bool, error) {
	n, err := scriptReleaseWorker.Run(ctx, c.rdb, []string{worker, Assigned(taskset), c.Keys.DispatcherQueue()},
		taskset).Int()
	if err != nil {
		return false, scriptErr("release worker", err)
	}
	return n == 1, nil
}

// RegisterWorker adds worker to the worker set with a heartbeat of ttl and
// the given hash fields. It returns the taskset an earlier process with the
// same worker id held, which the caller should release.
func (c *Client) RegisterWorker(ctx context.Context, worker string, ttl time.Duration, fields map[string]string) (string, error) {
	args := []any{ttl.Milliseconds()}
	for f, v := range fields {
		args = append(args, f, v)
	}
	v, err := scriptRegisterWorker.Run(ctx, c.rdb, []string{c.Keys.Workers(), worker, Heartbeat(worker),
		c.Keys.DispatcherQueue()}, args...).Text()
	if err != nil {
		return "", scriptErr("register worker", err)
	}
	return v, nil
}

// Beat refreshes the heartbeat of a worker, slave or consumer.
func (c *Client) Beat(ctx context.Context, owner string, ttl time.Duration) error {
	if err := c.rdb.Set(ctx, Heartbeat(owner), "alive", ttl).Err(); err != nil {
		return fmt.Errorf("heartbeat %s: %w", owner, err)
	}
	return nil
}

// Alive reports whether the heartbeat of owner is present.
func (c *Client) Alive(ctx context.Context, owner string) (bool, error) {
	n, err := c.rdb.Exists(ctx, Heartbeat(owner)).Result()
	if err != nil {
		return false, fmt.Errorf("heartbeat %s: %w", owner, err)
	}
	return n == 1, nil
}

// RemoveWorker forgets worker when its heartbeat has expired. It returns
// true when the worker was removed, false when it is alive.
func (c *Client) RemoveWorker(ctx context.Context, worker string) (bool, error) {
	for range maxStaleRetries {
		ts, err := c.rdb.HGet(ctx, worker, FTaskset).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return false, fmt.Errorf("remove worker %s: %w", worker, err)
		}
		assigned := worker // any key will do when it holds no taskset
		if ts != "" {
			assigned = Assigned(ts)
		}
		v, err := scriptRemoveWorker.Run(ctx, c.rdb, []string{c.Keys.Workers(), worker, Heartbeat(worker),
			WorkerQueue(worker), assigned}, ts).Text()
		if err != nil {
			return false, scriptErr("remove worker", err)
		}
		switch v {
		case "removed":
			return true, nil
		case "alive":
			return false, nil
		}
	}
	return false, fmt.Errorf("remove worker %s: %w", worker, ErrStale)
}

// WakeDispatcher pushes a wake-up token onto the dispatcher queue.
func (c *Client) WakeDispatcher(ctx context.Context) error {
	q := c.Keys.DispatcherQueue()
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, q, "0")
		p.LTrim(ctx, q, -100, -1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("wake dispatcher: %w", err)
	}
	return nil
}

// SendCommand pushes cmd onto the arbiter queue.
func (c *Client) SendCommand(ctx context.Context, cmd Command) error {
	if err := c.rdb.RPush(ctx, c.Keys.ArbiterQueue(), cmd.String()).Err(); err != nil {
		return fmt.Errorf("send %s to arbiter: %w", cmd.Verb, err)
	}
	return nil
}

// AppendLog appends text to the log string key, keeping it under limit bytes.
func (c *Client) AppendLog(ctx context.Context, key, text string, limit int) error {
	if err := scriptAppendCapped.Run(ctx, c.rdb, []string{key}, text, limit).Err(); err != nil {
		return scriptErr("append log", err)
	}
	return nil
}

// TasksetLogCap bounds a taskset's own log in Redis.
const TasksetLogCap = 256 << 10

// LogTaskset appends a line to the taskset's own log, stamped with the
// Redis time as the original RRRSpec stamped it ("2006-01-02 15:04:05 ").
// The log is for people: the requeues, speculative copies, recoveries and
// the end of the taskset.
func (c *Client) LogTaskset(ctx context.Context, taskset, line string) error {
	err := scriptAppendCapped.Run(ctx, c.rdb, []string{TasksetLog(taskset)}, line+"\n", TasksetLogCap, "stamp").Err()
	if err != nil {
		return scriptErr("log taskset", err)
	}
	return nil
}

// Stamp sets field of hash to the Redis time, with more field/value pairs
// in the same write, and returns the time.
func (c *Client) Stamp(ctx context.Context, hash, field string, pairs ...string) (time.Time, error) {
	args := []any{field}
	for _, p := range pairs {
		args = append(args, p)
	}
	v, err := scriptStamp.Run(ctx, c.rdb, []string{hash}, args...).Text()
	if err != nil {
		return time.Time{}, scriptErr("stamp", err)
	}
	return ParseTime(v)
}

// StartWorkerLog opens worker's log of taskset once and returns its key.
func (c *Client) StartWorkerLog(ctx context.Context, taskset, worker string) (string, error) {
	log := WorkerLog(taskset, worker)
	if err := scriptStartWorkerLog.Run(ctx, c.rdb, []string{WorkerLogs(taskset), log}, worker, taskset).Err(); err != nil {
		return "", scriptErr("start worker log", err)
	}
	return log, nil
}

// RegisterSlave adds slave to taskset's slaves with a heartbeat of ttl and
// the given hash fields (worker, number, pid).
func (c *Client) RegisterSlave(ctx context.Context, taskset, slave string, ttl time.Duration, fields map[string]string) error {
	args := []any{ttl.Milliseconds(), FTaskset, taskset}
	for f, v := range fields {
		args = append(args, f, v)
	}
	if err := scriptRegisterSlave.Run(ctx, c.rdb, []string{slave, TasksetSlaves(taskset), Heartbeat(slave)},
		args...).Err(); err != nil {
		return scriptErr("register slave", err)
	}
	return nil
}

// EstimateWeight is the weight of the newest run in an estimate.
const EstimateWeight = 0.5

// RecordPersisted folds the durations (seconds) of a persisted taskset's
// passed specs into the estimates of class, appends the outcome of each
// spec with a verdict (History* letters) to the class's history, and marks
// the taskset persisted; false when it was persisted before, and then
// nothing is counted again.
func (c *Client) RecordPersisted(ctx context.Context, taskset, class string, durations map[string]float64, outcomes map[string]string) (bool, error) {
	args := make([]any, 0, 3+2*len(durations)+2*len(outcomes))
	args = append(args, EstimateWeight, HistoryRuns, len(durations))
	for spec, d := range durations {
		args = append(args, spec, strconv.FormatFloat(d, 'f', 3, 64))
	}
	for spec, o := range outcomes {
		args = append(args, spec, o)
	}
	n, err := scriptRecordPersisted.Run(ctx, c.rdb, []string{taskset, c.Keys.Estimate(class), c.Keys.History(class)}, args...).Int()
	if err != nil {
		return false, scriptErr("record persisted", err)
	}
	return n == 1, nil
}

// ExpireChunk is how many tasks one ExpireTasks call handles.
const ExpireChunk = 1000

// ExpireTasks sets the expiry of tasks with their trial lists and trials,
// a chunk of ExpireChunk tasks per call, and returns how many keys exist
// and got it.
func (c *Client) ExpireTasks(ctx context.Context, tasks []string, ttl time.Duration) (int, error) {
	n := 0
	for from := 0; from < len(tasks); from += ExpireChunk {
		got, err := scriptExpireTasks.Run(ctx, c.rdb, tasks[from:min(from+ExpireChunk, len(tasks))], ttl.Milliseconds()).Int()
		if err != nil {
			return n, scriptErr("expire tasks", err)
		}
		n += got
	}
	return n, nil
}
