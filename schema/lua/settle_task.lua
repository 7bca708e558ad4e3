-- settle_task: give a task its verdict from its trials, exactly once.
--
-- KEYS[1]  task hash
-- KEYS[2]  task trial list
-- KEYS[3]  taskset hash
-- KEYS[4]  taskset tasks_left list
-- KEYS[5]  taskset task_queue list
-- KEYS[6]  active_taskset list
-- KEYS[7]  persister_queue list
-- KEYS[8..]  the task's trial hashes, as the caller read the trial list
--
-- Rules, in order: any passed trial -> passed; else any pending -> pending;
-- else a trial still running -> wait; else failed/error/timeout trials >=
-- max_trials -> failed; else the task goes back to the head of the queue
-- (a retry should report soon). A task that gets a verdict leaves
-- tasks_left and bumps succeeded_count (passed, pending) or failed_count in
-- this same script, and when it was the last one the taskset finishes.
--
-- A failed task none of whose trials failed or timed out (they only
-- errored: the slave crashed, was lost, or could not run the command) did
-- not fail a test: its status stays 'failed', the protocol's, and (ext)
-- failure_kind = 'error' says so; the taskset's (ext) error_count counts
-- such tasks among failed_count. A trial list of another type (a corrupt
-- key) cannot be read: the task is settled so at once, with an error
-- field naming the key, rather than hold the taskset for ever.
--
-- Reply: {outcome, taskset status set by this call or ''} where outcome is
--   'passed' | 'pending' | 'failed'  the verdict given now
--   'running'   a trial is still running: nothing to do yet
--   'requeued'  the task was queued again
--   'queued'    it is in the queue already
--   'settled'   it had its verdict already (a late result)
--   'stopped'   the taskset is not running (cancelled, failed, finished)
--   'stale'     the trial list changed since the caller read it: read again
-- Errors: RRRINVALID when the task is missing or not of the taskset.

local expected = {}
for i = 8, #KEYS do expected[#expected + 1] = KEYS[i] end
return settle(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], expected)
