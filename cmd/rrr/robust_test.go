package main

// Tests of bad values found in Redis or given on the command line (issue
// 19): each is named, set aside and reported, never looped on or echoed.

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

func TestMalformedRedisURLIsAUsageErrorWithoutItsPassword(t *testing.T) {
	code, _, stderr := rrr(t, "--redis", "redis://:s3c%ZZretPW@127.0.0.1:6393/0", "nodes")
	require.Equal(t, exitUsage, code, stderr)
	require.NotContains(t, stderr, "retPW")
	require.Contains(t, stderr, "redis URL")
}

// A field of a live taskset set to garbage (19.3, 18.3): the server fails
// the taskset with the field and value as the reason, `start --wait` says
// so and exits 4, the worker is freed for the next taskset, and the
// taskset is persisted (so its keys expire).
func TestUnreadableTasksetIsSetAsideEndToEnd(t *testing.T) {
	f := newFleet(t, fleetOptions{workers: 1, slaves: 2,
		serverArgs: []string{"--interval", "500ms", "--sweep-interval", "1s"},
		workerArgs: []string{"--heartbeat-ttl", "3s", "--heartbeat-interval", "500ms", "--stop-grace", "3s"}})
	files := map[string]string{}
	for i := range 8 {
		files[fmt.Sprintf("specs/s%d.sh", i)] = "sleep 0.5\n"
	}
	dir := project(t, files)
	run, key := f.start(t, "--wait", "--dir", dir, "--trial-command", "sh {file}", "--format", "exit-code",
		"--rsync-name", "poison", "specs/*.sh")
	f.waitDone(t, key, 0.2)
	require.NoError(t, f.rdb.HSet(ctx, key, schema.FMaxTrials, "notanumber").Err())

	require.Equal(t, exitInfra, run.exit(t, time.Minute), run.stderr.String())
	require.Contains(t, run.stderr.String(), `max_trials = "notanumber"`)
	require.Equal(t, schema.StatusFailed, redistest.HGet(t, f.rdb, key, schema.FStatus))
	require.Eventually(t, func() bool {
		return redistest.HGet(t, f.rdb, f.workerKey(0), schema.FTaskset) == ""
	}, 15*time.Second, 20*time.Millisecond, "the worker leaves the taskset")

	next, _ := f.start(t, "--wait", "--dir", dir, "--trial-command", "sh {file}", "--format", "exit-code",
		"--rsync-name", "poison", "specs/s0.sh")
	require.Equal(t, exitOK, next.exit(t, time.Minute), next.stderr.String())

	id, _ := f.c.Keys.TasksetID(key)
	require.Eventually(t, func() bool {
		_, err := store.Read(f.results, id)
		ttl, _ := f.rdb.TTL(ctx, key).Result()
		return err == nil && ttl > 0
	}, 30*time.Second, 50*time.Millisecond, "the taskset is persisted and its keys expire")
	snap, err := store.Read(f.results, id)
	require.NoError(t, err)
	require.Contains(t, snap.StatusReason, "max_trials")
}
