package schema

import (
	"context"
	"fmt"
)

// SlaveLost is the error of a trial whose slave's heartbeat expired while
// it ran. pkg/web/metrics.go tells such recoveries apart by the "slave "
// it starts with.
func SlaveLost(slave string) string { return fmt.Sprintf("slave %s lost: heartbeat expired", slave) }

// FinishLost records a running trial as error, with why, for a slave that
// will never report it (it died, or its taskset ended without it). It
// reports whether it recorded it: false when the trial had finished.
func (c *Client) FinishLost(ctx context.Context, trial, why string) (bool, error) {
	return c.FinishTrial(ctx, trial, Result{Status: StatusError, Fields: map[string]string{FError: why}})
}
