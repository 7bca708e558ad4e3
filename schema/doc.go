// Package schema is the rrr protocol: every Redis key as a function, every
// field and status as a constant, and every state change that touches more
// than one key as a Lua script (lua/*.lua, each with a header naming its
// KEYS, ARGV and reply), behind one typed Go wrapper on Client.
//
// The layout keeps the key names and meanings of the original RRRSpec
// protocol (../shared/PROTOCOL.md); additions are marked (ext).
//
// # Keys
//
//	$NS:rsync_info                      hash   rsync_remote_path, rsync_options
//	$NS:dispatcher_queue                list   wake-up tokens ("0"), at most 100
//	$NS:arbiter_queue                   list   "cancel|check|fail\t<taskset>", "trial\t<trial>"
//	$NS:persister_queue                 list   keys of finished tasksets
//	$NS:active_taskset                  list   keys of unfinished tasksets, oldest first
//	$NS:worker                          set    keys of known workers
//	$NS:estimate_sec:$CLASS             hash   spec file -> estimated seconds (3 decimals)
//	$NS:taskset:$TS                     hash   see Taskset fields (F*); (ext) runner: a persistent
//	                                           runner of the trials instead of trial_command
//	                                           ("pytest", "rspec" or a command; docs/runners.md)
//	  …:log                             string the taskset's log (capped)
//	  …:slave                           list   slaves that worked on it
//	  …:worker_log                      list   worker log keys
//	  …:worker_log:<worker>             hash   worker, taskset, started_at, rsync_finished_at, ...
//	  …:worker_log:<worker>:log         string rsync and setup output (capped)
//	  …:task_queue                      list   task keys waiting; slaves take from the head
//	  …:tasks                           list   every task key, in enqueue order
//	  …:tasks_left                      list   task keys without a verdict
//	  …:assigned                  (ext) set    workers holding the taskset (<= max_workers)
//	  …:events                    (ext) channel pub/sub: started, queued, settled, finished
//	$NS:taskset:$TS:task:$TK            hash   taskset, status, estimate_sec, spec_file (+ext requeued)
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
// # Scripts
//
// Every script reads the time from Redis (TIME) and touches only the keys
// passed in KEYS. Callers that must name keys they read first (the trials of
// a task, the taskset of a worker) pass what they read, and the script
// answers "stale" when it changed, so the wrapper reads again.
//
//	create_taskset    the taskset, its tasks in estimate order, active, wake the dispatcher
//	take_task         the first queued task this slave has not taken
//	start_trial       a running trial, unless the task has its verdict or the taskset stopped
//	finish_trial      a trial's result (first one wins), and "trial" to the arbiter
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
//	record_persisted  fold passed durations into the estimates, once per taskset
package schema
