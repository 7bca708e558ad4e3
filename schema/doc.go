// Package schema is the rrr protocol: every Redis key as a function, every
// field and status as a constant, and every state change that touches more
// than one key as a Lua script (lua/*.lua, each with a header naming its
// KEYS, ARGV and reply), behind one typed Go wrapper on Client.
//
// The layout keeps the key names and meanings of the original RRRSpec
// protocol; additions are marked (ext). What rrr reads of what the original
// client writes, and the differences that remain, are in
// docs/original-client.md.
//
// Unset statuses (a task without its verdict, a running trial or slave)
// are absent from their hash, never "". A taskset without a status has not
// been dispatched yet: dispatch sets it running. Times are RFC 3339 when
// rrr writes them; ParseTime also reads the original's Ruby forms.
//
// # Keys
//
//	$NS:rsync_info                      hash   rsync_remote_path, rsync_options
//	$NS:dispatcher_queue                list   wake-up tokens ("0"), at most 100
//	$NS:arbiter_queue                   list   "cancel|check|fail\t<taskset>", "trial\t<trial>"
//	$NS:persister_queue                 list   keys of finished tasksets
//	$NS:active_taskset                  list   keys of unfinished tasksets, oldest first
//	$NS:worker                          set    keys of known workers
//	$NS:protocol_version          (ext) string the fleet's protocol version (CheckProtocol)
//	$NS:estimate_sec:$CLASS             hash   spec file -> estimated seconds (3 decimals)
//	$NS:case_estimate_sec:$CLASS  (ext) hash   spec file -> JSON CaseTimes: its cases' seconds (docs/partitions.md)
//	$NS:history:$CLASS            (ext) hash   spec file -> outcome letters of its last runs (P, F, X, E)
//	$NS:quarantine:$CLASS         (ext) hash   spec file -> JSON {reason, added_at, expires_at, by}
//	$NS:taskset:$TS                     hash   see Taskset fields (F*); (ext) runner: a persistent
//	                                           runner of the trials instead of trial_command
//	                                           ("pytest", "rspec" or a command; docs/runners.md)
//	  …:log                             string the taskset's log, '%F %T' stamped lines (capped)
//	  …:slave                           list   slaves that worked on it
//	  …:worker_log                      list   worker log keys
//	  …:worker_log:<worker>             hash   worker, taskset, started_at, rsync_finished_at, ...
//	  …:worker_log:<worker>:log         string rsync and setup output (capped)
//	  …:task_queue                      list   task keys waiting; slaves take from the head
//	  …:tasks                           list   every task key, in enqueue order
//	  …:tasks_left                      list   task keys without a verdict
//	  …:assigned                  (ext) set    workers holding the taskset (<= max_workers)
//	  …:batched                   (ext) set    tasks that ran in a batch; taken again, they run alone
//	  …:events                    (ext) channel pub/sub: started, queued, settled, finished
//	$NS:taskset:$TS:task:$TK            hash   taskset, status, estimate_sec, spec_file ($TK: the spec
//	                                           file, or (ext) <spec file>#p<i>of<n> for a partition)
//	                                           (+ext requeued, failure_kind, error, quarantined)
//	  …:trial                           list   trial keys
//	$NS:taskset:$TS:task:$TK:trial:$TR  hash   task, slave, started_at, finished_at, status,
//	                                           stdout, stderr, passed, pending, failed (+ext)
//	$NS:worker:$W                       hash   worker_type, taskset (+ext host, slaves, pid)
//	  …:worker_queue                    list   taskset keys assigned to it
//	  …:heartbeat                       string "alive" with a TTL
//	  …:slave:$PID                      hash   status (+ext worker, taskset, number, pid)
//	  …:slave:$PID:trial                list   trials it ran
//	  …:slave:$PID:log                  string its log (capped)
//	  …:slave:$PID:heartbeat            string "alive" with a TTL
//	  …:slave:$PID:tried          (ext) set    tasks it took: it never takes one twice
//	<queue>:consumers             (ext) set    consumer ids of a reliable queue
//	<queue>:processing:<id>       (ext) list   entries consumer <id> took and has not acked
//	<queue>:processing:<id>:heartbeat (ext)    string with a TTL
//
// # Fields of ours (ext) that change what a status means
//
// A taskset's status_reason says why it was cancelled or failed rather
// than finished by itself: a cancel ("SIGINT while ..."), a setup that
// failed, slaves that kept crashing, a hash that cannot be read, or its
// max_failures reached (ReasonMaxFailures: the one reason that is a test
// failure, exit 1; settle closes the taskset when the verdict that reaches
// it leaves tasks without one). A
// taskset with any field that does not decode (max_trials = "notanumber",
// a status outside the protocol's set, a garbage time) is failed once by
// stop_taskset with status_reason naming the field and its value, "the
// taskset cannot be read: field max_trials = "notanumber" (want a whole
// number); it was set aside ...": it leaves active_taskset, its workers
// leave on the "finished" event, and the persister stores it (the bad
// field reads as zero) and expires its keys. The arbiter's check and a
// worker given it both do this (model.FieldError.SetAside); only the first
// call changes anything.
//
// A task whose trials only errored (error: the slave was killed, lost, or
// could not run the command; never failed or timeout) did not fail a test.
// Its status stays failed, the protocol's value, so that the original
// RRRSpec readers and counters see what they always saw; settle_task adds
// failure_kind = "error" to the task and counts it in the taskset's
// error_count, which is part of failed_count. rrr's client reads such a
// task as "error" (model.Task.Verdict) and a taskset whose failed tasks all
// have it as an infrastructure error (exit 4), and JUnit reports it as
// <error>. A task whose trial list holds another type (a corrupt key) is
// settled the same way at once, with its error field naming the key; no
// trial starts on it.
//
// # Quarantine
//
// A task created with quarantined (the reason; the client copies it from
// the class's quarantine hash, leaving out expired entries) runs as any
// other and gets its failed verdict as usual, but settle counts it in the
// taskset's quarantined_failed_count as well as failed_count, and the
// taskset fails only for failed_count - quarantined_failed_count > 0
// (lib.lua failing_count); max_failures counts only those, and error_count
// leaves quarantined tasks out. docs/protocol.md, "History and
// quarantine".
//
// # Batches
//
// A taskset with batch_max >= 2 (the client sets it, with batch_target_sec
// and batch_slaves, when the trial command takes {files}) is taken with
// take_batch instead of take_task: one call takes up to batch_max tasks
// whose estimates sum to at most batch_target_sec. The slave starts one
// trial per task (start_trial, as for a task alone: a trial hash per task
// keeps every reader of the protocol working), runs one command for all,
// and finishes each trial with its own spec's part of the report. Such a
// trial has batch (the batch id) and batch_size. A task that was in a batch
// is in …:batched and runs alone when it is taken again (a retry, or a
// speculative copy), so a failure in a batch is always confirmed alone.
// A batch of N costs 1 take, N start_trial and N finish_trial round trips
// (the arbiter settles), against 2N for N tasks alone on the hot path: it
// saves process start-ups, not requests. docs/batches.md has the rules by
// which a report is split between the spec files.
//
// # Partitions
//
// A taskset whose trial command takes {cases} may split a spec file longer
// than the client's target into partitions of its cases (docs/partitions.md):
// each is a task named <spec file>#p<i>of<n> whose spec_file is the file, so
// create_taskset (unchanged) gives it the file's estimate and quarantine,
// and the taskset's partitions field says which cases each runs. The
// persister keeps the cases' times of every report in case_estimate_sec,
// and folds a file's partitions into one estimate and one history letter.
//
// # Scripts
//
// Every script reads the time from Redis (TIME) and touches only the keys
// passed in KEYS. Callers that must name keys they read first (the trials of
// a task, the taskset of a worker) pass what they read, and the script
// answers "stale" when it changed, so the wrapper reads again.
//
//	create_taskset    the taskset, its tasks in estimate order, active, wake the dispatcher
//	take_trial        take_task and start_trial in one step: the slave's first round trip
//	take_task         the first queued task this slave has not taken
//	take_batch        the same, with short queued tasks after it up to a batch (docs/batches.md)
//	start_trial       a running trial, unless the task has its verdict or the taskset stopped
//	finish_trial      a trial's result (first one wins), and "trial" to the arbiter; in the
//	                  slave's form (11 keys) the held log lines too, and the task settled in
//	                  place (settle_task's rules): the slave's second and last round trip
//	settle_task       the task's verdict, counters, tasks_left, and the taskset's end, at once
//	requeue_task      queue a left task again (recovery, speculative execution)
//	finish_taskset    succeeded/failed when no task is left
//	stop_taskset      cancelled/failed
//	dispatch          a taskset to a live idle worker of its type, within max_workers
//	release_worker    a worker leaves its taskset
//	register_worker   a worker joins, with its heartbeat
//	remove_worker     a worker whose heartbeat expired is forgotten
//	recover_consumer  a dead consumer's processing list goes back to its queue
//	append_capped     append to a log under a cap
//	stamp             hash fields set to the Redis time
//	start_worker_log  a worker's log of a taskset, once
//	register_slave    a slave joins a taskset, with its heartbeat
//	record_persisted  fold passed durations into the estimates and outcomes into the
//	                  history, once per taskset
//	expire_tasks      the expiry of a chunk of tasks, their trial lists and trials
package schema
