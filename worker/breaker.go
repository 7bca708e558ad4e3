package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

// The circuit breaker (docs/protocol.md, "The circuit breaker"): a box
// that fails every spec it takes in a second would eat the queue and fail
// the build. Its slaves mark such fast failures, finish_trial counts the
// worker's run of them in the taskset, and the slave whose trial makes the
// run Breaker long trips it (trip_breaker.lua) and exits with ExitBreaker;
// the worker then stops its other slaves and leaves the taskset.

// Fast failures: a failure in less than BreakerFraction of the spec's
// estimate, or in less than BreakerFloor when it has none.
const (
	BreakerFraction = 0.1
	BreakerFloor    = time.Second
)

// ExitBreaker is the exit code of a slave that saw its worker's circuit
// breaker trip (EX_TEMPFAIL: try elsewhere); the worker, once Redis
// confirms the trip, leaves the taskset rather than respawn it.
const ExitBreaker = 75

// ErrBreakerTripped is Slave.Run's error when its worker's circuit breaker
// tripped in the taskset; `rrr slave` exits with ExitBreaker on it.
var ErrBreakerTripped = errors.New("the worker's circuit breaker tripped: its trials fail fast")

// FastLimit is how soon a failure must end to count as a fast one, for a
// spec of estimateSec seconds (nil or 0: unknown).
func FastLimit(estimateSec *int) time.Duration {
	if estimateSec == nil || *estimateSec <= 0 {
		return BreakerFloor
	}
	return time.Duration(BreakerFraction * float64(*estimateSec) * float64(time.Second))
}

// breakerReason says why the breaker of a worker with threshold n trips.
func breakerReason(n int) string {
	return fmt.Sprintf("its last %d trials failed in under %.0f%% of their estimates (%s without one)",
		n, BreakerFraction*100, BreakerFloor)
}

// markFast marks res as a fast failure when the breaker is on and the
// trial failed sooner than its limit.
func (s *Slave) markFast(res *trialOutcome, took time.Duration, estimateSec *int) {
	if s.cfg.Breaker <= 0 || !model.IsTrialFailure(res.status) || took >= FastLimit(estimateSec) {
		return
	}
	if res.fields == nil {
		res.fields = map[string]string{}
	}
	res.fields[schema.FFastFailure] = "1"
}

// counted looks at the worker's run of fast failures after a finish, and
// trips the breaker when it is long enough; it reports whether the slave
// must stop (the breaker tripped, now or before).
func (s *Slave) counted(ctx context.Context, f schema.Finished) bool {
	n := s.cfg.Breaker
	if n <= 0 {
		return false
	}
	if f.Run == schema.RunTripped {
		return true
	}
	if f.Run < n {
		return false
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	out, err := s.c.TripBreaker(bg, s.cfg.Taskset, s.cfg.Worker, n, breakerReason(n))
	if err != nil {
		// The next fast failure tries again.
		s.logf(zerolog.WarnLevel, err, "trip the circuit breaker")
		return false
	}
	switch out {
	case schema.TripTripped:
		s.logf(zerolog.ErrorLevel, nil, "circuit breaker tripped: %s; worker %s leaves taskset %s and is marked unhealthy",
			breakerReason(n), s.cfg.Worker, s.cfg.Taskset)
		return true
	case schema.TripAlready:
		return true
	case schema.TripAlone:
		if s.every("breaker alone") {
			s.logf(zerolog.WarnLevel, nil, "the last %d or more trials on this worker failed fast, but no other worker holds the taskset: staying (the code may be what fails)", n)
		}
	}
	return false
}
