package schema

import "strings"

// DefaultNamespace is the key prefix used when none is configured; it is the
// original RRRSpec prefix, so that tools written for it find the same keys.
const DefaultNamespace = "rrrspec"

// Keys spells the global keys of one namespace. Keys of objects below a
// taskset or a worker are derived from the object's full key with the
// package-level functions (TaskQueue(taskset), Heartbeat(worker), ...),
// because lists and sets in the protocol hold full keys.
type Keys struct {
	ns string
}

// NewKeys returns the key builder of a namespace ("" means DefaultNamespace).
func NewKeys(namespace string) Keys {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return Keys{ns: namespace}
}

// Namespace is the prefix every key starts with.
func (k Keys) Namespace() string { return k.ns }

// RsyncInfo is a hash: rsync_remote_path, rsync_options (fleet defaults).
func (k Keys) RsyncInfo() string { return k.ns + ":rsync_info" }

// Protocol is the fleet's protocol version (ext), a string set by the
// first part to start; see CheckProtocol.
func (k Keys) Protocol() string { return k.ns + ":protocol_version" }

// DispatcherQueue is a list of wake-up tokens for the dispatcher.
func (k Keys) DispatcherQueue() string { return k.ns + ":dispatcher_queue" }

// ArbiterQueue is a list of arbiter commands (see Command).
func (k Keys) ArbiterQueue() string { return k.ns + ":arbiter_queue" }

// PersisterQueue is a list of keys of finished tasksets to persist.
func (k Keys) PersisterQueue() string { return k.ns + ":persister_queue" }

// ActiveTaskset is a list of keys of unfinished tasksets, oldest first.
func (k Keys) ActiveTaskset() string { return k.ns + ":active_taskset" }

// Workers is a set of the keys of known workers.
func (k Keys) Workers() string { return k.ns + ":worker" }

// Estimate is a hash: spec file -> estimated seconds, for one taskset class.
func (k Keys) Estimate(class string) string { return k.ns + ":estimate_sec:" + class }

// CaseEstimate (ext, docs/partitions.md) is a hash: spec file -> JSON
// CaseTimes, the cases of its last report with their seconds, for one
// taskset class; the client splits a long spec file by them.
func (k Keys) CaseEstimate(class string) string { return k.ns + ":case_estimate_sec:" + class }

// History (ext) is a hash: spec file -> its outcomes in the last tasksets
// of the class that gave it a verdict, one letter each, oldest first (the
// History* constants), at most HistoryRuns of them (record_persisted).
func (k Keys) History(class string) string { return k.ns + ":history:" + class }

// Quarantine (ext) is a hash: spec file -> a QuarantineEntry as JSON, for
// one taskset class. A quarantined spec runs, but its failure does not
// fail the taskset (docs/protocol.md, "Quarantine").
func (k Keys) Quarantine(class string) string { return k.ns + ":quarantine:" + class }

// Taskset is the hash of the taskset with id id.
func (k Keys) Taskset(id string) string { return k.ns + ":taskset:" + id }

// Worker is the hash of the worker with id id.
func (k Keys) Worker(id string) string { return k.ns + ":worker:" + id }

// TasksetID is the id part of a taskset key, and false when key is not a
// taskset key of this namespace.
func (k Keys) TasksetID(key string) (string, bool) {
	id, ok := strings.CutPrefix(key, k.ns+":taskset:")
	if !ok || id == "" || strings.Contains(id, ":") {
		return "", false
	}
	return id, true
}

// WorkerID is the id part of a worker key.
func (k Keys) WorkerID(key string) (string, bool) {
	id, ok := strings.CutPrefix(key, k.ns+":worker:")
	if !ok || id == "" || strings.Contains(id, ":") {
		return "", false
	}
	return id, true
}

// --- below a taskset ---

// TasksetLog is a string: the taskset's own timed log (capped).
func TasksetLog(taskset string) string { return taskset + ":log" }

// TasksetSlaves is a list of keys of slaves that worked on the taskset.
func TasksetSlaves(taskset string) string { return taskset + ":slave" }

// WorkerLogs is a list of keys of the taskset's worker logs.
func WorkerLogs(taskset string) string { return taskset + ":worker_log" }

// WorkerLog is a hash: worker, taskset, started_at, rsync_finished_at,
// setup_finished_at, finished_at.
func WorkerLog(taskset, worker string) string { return taskset + ":worker_log:" + worker }

// WorkerLogText is a string: one worker's log for the taskset (rsync, setup output).
func WorkerLogText(workerLog string) string { return workerLog + ":log" }

// FastFailures is a list (ext): the trials of the worker's current run of
// fast failures in the taskset, oldest first (its circuit breaker, see
// trip_breaker.lua); a trial that is not one empties it.
func FastFailures(workerLog string) string { return workerLog + ":fast_failures" }

// TaskQueue is a list of task keys waiting to run; slaves take from the head.
func TaskQueue(taskset string) string { return taskset + ":task_queue" }

// Tasks is a list of every task key of the taskset, in enqueue order.
func Tasks(taskset string) string { return taskset + ":tasks" }

// TasksLeft is a list of task keys without a final status.
func TasksLeft(taskset string) string { return taskset + ":tasks_left" }

// Batched (ext) is a set of the task keys that ran in a batch of several
// spec files (take_batch.lua): such a task runs alone when it is taken
// again.
func Batched(taskset string) string { return taskset + ":batched" }

// TaskPrefix is what every task key of taskset starts with; the spec file
// follows it.
func TaskPrefix(taskset string) string { return taskset + ":task:" }

// Assigned (ext) is a set of keys of the workers the dispatcher gave the
// taskset to and that have not left it; its size is bounded by max_workers.
func Assigned(taskset string) string { return taskset + ":assigned" }

// Events (ext) is the pub/sub channel (not a key) on which scripts announce
// changes of the taskset; see the Event* constants.
func Events(taskset string) string { return taskset + ":events" }

// Task is the hash of the task of spec file spec (a path relative to the
// project root, used literally).
func Task(taskset, spec string) string { return taskset + ":task:" + spec }

// TasksetOfTask returns the taskset key of a task key, false when key is
// not one. Taskset ids hold no ':', so the first ":task:" ends the taskset.
func TasksetOfTask(task string) (string, bool) {
	i := strings.Index(task, ":taskset:")
	if i < 0 {
		return "", false
	}
	j := strings.Index(task[i+len(":taskset:"):], ":task:")
	if j <= 0 {
		return "", false
	}
	return task[:i+len(":taskset:")+j], true
}

// TaskTrials is a list of the task's trial keys.
func TaskTrials(task string) string { return task + ":trial" }

// Trial is the hash of one trial of a task.
func Trial(task, trialID string) string { return task + ":trial:" + trialID }

// --- below a worker ---

// WorkerQueue is a list of taskset keys assigned to the worker.
func WorkerQueue(worker string) string { return worker + ":worker_queue" }

// Heartbeat is the string "alive" with a TTL, of a worker or a slave.
func Heartbeat(workerOrSlave string) string { return workerOrSlave + ":heartbeat" }

// Slave is the hash of slave pid of a worker.
func Slave(worker, pid string) string { return worker + ":slave:" + pid }

// SlaveTrials is a list of the keys of the trials a slave ran.
func SlaveTrials(slave string) string { return slave + ":trial" }

// SlaveLog is a string: the slave's log (capped).
func SlaveLog(slave string) string { return slave + ":log" }

// SlaveTried (ext) is a set of the task keys the slave has taken, so that
// it never takes the same task twice.
func SlaveTried(slave string) string { return slave + ":tried" }

// --- reliable queues (ext) ---

// Processing is the list in which consumer id keeps the commands it took
// from queue and has not finished handling.
func Processing(queue, id string) string { return queue + ":processing:" + id }

// Consumers is a set of the ids of consumers that may hold a processing
// list of queue.
func Consumers(queue string) string { return queue + ":consumers" }
