// Package worker is what runs on every build box: the worker service
// (`rrr worker`, Worker) and its slaves (`rrr slave`, Slave).
//
// # Worker
//
// A worker registers itself (key $NS:worker:<id>, the id defaults to the
// host name) and keeps a heartbeat (TTL 10 s, refreshed every 2 s). It
// releases a taskset an earlier process with the same id held, and
// registers again if the dispatcher removed it while its heartbeat was
// gone. It waits on its worker queue (BLPOP, 1 s) and does one taskset at
// a time:
//
//  1. checks that the queue entry is the taskset the dispatcher gave it and
//     that the taskset runs; opens its worker log;
//  2. fetches the code: rsync <remote>/<rsync_name>/ into
//     <working-dir>/copies/<rsync_name> (remote: the worker's flag, else the
//     taskset's rsync_remote_path, else $NS:rsync_info). When rsync fails
//     the worker writes why in its worker log and leaves the taskset; the
//     others go on. In local mode (Config.InPlaceDir) the project runs
//     where it is;
//  3. runs the setup command (sh -c, in the working copy, NUM_SLAVES set,
//     stdout and stderr merged into the worker log, capped, and in full to
//     <working-dir>/logs/<taskset id>/setup.log) under a time limit. A
//     failing setup fails the taskset (FailTaskset with the exit status and
//     the end of the output, and `fail` to the arbiter);
//  4. forks --slaves slaves, each in its own process group, with the
//     environment of SlaveConfig.Env (or the taskset's slave_command via
//     sh -c, with the same environment);
//  5. supervises them. A slave that dies while the taskset runs has the
//     process group of its trial killed (the slave records the group id in
//     a file for this: a slave killed with SIGKILL cannot clean up), its
//     unfinished trials finished as error ("slave <key> died: killed by
//     signal SIGKILL"; that notifies the arbiter, which retries them), a
//     `check` sent, and is respawned with a new id. A slot that crashes
//     more than MaxSlaveCrashes times (default 3) within the taskset fails
//     the taskset. A slave that exits 0 saw the taskset end and is not
//     respawned;
//     With the circuit breaker on (Config.Breaker, breaker.go), a slave
//     whose trial makes the worker's run of fast failures in the taskset
//     long enough trips it and exits with ExitBreaker; the worker then
//     stops its other slaves and leaves the taskset (it is marked
//     unhealthy; the run's trials do not count toward max_trials);
//  6. notices the end of the taskset (its `finished` event, or a status
//     poll every second as a safety net) and stops the slaves: SIGTERM to
//     each slave's group, SIGKILL after StopGrace. It stamps finished_at on
//     its worker log, releases the taskset and waits for the next one.
//
// When its context ends (SIGTERM) the worker stops its slaves the same way;
// their running trials end as error so that they are retried elsewhere. It
// releases the taskset, deletes its heartbeat and Run returns nil. Force
// (a second signal) kills the slaves and their trials at once.
//
// # Slave
//
// A slave registers (with its own heartbeat) and loops: TakeTask gives it
// the first queued task it has not taken before, so it never spins on a
// task it already tried. It refuses a spec path that is absolute or leaves
// the project (the trial is error, nothing runs); otherwise it starts a
// trial and runs the taskset's trial command with pkg/proc: {file} and
// {report} substituted inside arguments split like shell words, no shell;
// in the working copy; in its own process group; soft and hard timeouts
// from the task's estimate (Timeouts); output capped in Redis, in full
// under <working-dir>/logs/<taskset id>/trials/<spec>/<trial id>/. The
// report is read with pkg/format and the status decided by decide
// (README.md, "Slaves and trials"). When nothing is left for it, it sends `check` once per
// idle period and waits for a `queued` event (or a second); it exits 0
// when the taskset is over, stamping normal_exit. On SIGTERM it stops its
// trial (SIGTERM, then SIGKILL after a grace), records it as error, and
// exits 0.
//
// Slaves are separate processes so that a test that crashes, leaks or
// hangs takes down one slave, which the worker replaces, never the worker.
// Config.SlaveCommand chooses the slave program (tests run their own
// binary as the slave; RunSlaveFromEnv is the slave's main).
package worker
