// Package client is what people and CI steps run against the fleet: it
// resolves spec patterns, uploads the project with rsync, creates a
// taskset in one atomic step, waits for it (woken by the taskset's events
// channel, reading at least once a second), shows live progress, and
// writes the summary a CI log needs: failed specs with their output, flaky
// specs, the slowest specs and the balance of the run. It also cancels,
// lists active tasksets and live workers, shows a taskset from Redis or,
// once it expired there, from the results store, ranks the flakiest specs
// of a class from its history (Flaky), and marks the quarantined specs of a
// taskset as it creates it: their failures do not fail it, and the summary
// lists them apart.
//
// The commands in cmd/rrr are thin wiring around Client; `rrr local` uses
// the same Start (without upload), Wait and WriteSummary.
//
// Verdicts and exit codes: a taskset that succeeded exits 0; one that
// finished with failed specs 1; cancelled (or a wait stopped by a signal) 3;
// a taskset stopped with a reason (setup failed, the fleet gave up), a
// failed taskset with no failed spec, or a wait that timed out 4; `rrr
// show` of a taskset still running 5. 2 is a usage error.
package client
