package main

// End-to-end: an order-dependent pair (b fails when a ran before it on the
// same slave) is reported by the summary and found by rrr bisect.

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestE2EBisect(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	f := startFleet(t) // one worker, two slaves
	// a leaves a marker for its slave in this taskset; b fails when it is there
	mark := filepath.Join(t.TempDir(), "mark") + `.$RRR_TASKSET.$SLAVE_NUMBER`
	ok := func(name string) string { return "echo 1..1; echo 'ok 1 - " + name + "'\n" }
	pad := func(n int) string { return "# " + strings.Repeat("x", n) + "\n" }
	dir := project(t, map[string]string{
		// sizes give the first order (largest first): slow, p1, p2, a, p3, b;
		// slow holds one slave while the other runs the rest in turn
		"slow.sh":  pad(500) + "sleep 3; " + ok("slow"),
		"p1.sh":    pad(400) + ok("p1"),
		"p2.sh":    pad(300) + ok("p2"),
		"a.sh":     pad(200) + `touch "` + mark + `"; ` + ok("a"),
		"p3.sh":    pad(100) + ok("p3"),
		"b.sh":     `echo 1..1; if [ -e "` + mark + `" ]; then echo 'not ok 1 - b'; exit 1; fi; echo 'ok 1 - b'` + "\n",
		".rrr.yml": "trial-command: sh {file}\nformat: tap\nrsync-name: bisect\nmax-trials: 1\n",
	})
	code, p := f.rrr(t, "start", "--wait", "--dir", dir, "*.sh")
	require.Equal(t, 1, code, p.stderr.String())
	key := strings.TrimSpace(p.stdout.String())
	id := strings.TrimPrefix(key, f.rdb.Keys.Taskset(""))
	require.Regexp(t, "trial 1 ran after [1-4] other spec\\(s\\) on slave \\S+; try `rrr bisect "+id+" b.sh`", p.stderr.String())

	code, p = f.rrr(t, "bisect", "--dir", dir, key, "b.sh")
	out := p.stderr.String()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "rrr: bisect: step 1: b.sh alone: b.sh passed")
	require.Regexp(t, `step 2: after the [1-4] spec\(s\) that ran before it: b.sh failed`, out)
	require.Contains(t, out, "rrr: bisect: culprit: b.sh fails when a.sh runs before it on the same slave")

	// Each step was a taskset of the given order on one slave.
	steps := 0
	for _, l := range strings.Split(out, "\n") {
		i := strings.LastIndex(l, "(")
		if !strings.Contains(l, ": step ") || i < 0 {
			continue
		}
		steps++
		s := f.show(t, strings.TrimSuffix(l[i+1:], ")"))
		require.True(t, s.Ordered)
		require.Equal(t, "default-bisect", s.TasksetClass, "out of the class's history")
		slaves := map[string]bool{}
		for _, task := range s.Tasks {
			for _, tr := range task.Trials {
				slaves[tr.Slave] = true
			}
		}
		require.Len(t, slaves, 1, "one slave: %s", l)
	}
	require.GreaterOrEqual(t, steps, 2)

	code, p = f.rrr(t, "bisect", "--dir", dir, key, "p1.sh")
	require.Equal(t, 1, code, p.stderr.String())
	require.Contains(t, p.stderr.String(), "nothing to bisect: no trial of p1.sh in "+key+" failed after another spec on its slave (passed)")
	code, p = f.rrr(t, "bisect", "--dir", dir, key, "nope.sh")
	require.Equal(t, 2, code, p.stderr.String())
}
