package schema

import (
	"context"
	"testing"
)

// SettleSource is the full source of settle_task, for tests that call it
// with a crafted (stale) trial list.
func SettleSource(t *testing.T) string {
	t.Helper()
	lib, _ := luaFiles.ReadFile("lua/lib.lua")
	body, _ := luaFiles.ReadFile("lua/settle_task.lua")
	return string(lib) + "\n" + string(body)
}

// StopTaskset exposes stopTaskset with any status.
func (c *Client) StopTaskset(ctx context.Context, ts, status string) (bool, error) {
	return c.stopTaskset(ctx, ts, status, "")
}
