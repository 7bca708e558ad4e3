package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rrr-dev/rrr/pkg/proc"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/schema"
)

// slaveProc is one running slave process.
type slaveProc struct {
	slot     int // 0-based; SLAVE_NUMBER is slot+1
	id, key  string
	cmd      *exec.Cmd
	pgidFile string // where the slave records its trial's process group
}

func (p *slaveProc) pid() int { return p.cmd.Process.Pid }

// signal reaches the slave's whole group (a custom slave_command's
// children too).
func (p *slaveProc) signal(sig syscall.Signal) { _ = proc.KillGroup(p.pid(), sig) }

// kill ends the slave and its trial at once.
func (p *slaveProc) kill() {
	p.signal(syscall.SIGKILL)
	p.killRecorded()
}

// killRecorded kills the process groups the slave recorded: its trial's
// and its runner's (a runner dies with its slave, what it left in its
// group does not).
func (p *slaveProc) killRecorded() {
	for _, f := range []string{p.pgidFile, runnerPgidFile(p.pgidFile)} {
		if pgid := readPgid(f); pgid > 0 {
			_ = proc.KillGroup(pgid, syscall.SIGKILL)
		}
		_ = os.Remove(f)
	}
}

type slaveExit struct {
	p   *slaveProc
	err error
}

// normal reports whether the slave exited with code 0: it saw the
// taskset end, or it was told to stop and did.
func (e slaveExit) normal() bool {
	st := e.p.cmd.ProcessState
	return st != nil && st.Exited() && st.ExitCode() == 0
}

// breaker reports whether the slave exited because its worker's circuit
// breaker tripped (breaker.go).
func (e slaveExit) breaker() bool {
	st := e.p.cmd.ProcessState
	return st != nil && st.Exited() && st.ExitCode() == ExitBreaker
}

// breakerTripped asks Redis whether the worker's breaker tripped in the
// taskset: the exit code alone could be a custom slave's own.
func (r *tasksetRun) breakerTripped() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tripped, err := r.w.c.BreakerTripped(ctx, r.ts.Key, r.w.key)
	if err != nil {
		r.log.Warn().Err(err).Msg("a slave exited on the circuit breaker; reading it failed: taken as a crash")
	}
	return tripped
}

// describe says how a slave ended: "exit code 2", "killed by signal SIGKILL".
func (e slaveExit) describe() string { return describeExit(e.p.cmd.ProcessState, e.err) }

// describeExit says how a process that was waited for ended.
func describeExit(st *os.ProcessState, waitErr error) string {
	if st == nil {
		return fmt.Sprintf("wait failed: %v", waitErr)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + proc.SignalName(ws.Signal())
	}
	return "exit code " + strconv.Itoa(st.ExitCode())
}

// supervise runs the slaves until they have all exited: it respawns a
// slave that dies while the taskset runs (up to MaxSlaveCrashes per slot,
// then it fails the taskset), and stops them all when the taskset is over
// or ctx ends (SIGTERM to each group, SIGKILL after StopGrace).
func (r *tasksetRun) supervise(ctx context.Context, over <-chan struct{}, wc string) {
	cfg := r.w.cfg
	exits := make(chan slaveExit)
	live := map[*slaveProc]bool{}
	crashes := make([]int, r.slaves())
	stopping := ""
	var killTimer <-chan time.Time
	overCh, done, force := over, ctx.Done(), (<-chan struct{})(r.w.force)

	stopAll := func(reason string) {
		if stopping != "" {
			return
		}
		stopping = reason
		if len(live) > 0 {
			r.logf("stopping %d slave(s): %s", len(live), reason)
		}
		for p := range live {
			p.signal(syscall.SIGTERM)
		}
		killTimer = time.After(cfg.StopGrace)
	}
	spawn := func(slot int) {
		p, err := r.startSlave(wc, slot)
		if err != nil {
			r.warnf("could not start slave %d: %v", slot+1, err)
			stopAll("slaves cannot be started on this worker")
			return
		}
		live[p] = true
		go func() { exits <- slaveExit{p: p, err: proc.WaitGroup(p.cmd)} }()
	}

	for slot := range r.slaves() {
		if stopping == "" {
			spawn(slot)
		}
	}
	if stopping == "" {
		r.logf("started %d slaves", len(live))
	}
	for len(live) > 0 {
		select {
		case e := <-exits:
			delete(live, e.p)
			tripped := e.breaker() && r.breakerTripped()
			if tripped && !r.tripped {
				r.tripped = true
				stopAll("this worker's circuit breaker tripped")
			}
			r.slaveExited(e, stopping)
			if e.normal() || tripped || stopping != "" {
				continue
			}
			crashes[e.p.slot]++
			if crashes[e.p.slot] > max(cfg.MaxSlaveCrashes, 0) {
				r.fail(fmt.Sprintf("slave %d of worker %s crashed %d times (last: %s); see the slave logs",
					e.p.slot+1, cfg.ID, crashes[e.p.slot], e.describe()))
				stopAll("the taskset failed: a slave keeps crashing")
				continue
			}
			spawn(e.p.slot)
		case <-overCh:
			overCh = nil
			stopAll("the taskset is over")
		case <-done:
			done = nil
			stopAll("the worker is shutting down")
		case <-killTimer:
			killTimer = nil
			for p := range live {
				p.kill()
			}
		case <-force:
			force = nil
			stopAll("the worker is shutting down")
			for p := range live {
				p.kill()
			}
		}
	}
}

// slaves is how many slaves run the taskset on this worker: --slaves, or
// one for an ordered taskset, whose specs must run one after the other in
// one sequence (rrr bisect; docs/protocol.md).
func (r *tasksetRun) slaves() int {
	if r.ts.Ordered {
		return 1
	}
	return r.w.cfg.Slaves
}

// startSlave starts the slave of a slot with a new id.
func (r *tasksetRun) startSlave(wc string, slot int) (*slaveProc, error) {
	cfg := r.w.cfg
	id := strconv.Itoa(slot+1) + "-" + newID()
	p := &slaveProc{slot: slot, id: id, key: schema.Slave(r.w.key, id),
		pgidFile: filepath.Join(r.outDir, "run", id+".pgid")}
	sc := SlaveConfig{
		Taskset: r.ts.Key, Worker: r.w.key, Slave: p.key, Number: slot + 1, NumSlaves: r.slaves(),
		WorkingCopy: wc, OutputDir: r.outDir, PgidFile: p.pgidFile, Host: cfg.Host,
		HeartbeatTTL: cfg.HeartbeatTTL, HeartbeatInterval: cfg.HeartbeatInterval, Trial: cfg.Trial, Breaker: max(cfg.Breaker, 0),
	}
	if err := os.MkdirAll(filepath.Dir(p.pgidFile), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(p.pgidFile), err)
	}
	if customSlave(r.ts.SlaveCommand) {
		p.cmd = exec.Command("sh", "-c", r.ts.SlaveCommand)
	} else {
		p.cmd = exec.Command(cfg.SlaveCommand[0], cfg.SlaveCommand[1:]...)
	}
	p.cmd.Dir = wc
	// Later entries win over earlier ones of the same name. The Redis URL
	// goes through a pipe, never the environment (see EnvRedisFD).
	secret := []string{EnvRedis, EnvRedisFD, EnvRedisCA, EnvRedisCert, EnvRedisKey}
	env := append(withoutEnv(os.Environ(), secret...), withoutEnv(cfg.SlaveEnv, secret...)...)
	env = append(env, sc.Env()...)
	p.cmd.Env = append(env, EnvRedisFD+"="+strconv.Itoa(slaveRedisFD), EnvNamespace+"="+cfg.Namespace)
	url, err := redisPipe(redisx.Config{URL: cfg.RedisURL, TLS: cfg.RedisTLS})
	if err != nil {
		return nil, err
	}
	defer url.Close() // the slave has its own copy once started
	p.cmd.ExtraFiles = []*os.File{url}
	p.cmd.Stdout, p.cmd.Stderr = cfg.SlaveOutput, cfg.SlaveOutput
	p.cmd.WaitDelay = cfg.StopGrace // only used when the output is not a file
	if err := proc.StartInGroup(p.cmd); err != nil {
		return nil, err
	}
	r.log.Debug().Msgf("slave %d started: %s (pid %d)", slot+1, p.key, p.pid())
	return p, nil
}

// slaveExited cleans up after a slave: it kills the process group of the
// trial it was running, marks its unfinished trials error (which tells the
// arbiter), and, when it died, records that and asks the arbiter to check
// the taskset (it may have taken a task without starting a trial).
func (r *tasksetRun) slaveExited(e slaveExit, stopping string) {
	p := e.p
	p.killRecorded()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	how := e.describe()
	msg := fmt.Sprintf("slave %s died: %s", p.key, how)
	switch {
	case stopping != "":
		msg = fmt.Sprintf("slave %s stopped (%s): %s", p.key, stopping, how)
	case e.normal():
		msg = fmt.Sprintf("slave %s exited: %s", p.key, how)
	}
	crashed := ""
	if stopping == "" && !e.normal() {
		crashed = schema.CrashedSlave
	}
	marked := r.markTrials(ctx, p.key, msg, crashed)
	if e.normal() {
		return
	}
	if stopping != "" {
		if marked > 0 {
			r.logf("slave %d (%s) %s; %d running trial(s) marked error", p.slot+1, p.key, how, marked)
		}
		return
	}
	r.warnf("slave %d (%s) died: %s; %d running trial(s) marked error", p.slot+1, p.key, how, marked)
	if ok, err := r.w.c.Exists(ctx, p.key); err == nil && ok {
		if _, err := r.w.c.Stamp(ctx, p.key, schema.FFinishedAt, schema.FStatus, schema.SlaveFailureExit); err != nil {
			r.log.Warn().Err(err).Msg("record the slave's death")
		}
	}
	_ = r.w.c.EndHeartbeat(ctx, p.key)
	if err := r.w.c.SendCommand(ctx, schema.Command{Verb: schema.CmdCheck, Key: r.ts.Key}); err != nil {
		r.log.Warn().Err(err).Msg("ask the arbiter to check the taskset")
	}
}

// markTrials finishes the unfinished trials of a slave as error; a slave
// runs one trial at a time, so only its last few can be unfinished.
func (r *tasksetRun) markTrials(ctx context.Context, slave, msg, crashed string) int {
	trials, err := r.w.c.ListFrom(ctx, schema.SlaveTrials(slave), -3)
	if err != nil {
		r.log.Error().Err(err).Msgf("read the trials of %s", slave)
		return 0
	}
	marked := 0
	for _, trial := range trials {
		// A running trial has no status field, as in the original.
		status, err := r.w.c.Field(ctx, trial, schema.FStatus)
		if err != nil || status != "" {
			continue
		}
		ok, err := r.w.c.FinishLost(ctx, trial, msg, crashed)
		if err != nil && !errors.Is(err, schema.ErrInvalid) {
			r.log.Error().Err(err).Msgf("mark trial %s error", trial)
		}
		if ok {
			marked++
		}
	}
	return marked
}
