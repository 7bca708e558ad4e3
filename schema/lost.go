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
// will never report it (it died, or its taskset ended without it). crashed
// is FCrashed (CrashedSlave when its worker saw the slave die under it: the
// spec may be what kills it), or "" when nobody can tell (the worker died
// too, the taskset ended). It reports whether it recorded the trial: false
// when the trial had finished.
func (c *Client) FinishLost(ctx context.Context, trial, why, crashed string) (bool, error) {
	fields := map[string]string{FError: why}
	if crashed != "" {
		fields[FCrashed] = crashed
	}
	return c.FinishTrial(ctx, trial, Result{Status: StatusError, Fields: fields})
}
