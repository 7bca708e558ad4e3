package arbiter

import "context"

// WatchOnce is one round of the watch, for tests.
func WatchOnce(a *Arbiter, ctx context.Context, lost map[string]bool) error {
	return a.watchOnce(ctx, lost)
}
