package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/loopx/looptest"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/pkg/web"
	"github.com/rrr-dev/rrr/schema"
)

// fx is a dashboard on a miniredis with one running taskset.
type fx struct {
	t    *testing.T
	mr   *miniredis.Miniredis
	sc   *schema.Client
	rdb  *redis.Client // for what a test writes past the protocol
	srv  *web.Server
	http *httptest.Server
	key  string
	id   string
	dir  string
	log  *looptest.Buffer
}

const evilOut = "\xff\xfe <script>alert(1)</script> \"double\" 'single' & done"

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{}) // tests stop Redis on purpose
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func newFx(t *testing.T, cfg web.Config, specs ...string) *fx {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	f := &fx{t: t, mr: mr, sc: schema.NewClient(rdb, "rrrspec"), rdb: rdb, dir: t.TempDir(), log: &looptest.Buffer{}}
	if cfg.ResultsDir == "" {
		cfg.ResultsDir = f.dir
	}
	f.dir = cfg.ResultsDir
	srv, err := web.New(cfg, web.Deps{Client: f.sc, Log: zerolog.New(f.log)})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	f.srv = srv
	f.http = httptest.NewServer(srv)
	t.Cleanup(f.http.Close)
	if len(specs) > 0 {
		f.id = "alice-20260101-120000-abcd"
		f.key, err = f.sc.CreateTaskset(context.Background(), f.id, schema.TasksetSpec{RsyncName: "alice", TrialCommand: "sh {file}",
			MaxTrials: 1, Specs: specs})
		require.NoError(t, err)
		require.NoError(t, rdb.HSet(context.Background(), f.key, schema.FStatus, schema.StatusRunning).Err())
	}
	return f
}

// run takes the next task on slave and finishes it with status and stdout.
func (f *fx) run(slave, status, stdout string) string {
	f.t.Helper()
	ctx := context.Background()
	out, task, err := f.sc.TakeTask(ctx, f.key, slave)
	require.NoError(f.t, err)
	require.Equal(f.t, schema.TakeOK, out)
	st, trial, _, err := f.sc.StartTrial(ctx, f.key, task, "1", slave)
	require.NoError(f.t, err)
	require.Equal(f.t, schema.StartOK, st)
	_, err = f.sc.FinishTrial(ctx, trial, schema.Result{Status: status, Fields: map[string]string{schema.FStdout: stdout}})
	require.NoError(f.t, err)
	_, _, err = f.sc.SettleTask(ctx, task)
	require.NoError(f.t, err)
	return task
}

// get requests path with headers "K: V" and returns the status and body.
func (f *fx) get(path string, headers ...string) (int, string) {
	return f.do(http.MethodGet, path, nil, headers...)
}

func (f *fx) do(method, path string, body io.Reader, headers ...string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.http.URL+path, body)
	require.NoError(f.t, err)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	return resp.StatusCode, string(b)
}

func (f *fx) getOK(path string) string {
	f.t.Helper()
	code, body := f.get(path)
	require.Equal(f.t, http.StatusOK, code)
	return body
}

// section is the <section id=id> of a page.
func section(body, id string) string {
	i := strings.Index(body, `<section id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</section>")
	return body[i : i+j]
}

func (f *fx) json(path string, v any, headers ...string) {
	f.t.Helper()
	code, body := f.get(path, headers...)
	require.Equal(f.t, http.StatusOK, code, body)
	require.NoError(f.t, json.Unmarshal([]byte(body), v), body)
}

// persist writes the taskset as the persister would, and removes it from Redis.
func (f *fx) persist() *model.Snapshot {
	f.t.Helper()
	s, err := model.NewReader(f.sc).Load(context.Background(), f.key, model.LoadOptions{Output: true, Logs: true})
	require.NoError(f.t, err)
	require.NoError(f.t, store.Write(f.dir, s))
	f.mr.FlushAll()
	return s
}

func TestAPIRoutes(t *testing.T) {
	f := newFx(t, web.Config{}, "a_spec.sh", "b_spec.sh", "c_spec.sh")
	ctx := context.Background()
	f.run("rrrspec:worker:w1:slave:1", schema.StatusPassed, "fine")
	f.run("rrrspec:worker:w1:slave:1", schema.StatusFailed, evilOut)

	var l web.List
	f.json("/api/v1/tasksets", &l)
	require.Equal(t, 1, l.Total)
	require.Equal(t, f.id, l.Tasksets[0].ID)
	require.Equal(t, 2, l.Tasksets[0].Done)
	require.True(t, l.Tasksets[0].Active)
	f.json("/api/v1/tasksets?rsync_name=bob", &l)
	require.Equal(t, 0, l.Total)
	f.json("/api/v1/tasksets?status=running&class=default&rsync_name=alice", &l)
	require.Equal(t, 1, l.Total)
	code, body := f.get("/api/v1/tasksets?page=0")
	require.Equal(t, http.StatusBadRequest, code, body)

	var v struct {
		Key         string
		Progress    web.Progress
		FailedSpecs []string `json:"failed_specs"`
		Tasks       []model.Task
		Source      string
	}
	f.json("/api/v1/tasksets/"+f.id, &v)
	require.Equal(t, f.key, v.Key)
	require.Equal(t, 2, v.Progress.Done)
	require.Equal(t, 3, v.Progress.Total)
	require.Equal(t, []string{"b_spec.sh"}, v.FailedSpecs)
	require.Equal(t, "redis", v.Source)
	require.Contains(t, v.Tasks[1].Trials[0].Stdout, "<script>", "JSON carries the output as text")
	code, _ = f.get("/api/v1/tasksets/nobody-20260101-000000-0000")
	require.Equal(t, http.StatusNotFound, code)

	// a live worker with a slave running c_spec.sh
	w := f.sc.Keys.Worker("w1")
	_, err := f.sc.RegisterWorker(ctx, w, 10*time.Second, map[string]string{schema.FWorkerType: "default", schema.FHost: "box1", schema.FSlaves: "1"})
	require.NoError(t, err)
	require.NoError(t, f.rdb.HSet(ctx, w, schema.FTaskset, f.key).Err())
	slave := schema.Slave(w, "1")
	require.NoError(t, f.sc.RegisterSlave(ctx, f.key, slave, 10*time.Second, map[string]string{schema.FNumber: "1"}))
	_, task, err := f.sc.TakeTask(ctx, f.key, slave)
	require.NoError(t, err)
	_, _, _, err = f.sc.StartTrial(ctx, f.key, task, "1", slave)
	require.NoError(t, err)
	var fl web.Fleet
	f.json("/api/v1/workers", &fl)
	require.Equal(t, 1, fl.Live)
	require.Equal(t, "box1", fl.Workers[0].Host)
	require.Len(t, fl.Workers[0].Slaves, 1)
	require.True(t, fl.Workers[0].Slaves[0].Busy)
	require.Equal(t, "c_spec.sh", fl.Workers[0].Slaves[0].Running)
	require.NotNil(t, fl.Workers[0].HeartbeatAgeSec)
	workers := f.getOK("/workers")
	require.Contains(t, workers, "<td>box1</td><td>1</td>", "the worker's slave count")
	require.Contains(t, workers, "running c_spec.sh")

	var c web.Cancelled
	code, body = f.do(http.MethodPost, "/api/v1/tasksets/"+f.id+"/cancel", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &c))
	require.True(t, c.Stopped)
	require.Equal(t, schema.StatusCancelled, f.rdb.HGet(ctx, f.key, schema.FStatus).Val())
	require.Contains(t, f.rdb.LRange(ctx, f.sc.Keys.ArbiterQueue(), 0, -1).Val(), "cancel\t"+f.key)
	code, body = f.do(http.MethodPost, "/tasksets/"+f.id+"/cancel", nil, "Origin: https://evil.example", "Sec-Fetch-Site: cross-site")
	require.Equal(t, http.StatusForbidden, code, "a page of another site cannot cancel: "+body)
	code, body = f.do(http.MethodGet, "/api/v1/tasksets/"+f.id+"/cancel", nil)
	require.Equal(t, http.StatusMethodNotAllowed, code, body)

	// the spec across runs, from the results store, with its estimate
	require.NoError(t, f.rdb.HSet(ctx, f.sc.Keys.Estimate("default"), "b_spec.sh", "7").Err())
	f.persist()
	require.NoError(t, f.rdb.HSet(ctx, f.sc.Keys.Estimate("default"), "b_spec.sh", "7").Err())
	var h web.SpecHistory
	f.json("/api/v1/specs?"+url.Values{"spec": {"b_spec.sh"}, "class": {"default"}}.Encode(), &h)
	require.Len(t, h.Runs, 1)
	require.Equal(t, "failed", h.Runs[0].Status)
	require.Equal(t, 1.0, h.FailRate)
	require.NotNil(t, h.EstimateSec)
	require.Equal(t, 7.0, *h.EstimateSec)
	code, _ = f.get("/api/v1/specs")
	require.Equal(t, http.StatusBadRequest, code)

	code, body = f.get("/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok\n", body)
}

func writeTokens(t *testing.T, lines string) []web.Token {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(p, []byte(lines), 0o600))
	toks, err := web.ReadTokens(p)
	require.NoError(t, err)
	return toks
}

func TestAuth(t *testing.T) {
	const good, wrong = "s3cret-token-of-ci-0123", "s3cret-token-of-ci-0124"
	toks := writeTokens(t, "# tokens\nci "+good+"\n\nalice another-token-0123456789\n")
	require.Len(t, toks, 2)
	f := newFx(t, web.Config{Tokens: toks}, "a_spec.sh")

	for _, path := range []string{"/api/v1/tasksets", "/api/v1/tasksets/" + f.id, "/api/v1/workers", "/metrics",
		"/api/v1/specs?spec=a_spec.sh", "/api/v1/tasksets/" + f.id + "/events"} {
		code, _ := f.get(path)
		require.Equal(t, http.StatusUnauthorized, code, path+" without a token")
		code, _ = f.get(path, "Authorization: Bearer "+wrong)
		require.Equal(t, http.StatusUnauthorized, code, path+" with a wrong token")
	}
	code, _ := f.do(http.MethodPost, "/api/v1/tasksets/"+f.id+"/cancel", nil, "Authorization: Bearer "+wrong)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, schema.StatusRunning, f.rdb.HGet(context.Background(), f.key, schema.FStatus).Val(), "a refused cancel cancels nothing")
	code, _ = f.get("/api/v1/tasksets", "Authorization: Basic "+good)
	require.Equal(t, http.StatusUnauthorized, code, "only Bearer")
	code, body := f.get("/")
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, body, `name="token"`, "a page shows the login form")

	code, _ = f.get("/api/v1/tasksets", "Authorization: Bearer "+good)
	require.Equal(t, http.StatusOK, code)
	code, _ = f.get("/healthz")
	require.Equal(t, http.StatusOK, code, "/healthz is public")

	// the login form sets a cookie the pages accept
	code, _ = f.do(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {wrong}}.Encode()),
		"Content-Type: application/x-www-form-urlencoded")
	require.Equal(t, http.StatusUnauthorized, code)
	req, _ := http.NewRequest(http.MethodPost, f.http.URL+"/login", strings.NewReader(url.Values{"token": {good}, "next": {"//evil.example/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"), "no redirect off the site")
	var cookie string
	for _, c := range resp.Cookies() {
		cookie = c.Name + "=" + c.Value
		require.True(t, c.HttpOnly)
	}
	code, body = f.get("/tasksets/"+f.id, "Cookie: "+cookie)
	require.Equal(t, http.StatusOK, code, body)

	out := f.log.String()
	require.Contains(t, out, "refused a request with a wrong token")
	require.NotContains(t, out, wrong, "the log never holds a token")
	require.NotContains(t, out, good)
}

func TestReadTokensRefusesBadFiles(t *testing.T) {
	for name, content := range map[string]string{
		"one word":   "justatoken0123456789\n",
		"short":      "ci short\n",
		"twice":      "ci aaaaaaaaaaaaaaaaaaaa\nci bbbbbbbbbbbbbbbbbbbbbb\n",
		"empty":      "# nothing\n",
		"three word": "ci aaaaaaaaaaaaaaaaaaaa more\n",
	} {
		p := filepath.Join(t.TempDir(), "tokens")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		_, err := web.ReadTokens(p)
		require.ErrorIs(t, err, web.ErrTokenFile, name)
		require.NotContains(t, err.Error(), "aaaaaaaaaaaaaaaaaaaa", "messages never print a token")
	}
}

func TestCheckListen(t *testing.T) {
	toks := []web.Token{{Name: "ci", Value: "0123456789abcdef"}}
	for _, c := range []struct {
		addr     string
		tokens   []web.Token
		insecure bool
		ok       bool
	}{
		{"127.0.0.1:8080", nil, false, true},
		{"[::1]:8080", nil, false, true},
		{"localhost:8080", nil, false, true},
		{"0.0.0.0:8080", nil, false, false},
		{":8080", nil, false, false},
		{"10.1.2.3:8080", nil, false, false},
		{"0.0.0.0:8080", toks, false, true},
		{"0.0.0.0:8080", nil, true, true},
	} {
		err := web.CheckListen(c.addr, c.tokens, c.insecure)
		if c.ok {
			require.NoError(t, err, c.addr)
		} else {
			require.ErrorIs(t, err, web.ErrInsecureListen, c.addr)
		}
	}
}

func TestPagesEscape(t *testing.T) {
	evilSpec := `x/"quoted" 'and' <script>alert(2)</script>.sh`
	f := newFx(t, web.Config{}, evilSpec, "ok_spec.sh")
	f.run("rrrspec:worker:w1:slave:1", schema.StatusFailed, evilOut)
	for _, path := range []string{"/", "/tasksets/" + f.id, "/specs?" + url.Values{"spec": {evilSpec}}.Encode()} {
		code, body := f.get(path)
		require.Equal(t, http.StatusOK, code, path)
		require.True(t, utf8.ValidString(body), path+" is UTF-8")
		require.NotContains(t, body, "<script>alert", path)
		require.NotContains(t, body, `"quoted"`, path)
	}
	_, body := f.get("/tasksets/" + f.id)
	require.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;", "the output is shown, escaped")
	require.Contains(t, body, "\uFFFD", "bytes that are not UTF-8 are replaced")
	require.Contains(t, body, "Failed specs (1)")
}

func TestPathsWithDotDot(t *testing.T) {
	f := newFx(t, web.Config{}, "a_spec.sh")
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(f.dir), "secret.json"), []byte("SECRET"), 0o600))
	for _, p := range []string{"/tasksets/..%2Fsecret.json", "/api/v1/tasksets/..%2F..%2Fsecret", "/api/v1/tasksets/..",
		"/tasksets/%2E%2E", "/api/v1/tasksets/.hidden", "/tasksets/a%3Ab", "/tasksets/../etc/passwd", "/assets/..%2Fweb.go",
		"/api/v1/tasksets/..%5Csecret"} {
		code, body := f.get(p)
		require.NotEqual(t, http.StatusOK, code, p)
		require.NotContains(t, body, "SECRET", p)
		require.Less(t, code, 500, p)
	}
	code, body := f.get("/api/v1/tasksets/..%2Fsecret.json")
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "invalid taskset id")
}

func TestRedisDownAndBack(t *testing.T) {
	f := newFx(t, web.Config{}, "a_spec.sh")
	f.mr.Close()
	code, body := f.get("/")
	require.Equal(t, http.StatusOK, code, "the list shows what the store holds")
	require.Contains(t, body, "Redis is unreachable")
	code, body = f.get("/tasksets/" + f.id)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "Redis is unreachable")
	code, _ = f.get("/api/v1/tasksets/" + f.id)
	require.Equal(t, http.StatusServiceUnavailable, code)

	require.NoError(t, f.mr.Restart())
	require.Eventually(t, func() bool {
		code, body := f.get("/tasksets/" + f.id)
		return code == http.StatusOK && !strings.Contains(body, `<div id="redis-error" class="banner">`)
	}, 10*time.Second, 20*time.Millisecond, "the page recovers")
	_, body = f.get("/")
	require.Contains(t, body, f.id)
	require.Contains(t, body, `id="redis-error" class="banner" hidden`)
}

func TestExpiredTasksetFromStore(t *testing.T) {
	f := newFx(t, web.Config{}, "a_spec.sh", "b_spec.sh")
	f.run("rrrspec:worker:w1:slave:1", schema.StatusPassed, "")
	f.run("rrrspec:worker:w1:slave:1", schema.StatusFailed, "it broke")
	f.persist()
	code, body := f.get("/tasksets/" + f.id)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "read from results store")
	require.Contains(t, body, "it broke")
	var l web.List
	f.json("/api/v1/tasksets?status=failed", &l)
	require.Equal(t, 1, l.Total)
	require.Equal(t, "results store", l.Tasksets[0].Source)

	// Redis down: still read from the store, and the page says why
	f.mr.Close()
	code, body = f.get("/tasksets/" + f.id)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "Redis is unreachable")
	require.Contains(t, body, "it broke")
}

func TestTenThousandSpecsPaginate(t *testing.T) {
	f := newFx(t, web.Config{})
	f.id = "big-20260101-120000-0000"
	s := &model.Snapshot{Taskset: model.Taskset{Key: f.sc.Keys.Taskset(f.id), ID: f.id, Status: schema.StatusFailed,
		CreatedAt: model.Time{Time: time.Now().Add(-time.Hour)}, FinishedAt: model.Time{Time: time.Now()}, TasksetClass: "default"}}
	start := time.Now().Add(-time.Hour)
	for i := range 10000 {
		st := schema.StatusPassed
		if i%1000 == 999 {
			st = schema.StatusFailed
		}
		spec := fmt.Sprintf("spec/%05d_spec.rb", i)
		tk := s.Key + ":task:" + spec
		s.Tasks = append(s.Tasks, model.Task{Key: tk, SpecFile: spec, Status: st, Trials: []model.Trial{{Key: tk + ":trial:1",
			Slave: fmt.Sprintf("rrrspec:worker:w%d:slave:%d", i%4, i%8), Status: st, StartedAt: model.Time{Time: start.Add(time.Duration(i) * time.Second / 4)},
			FinishedAt: model.Time{Time: start.Add(time.Duration(i+3) * time.Second / 4)}}}})
		if st == schema.StatusFailed {
			s.Tasks[i].Trials[0].Stdout = "out " + spec
		}
	}
	s.SucceededCount, s.FailedCount, s.TaskCount = 9990, 10, 10000
	require.NoError(t, store.Write(f.dir, s))

	code, body := f.get("/tasksets/" + f.id)
	require.Equal(t, http.StatusOK, code)
	specs := section(body, "specs")
	has := func(s, sub string) bool { return strings.Contains(s, sub) }
	require.True(t, has(specs, "page 1 of 50 (10000 specs)"))
	require.True(t, has(body, "Failed specs (10)"))
	require.Less(t, strings.Index(specs, "spec/09999_spec.rb"), strings.Index(specs, "spec/00000_spec.rb"), "failed specs come first")
	require.False(t, has(specs, "spec/05000_spec.rb"), "page 1 lists 200 specs")
	require.Equal(t, 200, strings.Count(specs, "<tr class="))
	require.True(t, has(body, "2000 of 10000 trials drawn"))
	specs = section(f.getOK("/tasksets/"+f.id+"?page=26"), "specs")
	require.True(t, has(specs, "page 26 of 50"))
	require.True(t, has(specs, `rel="prev"`))
	require.True(t, has(specs, `rel="next"`))
	require.Equal(t, 200, strings.Count(specs, "<tr class="))
	specs = section(f.getOK("/tasksets/"+f.id+"?page=50"), "specs")
	require.False(t, has(specs, `rel="next"`))
	require.True(t, has(specs, "spec/09998_spec.rb"), "the last page holds the last passed spec")
	code, _ = f.get("/tasksets/" + f.id + "?page=x")
	require.Equal(t, http.StatusBadRequest, code)
}

// events reads Server-Sent Events of a stream into a channel.
func events(t *testing.T, f *fx, id string) (<-chan [2]string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.http.URL+"/api/v1/tasksets/"+id+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	ch := make(chan [2]string, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		ev := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				ev = e
			}
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				select {
				case ch <- [2]string{ev, d}:
				default:
				}
			}
		}
	}()
	return ch, cancel
}

// waitProgress waits for a progress event with done specs.
func waitProgress(t *testing.T, ch <-chan [2]string, done int) web.Progress {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			if m[0] != "progress" {
				continue
			}
			var p web.Progress
			require.NoError(t, json.Unmarshal([]byte(m[1]), &p))
			if p.Done == done {
				return p
			}
		case <-deadline:
			t.Fatalf("no progress event with %d done", done)
		}
	}
}

func TestEventsStreamProgress(t *testing.T) {
	f := newFx(t, web.Config{}, "a_spec.sh", "b_spec.sh")
	ch, stop := events(t, f, f.id)
	defer stop()
	waitProgress(t, ch, 0)
	f.run("rrrspec:worker:w1:slave:1", schema.StatusPassed, "")
	waitProgress(t, ch, 1)
	f.run("rrrspec:worker:w1:slave:1", schema.StatusFailed, "")
	p := waitProgress(t, ch, 2)
	require.True(t, p.Final)
	require.Equal(t, schema.StatusFailed, p.Status)

	code, _ := f.get("/api/v1/tasksets/nobody-20260101-000000-0000/events")
	require.Equal(t, http.StatusNotFound, code)
}

// A client that connects and never reads does not hold back the others.
func TestSlowEventsClientNeverBlocks(t *testing.T) {
	f := newFx(t, web.Config{StreamWriteTimeout: 200 * time.Millisecond}, "a_spec.sh", "b_spec.sh", "c_spec.sh")
	// The slow client: a raw connection that sends a request and never reads.
	req, _ := http.NewRequest(http.MethodGet, f.http.URL+"/api/v1/tasksets/"+f.id+"/events", nil)
	conn, err := (&net.Dialer{}).Dial("tcp", f.http.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, req.Write(conn))

	ch, stop := events(t, f, f.id)
	defer stop()
	waitProgress(t, ch, 0)
	// many events with the slow client connected
	for range 200 {
		f.rdb.Publish(context.Background(), schema.Events(f.key), "started\tx")
	}
	f.run("rrrspec:worker:w1:slave:1", schema.StatusPassed, "")
	waitProgress(t, ch, 1)
	f.run("rrrspec:worker:w1:slave:1", schema.StatusPassed, "")
	waitProgress(t, ch, 2)
	code, _ := f.get("/api/v1/tasksets/" + f.id)
	require.Equal(t, http.StatusOK, code, "the server answers meanwhile")
}
