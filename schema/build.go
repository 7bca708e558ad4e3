package schema

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// BuildIndexTTL is how long $NS:build:... remembers the taskset of a CI
// build: long enough for a retry days later, bounded so that the keys of
// old builds go away by themselves.
const BuildIndexTTL = 30 * 24 * time.Hour

// Build is the key (ext) of a string: the key of the latest taskset created
// for CI build id with this taskset class and rsync name (rrr start
// --build-id; docs/protocol.md, "CI builds"). A retry of the build finds
// the taskset to rerun there.
func (k Keys) Build(class, rsyncName, id string) string {
	return k.ns + ":build:" + class + ":" + rsyncName + ":" + id
}

// CheckBuildID refuses a build id that cannot be part of a key or of a
// log line: empty, longer than 200 bytes, or with control characters.
func CheckBuildID(id string) error {
	if id == "" || len(id) > 200 || strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("build id %q: %w: give 1 to 200 printable characters", id, ErrInvalid)
	}
	return nil
}

// RecordBuild makes taskset the latest of CI build id (class, rsync name),
// for BuildIndexTTL. The taskset itself carries the id (FBuildID, written
// by create_taskset); a client that dies between the two leaves a taskset
// the index does not name, and a retry then runs every spec again.
func (c *Client) RecordBuild(ctx context.Context, class, rsyncName, id, taskset string) error {
	key := c.Keys.Build(class, rsyncName, id)
	if err := c.rdb.Set(ctx, key, taskset, BuildIndexTTL).Err(); err != nil {
		return fmt.Errorf("record build %s: %w", key, err)
	}
	return nil
}

// BuildTaskset returns the key of the latest taskset of CI build id
// (class, rsync name), "" when there is none (a first attempt, or one
// older than BuildIndexTTL).
func (c *Client) BuildTaskset(ctx context.Context, class, rsyncName, id string) (string, error) {
	key := c.Keys.Build(class, rsyncName, id)
	v, err := c.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read build %s: %w", key, err)
	}
	return v, nil
}
