package schema

import (
	"context"
	"fmt"
)

// A worker's circuit breaker in a taskset (docs/protocol.md, "The circuit
// breaker"): its slaves mark a trial that failed much sooner than its
// spec's estimate with FFastFailure, finish_trial keeps the worker's run of
// such trials in FastFailures (any other trial ends it), and once the run
// is long enough trip_breaker marks the worker unhealthy, discounts the
// run's trials and records on the worker log that the worker left.

// RunTripped is Finished.Run when the worker's breaker had tripped in the
// taskset: the trial was discounted, and the slave should stop.
const RunTripped = -1

// FinishAndCount is FinishAndSettle for a slave of worker, whose circuit
// breaker counts the trial: a result with FFastFailure joins the worker's
// run of fast failures in taskset (discounted at once when the breaker
// tripped already), any other result ends the run, and a passed one
// clears the worker's FUnhealthy mark. Finished.Run says how long the run
// is now.
func (c *Client) FinishAndCount(ctx context.Context, taskset, task, trial, slave, worker, log string, logCap int, r Result) (Finished, error) {
	wl := WorkerLog(taskset, worker)
	return c.finishAndSettle(ctx, taskset, task, trial, slave, log, logCap, r, FastFailures(wl), wl, worker)
}

// TripOutcome says what TripBreaker did; see trip_breaker.lua.
type TripOutcome string

// Outcomes of TripBreaker.
const (
	TripTripped TripOutcome = "tripped" // by this call
	TripAlready TripOutcome = "already" // it had tripped in this taskset
	TripBelow   TripOutcome = "below"   // the run is shorter than the threshold now
	TripAlone   TripOutcome = "alone"   // no other worker holds the taskset: the code fails, not the box
	TripStopped TripOutcome = "stopped" // the taskset is not running
)

// TripBreaker trips worker's circuit breaker in taskset when its run of
// fast failures is threshold long or more and another worker holds the
// taskset: the worker is marked unhealthy with reason, its worker log
// records that it left, and the run's trials no longer count toward
// max_trials. The caller then stops the worker's slaves and releases the
// taskset.
func (c *Client) TripBreaker(ctx context.Context, taskset, worker string, threshold int, reason string) (TripOutcome, error) {
	wl := WorkerLog(taskset, worker)
	v, err := scriptTripBreaker.Run(ctx, c.rdb,
		[]string{FastFailures(wl), wl, worker, Assigned(taskset), taskset, TasksetLog(taskset)},
		threshold, reason, TasksetLogCap).Text()
	if err != nil {
		return "", scriptErr("trip breaker", err)
	}
	switch o := TripOutcome(v); o {
	case TripTripped, TripAlready, TripBelow, TripAlone, TripStopped:
		return o, nil
	}
	return "", fmt.Errorf("trip breaker: unexpected reply %q", v)
}

// BreakerTripped reports whether worker's circuit breaker tripped in
// taskset (its worker log has FBreakerTrippedAt).
func (c *Client) BreakerTripped(ctx context.Context, taskset, worker string) (bool, error) {
	n, err := c.rdb.HExists(ctx, WorkerLog(taskset, worker), FBreakerTrippedAt).Result()
	if err != nil {
		return false, fmt.Errorf("read the breaker of %s in %s: %w", worker, taskset, err)
	}
	return n, nil
}
