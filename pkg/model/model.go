// Package model decodes the protocol's hashes into typed values, and loads
// a whole taskset (tasks, trials, worker logs, slaves) in a few round trips.
// A malformed value is an error naming the key and field, never a panic:
// callers log it and skip the object.
//
// It also holds the domain rules read from those values, so that every
// part and report agrees on them: what counts as a trial failure, which
// trial stands for a task, what is flaky (rules.go), and a taskset's
// verdict with its exit code (verdict.go).
//
// The JSON form of these types is the one `rrr show --json` prints and the
// persister stores.
package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rrr-dev/rrr/schema"
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed value in redis")

// ErrNotFound is returned when the object does not exist.
var ErrNotFound = errors.New("not found")

// Time is a protocol time; its JSON is null when it is not set.
type Time struct{ time.Time }

// MarshalJSON writes RFC 3339 with microseconds, or null.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(schema.FormatTime(t.Time))
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := schema.ParseTime(s)
	t.Time = v
	return err
}

// Taskset is a taskset hash.
type Taskset struct {
	Key            string `json:"key"`
	ID             string `json:"id"`
	Status         string `json:"status"`
	StatusReason   string `json:"status_reason,omitempty"`
	CreatedAt      Time   `json:"created_at"`
	FinishedAt     Time   `json:"finished_at"`
	PersistedAt    Time   `json:"persisted_at"`
	SucceededCount int    `json:"succeeded_count"`
	FailedCount    int    `json:"failed_count"`
	ErrorCount     int    `json:"error_count,omitempty"`
	// QuarantinedFailedCount is the part of FailedCount whose tasks were
	// quarantined: they do not fail the taskset.
	QuarantinedFailedCount int    `json:"quarantined_failed_count,omitempty"`
	TaskCount              int    `json:"task_count"`
	RsyncName              string `json:"rsync_name"`
	SetupCommand           string `json:"setup_command"`
	SlaveCommand           string `json:"slave_command,omitempty"`
	TrialCommand           string `json:"trial_command"`
	Runner                 string `json:"runner,omitempty"`
	ResultFormat           string `json:"result_format"`
	WorkerType             string `json:"worker_type"`
	MaxWorkers             int    `json:"max_workers"`
	MaxTrials              int    `json:"max_trials"`
	MaxFailures            int    `json:"max_failures,omitempty"`
	RerunOf                string `json:"rerun_of,omitempty"`
	BuildID                string `json:"build_id,omitempty"`
	// Ordered: the specs run in the given order on one slave (rrr bisect).
	Ordered               bool   `json:"ordered,omitempty"`
	TasksetClass          string `json:"taskset_class"`
	UnknownSpecTimeoutSec int    `json:"unknown_spec_timeout_sec"`
	LeastTimeoutSec       int    `json:"least_timeout_sec"`
	RsyncRemotePath       string `json:"rsync_remote_path,omitempty"`
	RsyncOptions          string `json:"rsync_options,omitempty"`
	// Batches (docs/batches.md); BatchMax < 2: none.
	BatchMax       int     `json:"batch_max,omitempty"`
	BatchTargetSec float64 `json:"batch_target_sec,omitempty"`
	BatchSlaves    int     `json:"batch_slaves,omitempty"`
	// Partitions maps the task names that run part of a spec file to
	// that part (docs/partitions.md); nil: every task runs a whole file.
	Partitions map[string]schema.Partition `json:"partitions,omitempty"`
}

// Task is a task hash.
type Task struct {
	Key      string `json:"key"`
	Taskset  string `json:"-"`
	SpecFile string `json:"spec_file"`
	Status   string `json:"status"`
	// FailureKind is schema.FailureError for a failed task whose trials
	// only errored: Verdict says "error".
	FailureKind string `json:"failure_kind,omitempty"`
	// Error says why a task was settled without trials to read.
	Error string `json:"error,omitempty"`
	// Quarantined is the reason the spec ran in quarantine ("" when it did
	// not): its failure does not fail the taskset.
	Quarantined string `json:"quarantined,omitempty"`
	// EstimateSec is nil when the spec had no estimate.
	EstimateSec *int    `json:"estimate_sec"`
	Trials      []Trial `json:"trials"`
	// Parts is how many partitions a task of BySpec stands for; 0 for a
	// task of Redis (docs/partitions.md).
	Parts int `json:"parts,omitempty"`
}

// Name is the task's name in its key: its spec file, or for a partition
// <spec>#p<i>of<n> (docs/partitions.md).
func (t Task) Name() string {
	if i := strings.Index(t.Key, ":task:"); i >= 0 {
		return t.Key[i+len(":task:"):]
	}
	return t.SpecFile
}

// Partition is the task's partition name, "" when it runs its whole spec file.
func (t Task) Partition() string {
	if n := t.Name(); n != t.SpecFile {
		return n
	}
	return ""
}

// Verdict is the task's status as people read it: "error" for a failed
// task whose trials only errored (it crashed, it was not the test), else
// its status.
func (t Task) Verdict() string {
	if t.Status == schema.StatusFailed && t.FailureKind == schema.FailureError {
		return schema.StatusError
	}
	return t.Status
}

// Outcome is the task's letter in the history of its class
// (schema.History*), "" when it has no verdict.
func (t Task) Outcome() string {
	switch {
	case t.Status == "":
		return ""
	case t.Verdict() == schema.StatusError:
		return schema.HistoryError
	case t.Status == schema.StatusFailed:
		return schema.HistoryFailed
	case IsFlaky(t):
		return schema.HistoryFlaky
	}
	return schema.HistoryPassed
}

// Trial is a trial hash.
type Trial struct {
	Key        string `json:"key"`
	Task       string `json:"-"`
	Slave      string `json:"slave"`
	Status     string `json:"status"`
	StartedAt  Time   `json:"started_at"`
	FinishedAt Time   `json:"finished_at"`
	Passed     int    `json:"passed"`
	Pending    int    `json:"pending"`
	Failed     int    `json:"failed"`
	ExitCode   *int   `json:"exit_code,omitempty"`
	Signal     string `json:"signal,omitempty"`
	Error      string `json:"error,omitempty"`
	OutputPath string `json:"output_path,omitempty"`
	Stdout     string `json:"stdout,omitempty"`
	Stderr     string `json:"stderr,omitempty"`
	Format     string `json:"format,omitempty"`
	// Batch is the id of the batch of spec files the trial ran in, and
	// BatchSize how many it held (docs/batches.md); empty when it ran alone.
	// Crashed says what died under an error trial: "slave" or "runner"
	// (schema.FCrashed); empty otherwise.
	Crashed   string `json:"crashed,omitempty"`
	Batch     string `json:"batch,omitempty"`
	BatchSize int    `json:"batch_size,omitempty"`
	// BatchShareSec is the spec's share of its batch's time: the batch's
	// time split by the time of each spec's cases in the report (evenly
	// without them). Estimates, the work and "took" use it.
	BatchShareSec float64 `json:"batch_share_sec,omitempty"`
	// Report lists the test cases the result format gave, failed ones first.
	Report []Case `json:"report,omitempty"`
	// PartitionNote says how the cases that ran differ from a partition's
	// (schema.FPartitionNote); empty when they do not, or for a whole file.
	PartitionNote string `json:"partition_note,omitempty"`
	// FastFailure: the trial failed much sooner than its spec's estimate
	// (the circuit breaker's count); Discounted, why it does not count
	// toward max_trials (its worker's breaker tripped; lib.lua settle
	// skips it), nor makes its spec flaky.
	FastFailure bool   `json:"fast_failure,omitempty"`
	Discounted  string `json:"discounted,omitempty"`
}

// Case is one test case of a trial's report.
type Case struct {
	// ID is the framework's own id of the case, when it has one that
	// selects it (RSpec: ./spec/a_spec.rb[1:2]).
	ID        string  `json:"id,omitempty"`
	Name      string  `json:"name"`
	Classname string  `json:"classname,omitempty"`
	File      string  `json:"file,omitempty"`
	Status    string  `json:"status"` // passed, pending or failed
	TimeSec   float64 `json:"time_sec,omitempty"`
	Message   string  `json:"message,omitempty"` // the failure or pending message, capped
}

// Duration is how long a finished trial ran, 0 while it runs; for a trial
// of a batch, its spec's share of the batch's time (BatchShareSec).
func (t Trial) Duration() time.Duration {
	if t.StartedAt.IsZero() || t.FinishedAt.IsZero() {
		return 0
	}
	if t.BatchShareSec > 0 {
		return time.Duration(t.BatchShareSec * float64(time.Second))
	}
	return t.FinishedAt.Sub(t.StartedAt.Time)
}

// Worker is a worker hash with its liveness.
type Worker struct {
	Key        string `json:"key"`
	ID         string `json:"id"`
	WorkerType string `json:"worker_type"`
	Taskset    string `json:"taskset"`
	Host       string `json:"host,omitempty"`
	Slaves     int    `json:"slaves"`
	Pid        int    `json:"pid,omitempty"`
	StartedAt  Time   `json:"started_at"`
	Alive      bool   `json:"alive"`
	// Unhealthy is why the worker's circuit breaker tripped ("" when it is
	// healthy), UnhealthyAt when.
	Unhealthy   string `json:"unhealthy,omitempty"`
	UnhealthyAt Time   `json:"unhealthy_at"`
}

// Slave is a slave hash with its liveness.
type Slave struct {
	Key       string `json:"key"`
	Worker    string `json:"worker"`
	Taskset   string `json:"taskset"`
	Status    string `json:"status"`
	Number    int    `json:"number"`
	Pid       int    `json:"pid,omitempty"`
	StartedAt Time   `json:"started_at"`
	Alive     bool   `json:"alive"`
	Log       string `json:"log,omitempty"`
}

// WorkerLog is one worker's record of a taskset.
type WorkerLog struct {
	Key             string `json:"key"`
	Worker          string `json:"worker"`
	Taskset         string `json:"taskset"`
	StartedAt       Time   `json:"started_at"`
	RsyncFinishedAt Time   `json:"rsync_finished_at"`
	SetupFinishedAt Time   `json:"setup_finished_at"`
	FinishedAt      Time   `json:"finished_at"`
	// BreakerReason is set when the worker's circuit breaker tripped in
	// this taskset and it left, at BreakerTrippedAt.
	BreakerTrippedAt Time   `json:"breaker_tripped_at"`
	BreakerReason    string `json:"breaker_reason,omitempty"`
	Log              string `json:"log,omitempty"`
}

// FieldError is a field of a hash that does not decode. It wraps
// ErrMalformed.
type FieldError struct {
	Key, Field, Value string
	Want              string // what the field must hold
	Err               error  // the parser's own error, if it says more
}

func (e *FieldError) Error() string {
	msg := fmt.Sprintf("%s field %s = %q: %v: want %s", e.Key, e.Field, short(e.Value), ErrMalformed, e.Want)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *FieldError) Unwrap() error { return ErrMalformed }

// Reason names the field and its value without the key, as a taskset's
// status_reason says why it was set aside.
func (e *FieldError) Reason() string {
	return fmt.Sprintf("field %s = %q (want %s)", e.Field, short(e.Value), e.Want)
}

// SetAside is the status_reason of a taskset failed because this field of
// its hash cannot be read: one reason, whoever found it.
func (e *FieldError) SetAside() string {
	return "the taskset cannot be read: " + e.Reason() + "; it was set aside (fix the client that wrote it)"
}

// short cuts a value for a message.
func short(v string) string {
	if len(v) > 80 {
		return v[:80] + "…"
	}
	return v
}

// decoder reads fields of one hash and remembers the first error.
type decoder struct {
	key string
	h   map[string]string
	err error
}

func (d *decoder) fail(f, want string, err error) {
	if d.err == nil {
		d.err = &FieldError{Key: d.key, Field: f, Value: d.h[f], Want: want, Err: err}
	}
}

func (d *decoder) str(f string) string { return d.h[f] }

func (d *decoder) int(f string) int {
	v := d.h[f]
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		d.fail(f, "a whole number", nil)
	}
	return n
}

func (d *decoder) float(f string) float64 {
	v := d.h[f]
	if v == "" {
		return 0
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		d.fail(f, "a number", nil)
		return 0
	}
	return n
}

func (d *decoder) optInt(f string) *int {
	if d.h[f] == "" {
		return nil
	}
	n := d.int(f)
	return &n
}

func (d *decoder) time(f string) Time {
	v := d.h[f]
	if v == "" {
		return Time{}
	}
	t, err := schema.ParseTime(v)
	if err != nil {
		d.fail(f, "an RFC 3339 time or Ruby's Time#to_s (2006-01-02 15:04:05 UTC)", nil)
	}
	return Time{t}
}

func (d *decoder) cases(f string) []Case {
	v := d.h[f]
	if v == "" {
		return nil
	}
	var cs []Case
	if err := json.Unmarshal([]byte(v), &cs); err != nil {
		d.fail(f, "a JSON list of test cases", err)
	}
	return cs
}

func (d *decoder) partitions(f string) map[string]schema.Partition {
	v := d.h[f]
	if v == "" {
		return nil
	}
	var ps map[string]schema.Partition
	if err := json.Unmarshal([]byte(v), &ps); err != nil {
		d.fail(f, "a JSON object of partitions", err)
	}
	return ps
}

func (d *decoder) oneOf(f string, allowed ...string) string {
	v := d.h[f]
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	d.fail(f, fmt.Sprintf("one of %q", allowed), nil)
	return v
}

func notFound(key string, h map[string]string) error {
	if len(h) == 0 {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return nil
}

// DecodeTaskset decodes a taskset hash.
func DecodeTaskset(keys schema.Keys, key string, h map[string]string) (Taskset, error) {
	if err := notFound(key, h); err != nil {
		return Taskset{}, err
	}
	d := &decoder{key: key, h: h}
	id, _ := keys.TasksetID(key)
	t := Taskset{
		Key: key, ID: id,
		Status:                 d.oneOf(schema.FStatus, "", schema.StatusRunning, schema.StatusSucceeded, schema.StatusCancelled, schema.StatusFailed),
		StatusReason:           d.str(schema.FStatusReason),
		CreatedAt:              d.time(schema.FCreatedAt),
		FinishedAt:             d.time(schema.FFinishedAt),
		PersistedAt:            d.time(schema.FPersistedAt),
		SucceededCount:         d.int(schema.FSucceededCount),
		FailedCount:            d.int(schema.FFailedCount),
		ErrorCount:             d.int(schema.FErrorCount),
		QuarantinedFailedCount: d.int(schema.FQuarantinedFailedCount),
		TaskCount:              d.int(schema.FTaskCount),
		RsyncName:              d.str(schema.FRsyncName),
		SetupCommand:           d.str(schema.FSetupCommand),
		SlaveCommand:           d.str(schema.FSlaveCommand),
		TrialCommand:           d.str(schema.FTrialCommand),
		Runner:                 d.str(schema.FRunner),
		ResultFormat:           d.str(schema.FResultFormat),
		WorkerType:             d.str(schema.FWorkerType),
		MaxWorkers:             d.int(schema.FMaxWorkers),
		MaxTrials:              d.int(schema.FMaxTrials),
		MaxFailures:            d.int(schema.FMaxFailures),
		RerunOf:                d.str(schema.FRerunOf),
		BuildID:                d.str(schema.FBuildID),
		Ordered:                d.str(schema.FOrdered) == "1",
		TasksetClass:           d.str(schema.FTasksetClass),
		UnknownSpecTimeoutSec:  d.int(schema.FUnknownSpecTimeoutSec),
		LeastTimeoutSec:        d.int(schema.FLeastTimeoutSec),
		RsyncRemotePath:        d.str(schema.FRsyncRemotePath),
		RsyncOptions:           d.str(schema.FRsyncOptions),
		BatchMax:               d.int(schema.FBatchMax),
		BatchTargetSec:         d.float(schema.FBatchTargetSec),
		BatchSlaves:            d.int(schema.FBatchSlaves),
		Partitions:             d.partitions(schema.FPartitions),
	}
	return t, d.err
}

// DecodeTask decodes a task hash (without its trials).
func DecodeTask(key string, h map[string]string) (Task, error) {
	if err := notFound(key, h); err != nil {
		return Task{}, err
	}
	d := &decoder{key: key, h: h}
	t := Task{
		Key: key, Taskset: d.str(schema.FTaskset), SpecFile: d.str(schema.FSpecFile),
		Status:      d.oneOf(schema.FStatus, "", schema.StatusPassed, schema.StatusPending, schema.StatusFailed),
		FailureKind: d.str(schema.FFailureKind), Error: d.str(schema.FError), Quarantined: d.str(schema.FQuarantined),
		EstimateSec: d.optInt(schema.FEstimateSec),
	}
	return t, d.err
}

// DecodeTrial decodes a trial hash.
func DecodeTrial(key string, h map[string]string) (Trial, error) {
	if err := notFound(key, h); err != nil {
		return Trial{}, err
	}
	d := &decoder{key: key, h: h}
	t := Trial{
		Key: key, Task: d.str(schema.FTask), Slave: d.str(schema.FSlave),
		Status: d.oneOf(schema.FStatus, "", schema.StatusPassed, schema.StatusPending, schema.StatusFailed,
			schema.StatusError, schema.StatusTimeout),
		StartedAt: d.time(schema.FStartedAt), FinishedAt: d.time(schema.FFinishedAt),
		Passed: d.int(schema.FPassed), Pending: d.int(schema.FPending), Failed: d.int(schema.FFailed),
		ExitCode: d.optInt(schema.FExitCode), Signal: d.str(schema.FSignal), Error: d.str(schema.FError),
		OutputPath: d.str(schema.FOutputPath), Stdout: d.str(schema.FStdout), Stderr: d.str(schema.FStderr),
		Format: d.str(schema.FFormat), Report: d.cases(schema.FReport),
		Crashed: d.str(schema.FCrashed), PartitionNote: d.str(schema.FPartitionNote),
		Batch: d.str(schema.FBatch), BatchSize: d.int(schema.FBatchSize), BatchShareSec: d.float(schema.FBatchShareSec),
		FastFailure: d.str(schema.FFastFailure) != "", Discounted: d.str(schema.FDiscounted),
	}
	return t, d.err
}

// DecodeWorker decodes a worker hash; alive comes from its heartbeat.
func DecodeWorker(keys schema.Keys, key string, h map[string]string, alive bool) (Worker, error) {
	if err := notFound(key, h); err != nil {
		return Worker{}, err
	}
	d := &decoder{key: key, h: h}
	id, _ := keys.WorkerID(key)
	w := Worker{
		Key: key, ID: id, WorkerType: d.str(schema.FWorkerType), Taskset: d.str(schema.FTaskset),
		Host: d.str(schema.FHost), Slaves: d.int(schema.FSlaves), Pid: d.int(schema.FPid),
		StartedAt: d.time(schema.FStartedAt), Alive: alive,
		Unhealthy: d.str(schema.FUnhealthy), UnhealthyAt: d.time(schema.FUnhealthyAt),
	}
	return w, d.err
}

// DecodeSlave decodes a slave hash; alive comes from its heartbeat.
func DecodeSlave(key string, h map[string]string, alive bool) (Slave, error) {
	if err := notFound(key, h); err != nil {
		return Slave{}, err
	}
	d := &decoder{key: key, h: h}
	s := Slave{
		Key: key, Worker: d.str(schema.FWorker), Taskset: d.str(schema.FTaskset),
		Status: d.oneOf(schema.FStatus, "", schema.SlaveNormalExit, schema.SlaveTimeoutExit, schema.SlaveFailureExit),
		Number: d.int(schema.FNumber), Pid: d.int(schema.FPid), StartedAt: d.time(schema.FStartedAt), Alive: alive,
	}
	return s, d.err
}

// DecodeWorkerLog decodes a worker log hash.
func DecodeWorkerLog(key string, h map[string]string) (WorkerLog, error) {
	if err := notFound(key, h); err != nil {
		return WorkerLog{}, err
	}
	d := &decoder{key: key, h: h}
	l := WorkerLog{
		Key: key, Worker: d.str(schema.FWorker), Taskset: d.str(schema.FTaskset),
		StartedAt: d.time(schema.FStartedAt), RsyncFinishedAt: d.time(schema.FRsyncFinishedAt),
		SetupFinishedAt: d.time(schema.FSetupFinishedAt), FinishedAt: d.time(schema.FFinishedAt),
		BreakerTrippedAt: d.time(schema.FBreakerTrippedAt), BreakerReason: d.str(schema.FBreakerReason),
	}
	return l, d.err
}
