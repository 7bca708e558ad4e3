package main

// A fleet of real processes for the end-to-end fault tests and the
// benchmarks: a redis-server of its own, `rrr server`, `rrr worker`s, and
// a way to find every process they started.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/proc/proctest"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// fleet is a test's own Redis, `rrr server` and `rrr worker`s. Every
// process it starts, and everything they start (slaves, trials), carries
// the environment variable FLEETMARK=<mark>, so that a leftover process is
// found in /proc whatever started it. (Not RRR_*: workers keep those from
// trials.)
type fleet struct {
	bin        string
	redis      *redistest.Server
	rdb        *redis.Client
	c          *schema.Client
	global     []string
	env        []string
	mark       string
	results    string
	remote     string
	serverArgs []string
	server     *proc
	// With fleetOptions.loops: the dispatcher, two arbiters and the
	// persister as processes of their own instead of server.
	loopNames  []string
	loopArgs   [][]string
	loops      []*proc
	workers    []*proc
	workerArgs [][]string // of each worker, to start it again
}

// fleetOptions shape a fleet.
type fleetOptions struct {
	workers, slaves int
	appendOnly      bool     // redis-server keeps an append-only file (to restart it)
	loops           bool     // separate loops with two arbiters instead of rrr server (serverArgs go to each)
	serverArgs      []string // more flags of rrr server
	workerArgs      []string // more flags of each rrr worker
	// redis shapes the redis-server (TLS, users, a password); connect
	// gives the connection flags of every rrr process (nil: --redis URL).
	redis   redistest.Options
	connect func(srv *redistest.Server) []string
}

// newFleet starts a fleet in namespace "fleet" and waits until it is ready.
func newFleet(t testing.TB, o fleetOptions) *fleet {
	t.Helper()
	var nonce [6]byte
	_, _ = rand.Read(nonce[:])
	ro := o.redis
	ro.AppendOnly = ro.AppendOnly || o.appendOnly
	srv := ownRedis(t, ro)
	f := &fleet{bin: build(t), redis: srv, rdb: srv.Client(), mark: hex.EncodeToString(nonce[:]),
		results: t.TempDir(), remote: t.TempDir()}
	t.Cleanup(func() { _ = f.rdb.Close() })
	f.c = schema.NewClient(f.rdb, "fleet")
	f.global = []string{"--redis", srv.URL(), "--namespace", "fleet"}
	if o.connect != nil {
		f.global = append(o.connect(srv), "--namespace", "fleet")
	}
	f.env = []string{"FLEETMARK=" + f.mark}
	f.serverArgs = append(append([]string{}, f.global...), "server", "--results-dir", f.results,
		"--rsync-remote-path", f.remote, "--consumer-id", "fleet-server")
	f.serverArgs = append(f.serverArgs, o.serverArgs...)
	if o.loops {
		// What rrr server would publish; the loops alone do not.
		require.NoError(t, f.rdb.HSet(context.Background(), f.c.Keys.RsyncInfo(), schema.FRsyncRemotePath, f.remote).Err())
		loop := func(name string, args ...string) {
			f.loopNames = append(f.loopNames, name)
			f.loopArgs = append(f.loopArgs, append(append(append([]string{}, f.global...), args...), loopFlags(args[0], o.serverArgs)...))
		}
		loop("dispatcher", "dispatcher")
		loop("arbiter", "arbiter", "--consumer-id", "fleet-arbiter-1")
		loop("arbiter", "arbiter", "--consumer-id", "fleet-arbiter-2")
		loop("persister", "persister", "--results-dir", f.results, "--consumer-id", "fleet-persister")
	}
	f.startServer(t)
	for i := range o.workers {
		args := append(append([]string{}, f.global...), "worker",
			"--id", "w"+strconv.Itoa(i), "--slaves", strconv.Itoa(o.slaves), "--working-dir", t.TempDir())
		f.workerArgs = append(f.workerArgs, append(args, o.workerArgs...))
		f.workers = append(f.workers, spawnEnv(t, f.env, f.bin, f.workerArgs[i]...))
	}
	require.Eventually(t, func() bool {
		path, _ := f.rdb.HGet(context.Background(), f.c.Keys.RsyncInfo(), schema.FRsyncRemotePath).Result()
		for i := range o.workers {
			if alive, _ := f.c.Alive(context.Background(), f.workerKey(i)); !alive {
				return false
			}
		}
		return path == f.remote
	}, 30*time.Second, 10*time.Millisecond, "rrr server and the workers start")
	return f
}

func (f *fleet) startServer(t testing.TB) {
	t.Helper()
	if f.loopArgs != nil {
		f.loops = make([]*proc, len(f.loopArgs))
		for i := range f.loopArgs {
			f.restartLoop(t, i)
		}
		return
	}
	f.server = spawnEnv(t, f.env, f.bin, f.serverArgs...)
}

// restartLoop starts loop i (of loopNames) again.
func (f *fleet) restartLoop(t testing.TB, i int) {
	t.Helper()
	f.loops[i] = spawnEnv(t, f.env, f.bin, f.loopArgs[i]...)
}

// parts are the server's processes: rrr server, or the loops.
func (f *fleet) parts() []*proc {
	if f.loopArgs != nil {
		return append([]*proc{}, f.loops...)
	}
	return []*proc{f.server}
}

// loopFlags keeps of the server's flags those loop takes.
func loopFlags(loop string, serverArgs []string) []string {
	takes := map[string][]string{"dispatcher": {"--interval"}, "arbiter": {"--sweep-interval", "--watch-interval"}, "persister": {"--keep"}}
	var out []string
	for i := 0; i+1 < len(serverArgs); i += 2 {
		for _, f := range takes[loop] {
			if serverArgs[i] == f {
				out = append(out, serverArgs[i], serverArgs[i+1])
			}
		}
	}
	return out
}

// restartWorker starts worker i again (after it was killed), with its id.
func (f *fleet) restartWorker(t testing.TB, i int) {
	t.Helper()
	f.workers[i] = spawnEnv(t, f.env, f.bin, f.workerArgs[i]...)
}

func (f *fleet) workerKey(i int) string { return f.c.Keys.Worker("w" + strconv.Itoa(i)) }

// start runs `rrr start` with args and returns it with the taskset key it
// printed (it goes on waiting with --wait).
func (f *fleet) start(t testing.TB, args ...string) (*proc, string) {
	t.Helper()
	p := spawnEnv(t, f.env, f.bin, append(append(append([]string{}, f.global...), "start"), args...)...)
	var key string
	require.Eventually(t, func() bool {
		key = strings.TrimSpace(p.stdout.String())
		return strings.HasPrefix(key, f.c.Keys.Namespace()+":taskset:")
	}, 5*time.Minute, 10*time.Millisecond, "rrr start prints the taskset key")
	return p, key
}

// done is how many tasks have their verdict.
func (f *fleet) done(key string) int {
	v, err := f.rdb.HMGet(context.Background(), key, schema.FSucceededCount, schema.FFailedCount).Result()
	if err != nil {
		return 0
	}
	n := 0
	for _, x := range v {
		if s, ok := x.(string); ok {
			i, _ := strconv.Atoi(s)
			n += i
		}
	}
	return n
}

// waitDone waits until a part of the taskset's tasks have their verdict.
func (f *fleet) waitDone(t testing.TB, key string, part float64) {
	t.Helper()
	n, err := f.rdb.LLen(context.Background(), schema.Tasks(key)).Result()
	require.NoError(t, err)
	want := int(float64(n) * part)
	require.Eventually(t, func() bool { return f.done(key) >= want }, 60*time.Second, 10*time.Millisecond,
		"%d tasks get their verdict", want)
}

func (f *fleet) snapshot(t testing.TB, key string) *model.Snapshot {
	t.Helper()
	s, err := model.NewReader(f.c).Load(context.Background(), key, model.LoadOptions{})
	require.NoError(t, err)
	require.Empty(t, s.Problems)
	return s
}

// markedProcs lists the live processes that carry the fleet's mark, by pid
// (with their command line, to say what leaked).
func (f *fleet) markedProcs() map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	want := []byte("FLEETMARK=" + f.mark + "\x00")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(env, want) || !proctest.Alive(pid) {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out[pid] = strings.ReplaceAll(strings.TrimSpace(string(cmdline)), "\x00", " ")
	}
	return out
}

// descendants lists the live processes of the fleet below pid (children,
// their children, ...), whatever their process group.
func (f *fleet) descendants(pid int) map[int]string {
	marked := f.markedProcs()
	parent := map[int]int{}
	for p := range marked {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat")
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if err != nil || i < 0 {
			continue
		}
		// after the command: state, then the parent's pid
		if fields := strings.Fields(s[i+1:]); len(fields) > 1 {
			parent[p], _ = strconv.Atoi(fields[1])
		}
	}
	out := map[int]string{}
	for p, cmd := range marked {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out[p] = cmd
				break
			}
		}
	}
	return out
}

// owned are the fleet's own processes that still run.
func (f *fleet) owned() map[int]bool {
	own := map[int]bool{}
	for _, p := range append(f.parts(), f.workers...) {
		if !p.exited() {
			own[p.pid()] = true
		}
	}
	return own
}

// leftovers waits until only the processes in own carry the mark, and
// fails naming the others when they outlive the deadline.
func (f *fleet) leftovers(t testing.TB, own map[int]bool, why string) {
	t.Helper()
	var extra map[int]string
	deadline := time.Now().Add(20 * time.Second)
	for {
		extra = map[int]string{}
		for pid, cmd := range f.markedProcs() {
			if !own[pid] {
				extra[pid] = cmd
			}
		}
		if len(extra) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: processes left running after 20 s: %v", why, extra)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
