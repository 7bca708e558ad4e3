// Package arbiter is the loop that decides: it gives each task its verdict
// from its trials, retries failures up to max_trials, recovers the work of
// dead slaves, duplicates the slow tail on idle slaves (speculative
// execution), and finishes, cancels or fails tasksets. Every decision is a
// script of package schema, so any number of arbiters may run at once: a
// task gets its verdict, and a taskset's counters move, exactly once.
//
// # Commands
//
// The arbiter consumes the arbiter queue reliably (schema.Queue): a command
// moves into the arbiter's processing list as it is popped and leaves it
// when handled, so a command is not lost when its arbiter dies; another
// arbiter hands it back to the queue once the dead one's heartbeat expires.
// Handling is idempotent, so a command handled twice changes nothing more.
//
//	trial\t<trial>    settle the trial's task (settle_task)
//	check\t<taskset>  recover and finish the taskset (below)
//	cancel\t<taskset> cancel it (stop_taskset; the client did it already)
//	fail\t<taskset>   fail it (stop_taskset; the worker did it already)
//
// A command that does not parse, or names something that does not exist,
// is logged and dropped. Every SweepInterval (5 s) the arbiter also checks
// every active taskset, so that nothing depends on a slave sending check.
//
// # Check
//
//  0. A taskset whose hash has a field that cannot be read is failed with
//     the field and value as its status_reason (see package schema), once.
//  1. A running trial whose slave's heartbeat is gone is finished as error
//     ("slave <key> lost: heartbeat expired"): that slave will never report.
//     Not while the arbiter cannot reach Redis, nor for OutageGrace (one
//     heartbeat TTL) after it can again: heartbeats expire during an
//     outage while their slaves live on, and beat again once it is over.
//     A task whose trial list is corrupt is settled as error (settle_task).
//  2. Every left task whose state calls for it is settled: a verdict whose
//     trial command was lost is given, a task a slave took and never
//     started (it died) is queued again.
//  3. No task left: the taskset finishes (succeeded, or failed when a task
//     failed).
//  4. A queued task that every live slave of the taskset has taken before
//     and that may still be retried is made takeable again (a slave
//     otherwise never takes a task twice, and the taskset would hang).
//  5. The queue is empty: every left task with no trial running is queued
//     again; when every left task is running, the one with the fewest
//     trials (ties: the one running longest) is queued once more, for an
//     idle slave to run beside the slow one. The first verdict wins.
//
// # Task states
//
//	                  create_taskset
//	                        |
//	                        v
//	+--------------->  [ queued ]  <------------------------------+
//	|                       |                                     |
//	|                       | take_task (a slave)                 |
//	|                       v                                     |
//	| check: no trial  [ taken ] -- start_trial --> [ running ]   |
//	| ran (slave died)      |                           |         |
//	+-----------------------+          finish_trial, or check:    |
//	                                   slave lost -> error        |
//	                                                    |         |
//	                                                    v         |
//	                                               settle_task    |
//	       failures < max_trials, none running -> requeue --------+
//	       check, queue empty, all running -> speculative copy ---+
//	                                                    |
//	    a passed trial ---------------------------------+--> [ passed ]
//	    else a pending trial ---------------------------+--> [ pending ]
//	    else none running and failures >= max_trials ---+--> [ failed ]
//
// A trial's result after its task got its verdict is kept as history and
// changes nothing. A verdict leaves tasks_left and counts once in
// succeeded_count (passed, pending) or failed_count (failed).
//
// # Taskset states
//
//	create_taskset
//	      |
//	      v
//	 [ running ] --- last task settled, or check with none left ---> [ succeeded ]  (failed_count = 0)
//	      |                                                      \-> [ failed ]     (failed_count > 0)
//	      |--- cancel (rrr cancel, or a cancel command) ----------> [ cancelled ]
//	      \--- fail (setup failed, slaves keep crashing, ---------> [ failed ]
//	            a field that cannot be read)
//
// Every final state removes the taskset from active_taskset, drops its
// task queue (tasks without a verdict keep an empty status) and pushes it
// onto the persister queue, in the same script.
package arbiter
