// Package persister is the loop that keeps finished tasksets for good. It
// consumes the persister queue reliably (schema.Queue), and for each
// finished taskset:
//
//  1. loads it whole, with outputs and logs (model.Reader.Load);
//  2. waits until none of its trials runs: when a taskset ends, the
//     speculative copies and the trials of slaves being stopped are still
//     running, and a dead slave's trial of a task that got its verdict on
//     another slave is never looked at again by the arbiter. Live slaves
//     record theirs as their workers stop them; a trial whose slave's
//     heartbeat is gone, or that still runs after SettleWait (20 s), is
//     recorded here as error. Without this, the stored taskset would show
//     trials running for ever;
//  3. writes it to the results store (package store): a folder per
//     taskset with its JSON document and the logs and outputs as files;
//  4. folds the duration of each spec's fastest passed trial into the
//     estimates of the taskset's class (record_persisted: an exponential
//     moving average, so estimates follow recent runs; once per taskset),
//     and appends each spec's outcome (passed the first time, flaky,
//     failed, errored) to the class's history, which `rrr flaky` reads: in
//     the same script, so a taskset persisted twice counts once;
//  5. sets an expiry (Keep, 24 h) on every Redis key of the taskset: the
//     hash and its lists, every task and trial, every worker log, and every
//     slave that worked on it;
//  6. acknowledges the entry.
//
// Each step may be repeated: a persister that dies between two of them
// leaves the entry to be handled again, by itself after a restart or by
// another persister once its heartbeat expires, and persisting a taskset
// twice writes the same folder and counts its durations once. A key that
// does not name a finished taskset is logged and dropped.
package persister
