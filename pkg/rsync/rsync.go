// Package rsync is a TEMPORARY stand-in on the client branch for the
// worker branch's pkg/rsync (same signature); it is deleted when that lands
// on main.
package rsync

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Sync copies src to dst with rsync -a --delete and extra options.
func Sync(ctx context.Context, src, dst, extraOptions string) error {
	args := append([]string{"-a", "--delete"}, strings.Fields(extraOptions)...)
	args = append(args, src, dst)
	out, err := exec.CommandContext(ctx, "rsync", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rsync %s %s: %w: %s", src, dst, err, strings.TrimSpace(string(out)))
	}
	return nil
}
