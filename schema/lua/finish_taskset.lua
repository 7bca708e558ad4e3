-- finish_taskset: finish a running taskset that has no task left:
-- succeeded when no task failed, failed otherwise.
--
-- KEYS[1]  taskset hash
-- KEYS[2]  taskset tasks_left list
-- KEYS[3]  taskset task_queue list
-- KEYS[4]  active_taskset list
-- KEYS[5]  persister_queue list
--
-- Reply: the status set ('succeeded' or 'failed'), or '' when tasks are
-- left or the taskset was not running.

return finish_if_done(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
