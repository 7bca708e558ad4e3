package rsync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rrr-dev/rrr/pkg/proc"
)

// ErrNotInstalled is returned when there is no rsync program to run.
var ErrNotInstalled = errors.New("rsync is not installed: install it (apt-get install rsync) on this machine")

// ErrFailed wraps every failure of rsync itself; the message carries its
// exit status and the end of its stderr.
var ErrFailed = errors.New("rsync failed")

// Syncer runs one rsync binary.
type Syncer struct {
	// Binary is the rsync program: a name looked up in PATH or a path;
	// "" means "rsync".
	Binary string
}

// Sync copies src to dst with `rsync -a --delete <extraOptions> src dst`
// using the rsync on PATH. See Syncer.Sync.
func Sync(ctx context.Context, src, dst, extraOptions string) error {
	return Syncer{}.Sync(ctx, src, dst, extraOptions)
}

// IsRemote reports whether rsync reads path as remote: host:path,
// user@host:path or rsync://..., that is a colon before the first slash.
func IsRemote(path string) bool {
	colon := strings.IndexByte(path, ':')
	if colon < 0 {
		return false
	}
	slash := strings.IndexByte(path, '/')
	return slash < 0 || colon < slash
}

// Sync copies src to dst. As with rsync itself, a src ending in "/" copies
// the directory's contents into dst, without it the directory itself.
// extraOptions are more rsync arguments, split like shell words
// ("--exclude 'log/*' -z"). The parent of a local dst is created.
// Cancelling ctx stops rsync (SIGTERM, then SIGKILL).
func (s Syncer) Sync(ctx context.Context, src, dst, extraOptions string) error {
	bin := s.Binary
	if bin == "" {
		bin = "rsync"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return fmt.Errorf("%w (looked for %q: %w)", ErrNotInstalled, bin, err)
	}
	if src == "" || dst == "" {
		return fmt.Errorf("%w: rsync needs a source and a destination (got %q -> %q)", ErrFailed, src, dst)
	}
	opts, err := proc.Split(extraOptions)
	if err != nil {
		return fmt.Errorf("rsync options %q: %w", extraOptions, err)
	}
	if !IsRemote(dst) {
		if err := os.MkdirAll(filepath.Dir(filepath.Clean(dst)), 0o755); err != nil {
			return fmt.Errorf("rsync to %s: %w", dst, err)
		}
	}
	argv := append([]string{path, "-a", "--delete"}, opts...)
	argv = append(argv, "--", src, dst)
	res, err := proc.Run(ctx, proc.Spec{Argv: argv, Grace: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("rsync %s -> %s: %w", src, dst, err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("rsync %s -> %s: %w", src, dst, ctx.Err())
	}
	if !res.OK() {
		msg := strings.TrimSpace(lastLines(res.Stderr.String(), 10))
		if msg == "" {
			msg = strings.TrimSpace(lastLines(res.Stdout.String(), 10))
		}
		return fmt.Errorf("%w: %s -> %s: %s: %s", ErrFailed, src, dst, res.Describe(), msg)
	}
	return nil
}

// lastLines is the end of text, at most n lines.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
