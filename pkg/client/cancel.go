package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/rrr-dev/rrr/schema"
)

// Cancel stops a taskset that has not finished, with reason, and tells the
// arbiter; it returns false when the taskset had finished already. The
// stop is one atomic script; the arbiter's own handling is idempotent.
func (c *Client) Cancel(ctx context.Context, key, reason string) (bool, error) {
	ok, err := c.Schema.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("cancel %s: %w", key, err)
	}
	if !ok {
		return false, fmt.Errorf("cancel %s: %w: it is not in Redis (namespace %q): the key is wrong, or it finished and expired",
			key, ErrNotFound, c.Schema.Keys.Namespace())
	}
	stopped, err := c.Schema.CancelTaskset(ctx, key, reason)
	if err != nil {
		return false, fmt.Errorf("cancel %s: %w", key, err)
	}
	// Sent even when it had finished: a cancel whose command was lost
	// (the client died between the two calls) is completed by a retry.
	if err := c.Schema.SendCommand(ctx, schema.Command{Verb: schema.CmdCancel, Key: key}); err != nil {
		return stopped, err
	}
	return stopped, nil
}

// CancelAll cancels every active taskset uploaded under rsync name name
// and returns the keys it cancelled.
func (c *Client) CancelAll(ctx context.Context, name, reason string) ([]string, error) {
	keys, err := c.Reader.Active(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		ts, err := c.Reader.Taskset(ctx, k)
		if err != nil {
			c.Log.Warn().Err(err).Str("taskset", k).Msg("skipping an unreadable active taskset")
			continue
		}
		if ts.RsyncName != name {
			continue
		}
		stopped, err := c.Cancel(ctx, k, reason)
		if errors.Is(err, ErrNotFound) {
			continue // it finished and expired meanwhile
		}
		if err != nil {
			return out, err
		}
		if stopped {
			out = append(out, k)
		}
	}
	return out, nil
}
