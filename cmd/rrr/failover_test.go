package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/schema"
)

// A Redis under Sentinel loses its primary in the middle of a taskset:
// the sentinels promote the replica, and the fleet (server, workers,
// slaves, the waiting client, all on a redis+sentinel:// URL) goes on
// under the new primary; every spec ends passed. What the old primary had
// not replicated yet is recovered by the fleet (README: Redis failover).
func TestFleetGoesOnAfterASentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	fo := redistest.OwnFailover(t, 3, false)
	bin := build(t)
	ctx := context.Background()
	rdb, err := redisx.OpenConfig(ctx, redisx.Config{URL: fo.URL()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	c := schema.NewClient(rdb, "fo")

	global := []string{"--redis", fo.URL(), "--namespace", "fo"}
	remote := t.TempDir()
	results := t.TempDir()
	spawn(t, bin, append(global, "server", "--results-dir", results, "--rsync-remote-path", remote)...)
	for i := range 2 {
		spawn(t, bin, append(global, "worker", "--id", fmt.Sprintf("fo%d", i), "--slaves", "2", "--working-dir", t.TempDir())...)
	}
	require.Eventually(t, func() bool {
		ws, _ := rdb.SMembers(ctx, c.Keys.Workers()).Result()
		return len(ws) == 2
	}, 30*time.Second, 20*time.Millisecond, "the workers start")

	files := map[string]string{".rrr.yml": "trial-command: sh {file}\nformat: tap\nrsync-name: fo\n"}
	var specs []string
	for i := range 16 {
		name := fmt.Sprintf("s%02d.sh", i)
		files[name] = "sleep 0.3; echo 1..1; echo ok 1\n"
		specs = append(specs, name)
	}
	dir := project(t, files)
	p := spawn(t, bin, append(append(global, "start", "--wait", "--max-trials", "3", "--dir", dir), specs...)...)
	var key string
	require.Eventually(t, func() bool {
		key = strings.TrimSpace(p.stdout.String())
		return strings.HasPrefix(key, "fo:taskset:")
	}, 60*time.Second, 10*time.Millisecond, "rrr start prints the taskset key")
	require.Eventually(t, func() bool {
		n, _ := rdb.HGet(ctx, key, schema.FSucceededCount).Int()
		return n >= 3
	}, 60*time.Second, 10*time.Millisecond, "some specs pass before the failover")

	// The replica misses what comes next: two more specs pass on the
	// primary alone, then it dies with their results.
	fo.CutReplication()
	old := fo.Primary.Client()
	defer old.Close()
	before, _ := old.HGet(ctx, key, schema.FSucceededCount).Int()
	require.Eventually(t, func() bool {
		n, _ := old.HGet(ctx, key, schema.FSucceededCount).Int()
		return n >= before+2
	}, 60*time.Second, 10*time.Millisecond, "specs pass on the primary after the replica stopped following")
	passed := map[string]string{} // trial -> its task, passed on the old primary
	for _, task := range redistest.List(t, old, schema.Tasks(key)) {
		for _, trial := range redistest.List(t, old, schema.TaskTrials(task)) {
			if redistest.HGet(t, old, trial, schema.FStatus) == "passed" {
				passed[trial] = task
			}
		}
	}
	require.Less(t, before+2, len(specs)+1, "the primary dies in the middle of the taskset")
	fo.Primary.Kill()
	killed := time.Now()
	require.Eventually(t, func() bool {
		addr, _ := fo.PrimaryAddr(ctx)
		return addr == fo.Replica.Addr
	}, time.Minute, 10*time.Millisecond, "the sentinels promote the replica")
	promoted := time.Since(killed)
	require.Equal(t, exitOK, p.exit(t, 3*time.Minute), p.stderr.String())
	t.Logf("the sentinels named the new primary %s after the old one died; the taskset ended %s after that",
		promoted.Round(10*time.Millisecond), (time.Since(killed) - promoted).Round(10*time.Millisecond))

	s, err := model.NewReader(c).Load(ctx, key, model.LoadOptions{})
	require.NoError(t, err)
	require.Equal(t, schema.StatusSucceeded, s.Status)
	require.Len(t, s.Tasks, len(specs))
	for _, task := range s.Tasks {
		require.Equal(t, "passed", task.Status, task.SpecFile)
	}
	// No trial is left running for ever: the persister, which waits for
	// them, stores the taskset.
	id, _ := c.Keys.TasksetID(key)
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(results, id))
		return err == nil
	}, time.Minute, 50*time.Millisecond, "the taskset is persisted")
	lost := 0
	for trial := range passed {
		if redistest.HGet(t, rdb, trial, schema.FStatus) != "passed" {
			lost++ // its task passed all the same: run again
		}
	}
	require.NotZero(t, lost, "results lost with the old primary")
	t.Logf("%d passed trials lost with the old primary, their specs run again", lost)
	t.Logf("stderr of rrr start --wait:\n%s", p.stderr)
}
