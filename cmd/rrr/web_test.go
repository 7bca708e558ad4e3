package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// startWebFor runs `rrr web` against the fleet with one token and returns
// its base URL.
func startWebFor(t *testing.T, f *e2eFleet, token string) string {
	t.Helper()
	port, err := redistest.FreePort()
	require.NoError(t, err)
	tokens := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(tokens, []byte("browser "+token+"\n"), 0o600))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	spawn(t, f.bin, append(f.global, "web", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--results-dir", f.results,
		"--api-token-file", tokens)...)
	waitHealthy(t, base)
	return base
}

// TestWebInBrowser drives the pages in headless Chromium against a real
// fleet: the taskset page updates live while specs finish, a failed spec's
// output is shown, cancel works with a token and is refused without.
func TestWebInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("a browser and a fleet: not in -short")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("RRR_REQUIRE_CHROMIUM") != "" {
			t.Fatal("no chromium on PATH: apt-get install chromium")
		}
		t.Skip("no chromium on PATH (scripts/test.sh installs it)")
	}
	shots, err := os.MkdirTemp("", "rrr-web-screenshots-")
	require.NoError(t, err)
	t.Logf("screenshots in %s", shots)

	f := startFleet(t)
	const token = "browser-test-token-0123456789"
	base := startWebFor(t, f, token)
	gate := filepath.Join(t.TempDir(), "gate")
	dir := project(t, map[string]string{
		// fails when the test opens its gate, with markup in its output
		"fail/boom.sh": "while [ ! -e " + gate + ".boom ]; do sleep 0.05; done; echo 1..1; echo 'not ok 1 - explodes'; echo '<b>boom</b> & \"quotes\"' >&2; exit 1\n",
		// runs until the test opens the gate
		"gated/wait.sh":  "while [ ! -e " + gate + " ]; do sleep 0.05; done; echo 1..1; echo 'ok 1 - waited'\n",
		"gated/never.sh": "while [ ! -e " + gate + ".never ]; do sleep 0.05; done; echo 1..1; echo 'ok 1'\n",
		".rrr.yml":       "trial-command: sh {file}\nformat: tap\nrsync-name: web\nmax-trials: 1\n",
	})
	code, p := f.rrr(t, "start", "--dir", dir, "fail/boom.sh", "gated/wait.sh")
	require.Equal(t, 0, code, p.stderr.String())
	key := strings.TrimSpace(p.stdout.String())
	id, ok := f.rdb.Keys.TasksetID(key)
	require.True(t, ok, key)

	profile, err := os.MkdirTemp("", "rrr-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Headless, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first run starts the browser and must have no deadline.
	page := base + "/tasksets/" + id
	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(page)))
	// Each browser step has a deadline of its own: a slow machine makes the
	// whole test long, never one step hang for ever.
	step := func() context.Context {
		ctx, cancel := context.WithTimeout(browser, 60*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(step(), chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(step(), chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return s
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(step(), steps...))
	}

	// Without a token the page is the login form; with it, the taskset.
	do(chromedp.WaitVisible(chromedp.CSS(`input[name=token]`)))
	shot("1-login")
	do(chromedp.SendKeys(chromedp.CSS(`input[name=token]`), token), chromedp.Submit(chromedp.CSS(`input[name=token]`)),
		chromedp.WaitVisible(chromedp.CSS(`#progress`)))
	require.Contains(t, text("h1"), id)
	require.Equal(t, "0", text("#failed"))

	// Live: the failed spec is counted while the page stays loaded (a
	// marker set in the page survives), then the gate opens and the page
	// shows the end, with the failed spec's output.
	do(chromedp.Evaluate[chromedp.Void](`window.rrrMarker = 1; undefined`))
	require.NoError(t, os.WriteFile(gate+".boom", nil, 0o644))
	do(
		chromedp.Poll[chromedp.Void](`document.getElementById("failed").textContent === "1"`, chromedp.WithPollingTimeout(60*time.Second)))
	shot("2-live")
	marker, err := chromedp.Run(step(), chromedp.Evaluate[bool](`window.rrrMarker === 1`))
	require.NoError(t, err)
	require.True(t, marker, "the count changed without reloading the page")
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	// The script reads the page again when the taskset ends: the page the
	// server renders for a finished taskset says so.
	require.Eventually(t, func() bool {
		final, err := chromedp.Run(step(), chromedp.Evaluate[bool](`document.readyState === "complete" && !!document.getElementById("progress") && document.getElementById("progress").dataset.final === "true"`))
		return err == nil && final // an error: the page is being read again
	}, 60*time.Second, 50*time.Millisecond, "the page shows the finished taskset")
	shot("3-finished")
	failed := text("#failed-specs")
	require.Contains(t, failed, "fail/boom.sh")
	require.Contains(t, failed, `<b>boom</b> & "quotes"`, "the output is shown as text")
	require.Equal(t, "failed", text("#status"))

	// Cancel: refused without a token, done from the page with one.
	code, p = f.rrr(t, "start", "--dir", dir, "gated/never.sh")
	require.Equal(t, 0, code, p.stderr.String())
	key2 := strings.TrimSpace(p.stdout.String())
	id2, _ := f.rdb.Keys.TasksetID(key2)
	resp, err := http.Post(base+"/api/v1/tasksets/"+id2+"/cancel", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, err = http.Post(base+"/tasksets/"+id2+"/cancel", "application/x-www-form-urlencoded", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.NotEqual(t, schema.StatusCancelled, f.raw.HGet(context.Background(), key2, schema.FStatus).Val())

	do(chromedp.Navigate(base+"/tasksets/"+id2), chromedp.WaitVisible(chromedp.CSS(`#cancel button`)),
		chromedp.Click(chromedp.CSS(`#cancel button`)), chromedp.WaitVisible(chromedp.CSS(`#notice`)))
	shot("4-cancelled")
	require.Equal(t, "cancelled", text("#notice"))
	require.Equal(t, schema.StatusCancelled, f.raw.HGet(context.Background(), key2, schema.FStatus).Val())

	do(chromedp.Navigate(base+"/?rsync_name=web"), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	shot("5-tasksets")
	do(chromedp.Navigate(base+"/workers"), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	shot("6-workers")
	require.Contains(t, text("table.list"), "e2e-")
}

// waitHealthy waits until the dashboard at base answers.
func waitHealthy(t *testing.T, base string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "the dashboard answers at %s", base)
}

// `rrr server --web-listen --web-url` serves the dashboard and publishes
// its URL; `start` and `waitfor` print the taskset's page.
func TestServerWebAndPageURL(t *testing.T) {
	bin := build(t)
	srv := redistest.Shared(t)
	ns := redistest.Namespace(t)
	global := []string{"--redis", srv.URL(), "--namespace", ns}
	port, err := redistest.FreePort()
	require.NoError(t, err)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	spawn(t, bin, append(global, "server", "--results-dir", t.TempDir(), "--rsync-remote-path", t.TempDir(),
		"--web-listen", fmt.Sprintf("127.0.0.1:%d", port), "--web-url", "http://dash.example/rrr/")...)
	waitHealthy(t, base)
	rdb := srv.Client()
	defer rdb.Close()
	require.Equal(t, "http://dash.example/rrr/", rdb.HGet(context.Background(), ns+":rsync_info", schema.FWebURL).Val())

	dir := project(t, map[string]string{"a.sh": "true\n", ".rrr.yml": "trial-command: sh {file}\nrsync-name: page\n"})
	p := spawn(t, bin, append(global, "start", "--dir", dir, "a.sh")...)
	require.Equal(t, 0, p.exit(t, 60*time.Second), p.stderr.String())
	key := strings.TrimSpace(p.stdout.String())
	id, _ := schema.NewKeys(ns).TasksetID(key)
	require.Contains(t, p.stderr.String(), "rrr: taskset page: http://dash.example/rrr/tasksets/"+id+"\n")
	resp, err := http.Get(base + "/tasksets/" + id)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the embedded dashboard shows it")

	p = spawn(t, bin, append(global, "waitfor", "--web-url", "http://other.example", "--timeout", "1s", id)...)
	require.Equal(t, exitInfra, p.exit(t, 60*time.Second), "no worker: the wait times out")
	require.Contains(t, p.stderr.String(), "rrr: taskset page: http://other.example/tasksets/"+id+"\n", "the flag wins")
}

// Without tokens, `rrr web` listens on loopback only, unless told.
func TestWebRefusesOpenListenWithoutTokens(t *testing.T) {
	bin := build(t)
	srv := redistest.Shared(t)
	global := []string{"--redis", srv.URL(), "--namespace", redistest.Namespace(t)}
	p := spawn(t, bin, append(global, "web", "--listen", "0.0.0.0:0")...)
	require.Equal(t, exitUsage, p.exit(t, 30*time.Second))
	require.Contains(t, p.stderr.String(), "--insecure-listen")
	p = spawn(t, bin, append(global, "web", "--autoscale-target", "0")...)
	require.Equal(t, exitUsage, p.exit(t, 30*time.Second))
	port, err := redistest.FreePort()
	require.NoError(t, err)
	spawn(t, bin, append(global, "web", "--insecure-listen", "--listen", fmt.Sprintf("0.0.0.0:%d", port))...)
	waitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d", port))
}

// `rrr local --web-listen` serves the run's page while it runs.
func TestLocalWebListen(t *testing.T) {
	bin := build(t)
	dir := project(t, map[string]string{"a.sh": "true\n"})
	p := spawn(t, bin, "local", "--results-dir", t.TempDir(), "--slaves", "1", "--trial-command", "sh {file}",
		"--dir", dir, "--web-listen", "127.0.0.1:0", "a.sh")
	require.Equal(t, 0, p.exit(t, 60*time.Second), p.stderr.String())
	require.Regexp(t, `rrr: watch it at http://127\.0\.0\.1:\d+/tasksets/\S+-\d{8}-\d{6}-[0-9a-f]{4}\n`, p.stderr.String())
}
