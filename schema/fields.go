package schema

// Taskset hash fields.
const (
	FRsyncName             = "rsync_name"
	FSetupCommand          = "setup_command"
	FSlaveCommand          = "slave_command"
	FWorkerType            = "worker_type"
	FMaxWorkers            = "max_workers"
	FMaxTrials             = "max_trials"
	FTasksetClass          = "taskset_class"
	FUnknownSpecTimeoutSec = "unknown_spec_timeout_sec"
	FLeastTimeoutSec       = "least_timeout_sec"
	FCreatedAt             = "created_at"
	FFinishedAt            = "finished_at"
	FStatus                = "status"
	FSucceededCount        = "succeeded_count"
	FFailedCount           = "failed_count"

	// ext
	FTrialCommand    = "trial_command"     // template with {file} and {report}
	FRunner          = "runner"            // a persistent runner: "pytest", "rspec" or a command (docs/runners.md)
	FResultFormat    = "result_format"     // see the Format* constants
	FRsyncRemotePath = "rsync_remote_path" // where the client uploaded the code
	FRsyncOptions    = "rsync_options"     // extra rsync arguments of the upload
	FTaskCount       = "task_count"        // number of tasks at creation
	FPersistedAt     = "persisted_at"      // set once, by the persister
	FStatusReason    = "status_reason"     // why a taskset was cancelled, failed or set aside
	FErrorCount      = "error_count"       // failed tasks whose trials only errored (FFailureKind)
	FMaxFailures     = "max_failures"      // stop once this many specs failed for good (absent: no limit)
	FRerunOf         = "rerun_of"          // the taskset whose failures this one runs again
	FBuildID         = "build_id"          // the CI build it was created for (rrr start --build-id)
	// FOrdered = "1": the tasks are queued in the given order and run on
	// one slave of one worker (rrr bisect; docs/protocol.md).
	FOrdered = "ordered"
	// FQuarantinedFailedCount counts the failed tasks that were
	// quarantined (FQuarantined): they are part of failed_count but do not
	// fail the taskset, nor count toward max_failures or error_count.
	FQuarantinedFailedCount = "quarantined_failed_count"
	// Batches (docs/batches.md): set by the client when the trials run
	// several spec files at once ({files}, or a runner that batches).
	FBatchMax       = "batch_max"        // most spec files in a batch (>= 2; absent: no batches)
	FBatchTargetSec = "batch_target_sec" // the estimated seconds a batch is filled up to
	FBatchSlaves    = "batch_slaves"     // the slaves the client expects, to share the tail
	// FPartitions (docs/partitions.md) is a JSON object: task name ->
	// Partition, for the tasks that run some cases of a spec file. Absent:
	// every task runs its whole spec file.
	FPartitions = "partitions"
)

// Task hash fields.
const (
	FTaskset     = "taskset"
	FEstimateSec = "estimate_sec"
	FSpecFile    = "spec_file"
	// FRequeued (ext) counts the times the task was queued again after it
	// was taken (settle_task, requeue_task): a task never requeued is not
	// in the queue once it has a trial, so settle_task need not scan it.
	FRequeued = "requeued"
	// FFailureKind (ext) is FailureError on a failed task none of whose
	// trials failed or timed out: they only errored (crashed, lost, could
	// not run). Its status stays failed, the protocol's; clients show it as
	// error and blame the infrastructure, not the tests. A task may carry
	// FError too, when it was settled without trials to read.
	FFailureKind = "failure_kind"
	// FQuarantined (ext) is the reason the spec was quarantined when the
	// taskset was created (create_taskset, from $NS:quarantine:<class>):
	// its failure is counted in quarantined_failed_count and does not fail
	// the taskset. Absent: not quarantined.
	FQuarantined = "quarantined"
)

// FailureError is the FFailureKind of a task that failed by errors alone.
const FailureError = "error"

// Trial hash fields.
const (
	FTask      = "task"
	FSlave     = "slave"
	FStartedAt = "started_at"
	FStdout    = "stdout"
	FStderr    = "stderr"
	FPassed    = "passed"
	FPending   = "pending"
	FFailed    = "failed"

	// ext
	FExitCode = "exit_code" // the trial command's exit code, when it exited
	// FPartitionNote (docs/partitions.md) is set on a partition's trial
	// whose cases were not the planned ones: cases that ran outside the
	// partition, or cases of it that did not run.
	FPartitionNote = "partition_note"
	FSignal        = "signal"      // the signal that ended it, when one did
	FError         = "error"       // why a trial is "error" or "timeout"
	FOutputPath    = "output_path" // host:path of the full, uncapped output
	FReport        = "report"      // JSON list of test cases ([]model.Case), failed ones first, capped
	FFormat        = "format"      // the result format the report was read as
	// FBatch is the id of the batch the trial ran in, and FBatchSize how
	// many spec files it held; absent on a trial that ran alone.
	// FCrashed is set on an error trial whose slave ("slave") or runner
	// ("runner") died under it while its worker lived on; two such trials
	// fail their task (lib.lua settle), since the spec is what kills them.
	FCrashed   = "crashed"
	FBatch     = "batch"
	FBatchSize = "batch_size"
	// FBatchShareSec is the spec's share of its batch's time in seconds,
	// which estimates and the balance of the run count instead of the
	// batch's whole time (docs/batches.md).
	FBatchShareSec = "batch_share_sec"
	// FFastFailure is set ("1") by a slave whose worker runs a circuit
	// breaker on a failed, error or timeout trial that ended much sooner
	// than its spec's estimate (worker.FastLimit); FDiscounted, when the
	// breaker tripped, says why the trial does not count toward
	// max_trials (lib.lua settle skips it). docs/protocol.md, "The
	// circuit breaker".
	FFastFailure = "fast_failure"
	FDiscounted  = "discounted"
)

// Worker hash fields (FWorkerType, FTaskset, and ext).
const (
	FHost   = "host"   // ext: the host name the worker runs on
	FSlaves = "slaves" // ext: how many slaves it forks
	FPid    = "pid"    // ext: process id of a worker or slave
	FNumber = "number" // ext: SLAVE_NUMBER of a slave
	FWorker = "worker" // worker log and slave: the worker key
	// FUnhealthy (ext) is why the worker's circuit breaker tripped, and
	// FUnhealthyAt when; both are cleared by a passed trial of the worker
	// and when it registers again (a restart).
	FUnhealthy   = "unhealthy"
	FUnhealthyAt = "unhealthy_at"
)

// Worker log hash fields.
const (
	FRsyncFinishedAt = "rsync_finished_at"
	FSetupFinishedAt = "setup_finished_at"
	// ext: set when the worker's circuit breaker tripped in this taskset
	// (trip_breaker.lua): the worker left it, and why.
	FBreakerTrippedAt = "breaker_tripped_at"
	FBreakerReason    = "breaker_reason"
)

// Taskset statuses. StatusNone is a taskset being created.
const (
	StatusNone      = ""
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusCancelled = "cancelled"
	StatusFailed    = "failed"
)

// Values of FCrashed: what died under the trial.
const (
	CrashedSlave  = "slave"
	CrashedRunner = "runner"
)

// CrashLimit is how many trials of a task may crash their slave or runner
// before the task fails (lib.lua settle keeps the same number).
const CrashLimit = 2

// ReasonMaxFailures starts the status_reason of a taskset stopped by its
// max_failures (lib.lua settle): "max failures reached: 3 specs failed".
// Unlike the other reasons, it is a test failure (exit 1), not an
// infrastructure error.
const ReasonMaxFailures = "max failures reached"

// Task and trial statuses. An empty status is a task without a verdict or a
// trial still running.
const (
	StatusPassed  = "passed"
	StatusPending = "pending"
	// StatusFailed is shared with tasksets.
	StatusError   = "error"
	StatusTimeout = "timeout"
)

// Slave statuses.
const (
	SlaveNormalExit  = "normal_exit"
	SlaveTimeoutExit = "timeout_exit"
	SlaveFailureExit = "failure_exit"
)

// Result formats of a taskset (FResultFormat).
const (
	FormatAuto       = "auto"
	FormatExitCode   = "exit-code"
	FormatJUnit      = "junit"
	FormatRSpecJSON  = "rspec-json"
	FormatGoTestJSON = "go-test-json"
	FormatTAP        = "tap"
)

// Formats lists every valid result format.
var Formats = []string{FormatAuto, FormatExitCode, FormatJUnit, FormatRSpecJSON, FormatGoTestJSON, FormatTAP}

// Defaults of a taskset.
const (
	DefaultWorkerType         = "default"
	DefaultTasksetClass       = "default"
	DefaultMaxTrials          = 3
	DefaultMaxWorkers         = 0 // no limit
	DefaultUnknownSpecTimeout = 600
	DefaultLeastTimeout       = 30
)

// IsFinal reports whether a taskset status is final.
func IsFinal(tasksetStatus string) bool {
	switch tasksetStatus {
	case StatusSucceeded, StatusCancelled, StatusFailed:
		return true
	}
	return false
}

// IsTrialStatus reports whether s is a status a finished trial may have.
func IsTrialStatus(s string) bool {
	switch s {
	case StatusPassed, StatusPending, StatusFailed, StatusError, StatusTimeout:
		return true
	}
	return false
}
