package worker

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rrr-dev/rrr/pkg/proc"
)

// reapEarlierLife kills what the trials of an earlier life of this worker
// left running. A worker killed with SIGKILL cannot kill its slaves'
// trials: a trial's own process dies with its slave (Pdeathsig), but what
// it started (the `sleep` of `sh spec.sh`) lives on in the trial's process
// group. The slaves recorded those groups in the working directory
// (logs/<taskset>/run/<slave>.pgid, and .pgid.runner for a runner); a
// group is killed only when one of its processes still carries the
// taskset of that directory in its environment (EnvTaskset), so a process
// group id the system gave to someone else since is left alone.
func (w *Worker) reapEarlierLife() {
	files, _ := filepath.Glob(filepath.Join(w.cfg.WorkingDir, logsDir, "*", "run", "*.pgid*"))
	for _, f := range files {
		pgid := readPgid(f)
		id := filepath.Base(filepath.Dir(filepath.Dir(f)))
		if pgid > 0 && groupCarries(pgid, EnvTaskset+"="+w.c.Keys.Taskset(id)) {
			if err := proc.KillGroup(pgid, syscall.SIGKILL); err == nil {
				w.log.Warn().Str("taskset", w.c.Keys.Taskset(id)).Msgf("killed process group %d, left running by a trial of an earlier life of this worker (%s)", pgid, f)
			}
		}
		_ = os.Remove(f)
	}
}

// groupCarries reports whether a process of group pgid has env (an exact
// KEY=VALUE entry) in its environment (Linux /proc; false elsewhere).
func groupCarries(pgid int, env string) bool {
	dirs, _ := os.ReadDir("/proc")
	want := []byte(env)
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces and parens.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 3 || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(environ, []byte{0}) {
			if bytes.Equal(kv, want) {
				return true
			}
		}
	}
	return false
}
