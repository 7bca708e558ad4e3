package main

// The connection's security, end to end: TLS with a custom CA and client
// certificates, a Redis user restricted to the fleet's namespace and the
// commands rrr needs (redisx.ACLRule), and a password that shows nowhere.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/schema"
)

// The whole fleet flow (start, wait, show, actives, nodes, cancel,
// cancelall, the dashboard, the persister) over mutual TLS as a user that
// has redisx.ACLRule and nothing else: every command works (Redis denied
// none: its ACL LOG is empty), and the user's password appears in no
// output, log, Redis value, file of the results store, nor in a trial's
// environment or its slave's.
func TestFleetUnderTLSAndARestrictedUser(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: not with -short")
	}
	const secret = "pw-Zq7sEcReT" // the fleet user's
	var certs *redistest.Certs
	f := newFleet(t, fleetOptions{workers: 1, slaves: 2,
		redis: redistest.Options{TLS: true, ClientCerts: true, Password: "admin-pw",
			Users: []string{"rrr on >" + secret + " " + redisx.ACLRule("fleet")}},
		connect: func(srv *redistest.Server) []string {
			certs = srv.Certs
			return []string{"--redis", srv.URLAs("rrr", secret), "--redis-ca", srv.Certs.CA,
				"--redis-cert", srv.Certs.ClientCert, "--redis-key", srv.Certs.ClientKey, "--log-level", "debug"}
		}})
	ctx := context.Background()
	dumps := t.TempDir()
	dir := project(t, map[string]string{
		"pass.sh": "env > " + dumps + "/trial-env-$SLAVE_NUMBER\n" +
			"tr '\\0' '\\n' < /proc/$PPID/environ > " + dumps + "/slave-env-$SLAVE_NUMBER\n" +
			"tr '\\0' ' ' < /proc/$PPID/cmdline > " + dumps + "/slave-cmdline-$SLAVE_NUMBER\n" +
			"echo 1..1; echo ok 1 - passes\n",
		"fail.sh":  "echo 1..1; echo 'not ok 1 - fails'; echo broke >&2; exit 1\n",
		"hang.sh":  "echo hanging; sleep 60\n",
		".rrr.yml": "trial-command: sh {file}\nformat: tap\nrsync-name: sec\n",
	})
	var procs []*proc
	run := func(want int, args ...string) *proc {
		t.Helper()
		p := spawnEnv(t, f.env, f.bin, append(append([]string{}, f.global...), args...)...)
		procs = append(procs, p)
		require.Equal(t, want, p.exit(t, 90*time.Second), "rrr %s\n%s", args, p.stderr)
		return p
	}

	p := run(exitFailed, "start", "--wait", "--max-trials", "1", "--dir", dir, "pass.sh", "fail.sh")
	key := strings.TrimSpace(p.stdout.String())
	require.Contains(t, p.stderr.String(), "failed specs (1):")
	run(exitFailed, "waitfor", key)
	p = run(exitFailed, "show", "--json", key)
	require.Contains(t, p.stdout.String(), `"status": "failed"`)
	run(exitFailed, "show", "--verbose", "--show-errors", key)
	run(exitOK, "nodes")

	// cancel a running taskset, then cancelall one more
	for _, how := range []string{"cancel", "cancelall"} {
		sp, hang := f.start(t, "--dir", dir, "hang.sh")
		procs = append(procs, sp)
		require.Eventually(t, func() bool {
			return len(redistest.List(t, f.rdb, schema.TaskTrials(schema.Task(hang, "hang.sh")))) > 0
		}, 60*time.Second, 20*time.Millisecond, "the hanging spec runs")
		run(exitOK, "actives")
		if how == "cancel" {
			run(exitOK, "cancel", hang)
		} else {
			run(exitOK, "cancelall", "sec")
		}
		run(exitCancelled, "waitfor", hang)
	}

	// the dashboard: pages, API, events and metrics
	port, err := redistest.FreePort()
	require.NoError(t, err)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	web := spawnEnv(t, f.env, f.bin, append(append([]string{}, f.global...), "web",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--results-dir", f.results)...)
	procs = append(procs, web)
	waitHealthy(t, base)
	id, _ := f.c.Keys.TasksetID(key)
	for _, path := range []string{"/", "/tasksets/" + id, "/workers", "/specs?spec=pass.sh", "/api/v1/tasksets",
		"/api/v1/tasksets/" + id, "/api/v1/workers", "/api/v1/specs?spec=pass.sh", "/metrics"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, body)
		require.NotContains(t, string(body), secret, path)
	}
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, base+"/api/v1/tasksets/"+id+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	first := make([]byte, 1)
	_, err = resp.Body.Read(first)
	require.NoError(t, err, "the event stream sends")
	resp.Body.Close()
	cancel()

	// the persister stored the taskset
	require.Eventually(t, func() bool {
		n := 0
		_ = filepath.Walk(f.results, func(string, os.FileInfo, error) error { n++; return nil })
		return n > 3
	}, 60*time.Second, 50*time.Millisecond, "the results store fills")

	// Redis denied nothing
	entries, err := f.rdb.Do(ctx, "ACL", "LOG").Slice()
	require.NoError(t, err)
	require.Empty(t, entries, "commands Redis denied the fleet's user")
	if os.Getenv("RRR_TEST_COMMANDSTATS") != "" {
		t.Log(f.rdb.Info(ctx, "commandstats").Val())
	}

	// The password: in no output of any process, ...
	for _, p := range append(append(procs, f.server), f.workers...) {
		require.NotContains(t, p.stdout.String()+p.stderr.String(), secret, "rrr %s", p.args)
	}
	// ... file of the results store or dump of a trial's environment, ...
	files := 0
	for _, root := range []string{f.results, dumps} {
		require.NoError(t, filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.False(t, bytes.Contains(b, []byte(secret)), "%s holds the password", path)
			files++
			return nil
		}))
	}
	dumped, _ := filepath.Glob(filepath.Join(dumps, "trial-env-*"))
	require.NotEmpty(t, dumped, "the trial dumped its environment")
	// ... or value in Redis.
	keys, err := f.rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		v, err := f.rdb.Dump(ctx, k).Result()
		if err == redis.Nil {
			continue
		}
		require.NoError(t, err)
		require.NotContains(t, v, secret, k)
	}
	t.Logf("%d files, %d Redis keys and %d outputs hold no password", files, len(keys), len(procs)+2)

	// Certificates that do not verify are said so, and the fix named.
	for flag, args := range map[string][]string{
		"--redis-ca":   {"--redis-ca", certs.OtherCA, "--redis-cert", certs.ClientCert, "--redis-key", certs.ClientKey},
		"--redis-cert": {"--redis-ca", certs.CA},
	} {
		p := spawnEnv(t, f.env, f.bin, append(append([]string{"--redis", f.global[1], "--namespace", "fleet"}, args...), "show", key)...)
		require.Equal(t, exitInfra, p.exit(t, 60*time.Second), p.stderr.String())
		require.Contains(t, p.stderr.String(), flag)
		require.NotContains(t, p.stderr.String(), secret)
	}
}

// README.md prints the ACL rule the fleet test runs under.
func TestREADMEHasTheACLRule(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	require.Contains(t, string(b), "    user rrr on >PASSWORD "+redisx.ACLRule("rrrspec")+"\n")
}
