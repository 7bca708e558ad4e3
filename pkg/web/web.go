package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

// Config tunes a Server; zero values take the defaults.
type Config struct {
	// ResultsDir is the results store of `rrr server`; empty: none.
	ResultsDir string
	// Tokens, when any, are required on every route but /healthz.
	Tokens []Token
	// PageSize is how many rows a page lists (default 50 tasksets, 4x that
	// many specs of a taskset).
	PageSize int
	// AutoscaleTarget is the time the queued work should take, which the
	// desired-workers metric sizes the fleet for (default 10 min).
	AutoscaleTarget time.Duration
	// Heartbeat is the TTL workers give their heartbeats, to tell their age
	// (default 10 s, the worker's default).
	Heartbeat time.Duration
	// StreamWriteTimeout drops a live-update client that does not read
	// (default 10 s).
	StreamWriteTimeout time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Deps are what a Server reads through.
type Deps struct {
	Client *schema.Client
	Log    zerolog.Logger
}

// ErrConfig is wrapped by errors of New.
var ErrConfig = errors.New("web: bad configuration")

// Server is the dashboard's http.Handler.
type Server struct {
	cfg     Config
	sc      *schema.Client
	cl      *client.Client
	log     zerolog.Logger
	mux     *http.ServeMux
	auth    *auth
	handler http.Handler
	hub     *hub
	stored  *storeCache
	pages   *pages
	ctx     context.Context
	stop    context.CancelFunc
}

// New builds the handler. Close stops its live-update watchers.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Client == nil {
		return nil, fmt.Errorf("%w: no Redis client", ErrConfig)
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	if cfg.AutoscaleTarget <= 0 {
		cfg.AutoscaleTarget = 10 * time.Minute
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 10 * time.Second
	}
	if cfg.StreamWriteTimeout <= 0 {
		cfg.StreamWriteTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := deps.Log.With().Str("component", "web").Logger()
	cl := client.New(deps.Client, io.Discard, log)
	cl.Now = cfg.Now
	if cfg.ResultsDir != "" {
		dir := cfg.ResultsDir
		cl.Store = func(id string) (*model.Snapshot, error) { return store.Read(dir, id) }
	}
	pg, err := newPages()
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, sc: deps.Client, cl: cl, log: log, mux: http.NewServeMux(),
		auth: newAuth(cfg.Tokens, log), stored: &storeCache{dir: cfg.ResultsDir}, pages: pg, ctx: ctx, stop: stop}
	s.auth.loginPage = s.loginPage
	s.hub = newHub(s)
	s.routes()
	// A page of another site must not post a cancel through the browser
	// of someone logged in here, or on a dashboard without tokens.
	s.handler = http.NewCrossOriginProtection().Handler(s.auth.wrap(s.mux))
	return s, nil
}

// Close stops the live-update watchers; open streams end.
func (s *Server) Close() { s.stop() }

// ServeHTTP serves every route, behind the cross-origin and token checks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	m.HandleFunc("GET /{$}", s.pageTasksets)
	m.HandleFunc("GET /tasksets/{id}", s.pageTaskset)
	m.HandleFunc("POST /tasksets/{id}/cancel", s.pageCancel)
	m.HandleFunc("GET /specs", s.pageSpec)
	m.HandleFunc("GET /workers", s.pageWorkers)
	m.HandleFunc("GET /login", s.pageLogin)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("GET /assets/{name}", s.asset)

	m.HandleFunc("GET /api/v1/tasksets", s.apiTasksets)
	m.HandleFunc("GET /api/v1/tasksets/{id}", s.apiTaskset)
	m.HandleFunc("GET /api/v1/tasksets/{id}/events", s.apiEvents)
	m.HandleFunc("POST /api/v1/tasksets/{id}/cancel", s.apiCancel)
	m.HandleFunc("GET /api/v1/specs", s.apiSpec)
	m.HandleFunc("GET /api/v1/workers", s.apiWorkers)
	m.Handle("GET /metrics", s.metricsHandler())
}

// errBadID is the answer to an id that cannot name a taskset.
var errBadID = errors.New("invalid taskset id: want the id part of a taskset key (name-yyyymmdd-hhmmss-xxxx), without '/', ':' or a leading '.'")

// tasksetKey checks an id from a URL and returns its key.
func (s *Server) tasksetKey(id string) (string, error) {
	if id == "" || len(id) > 200 || !utf8.ValidString(id) || strings.HasPrefix(id, ".") ||
		strings.ContainsAny(id, "/\\:\x00") {
		return "", errBadID
	}
	return s.sc.Keys.Taskset(id), nil
}

// redisDown tells a failure to reach Redis from an answer of it.
func redisDown(err error) bool {
	return err != nil && !errors.Is(err, model.ErrNotFound) && !errors.Is(err, model.ErrMalformed) &&
		!errors.Is(err, client.ErrNotFound) && !errors.Is(err, redis.Nil) && !errors.Is(err, context.Canceled)
}

// loaded is a taskset as a page or the API shows it.
type loaded struct {
	Snap *model.Snapshot
	// Source is "redis" or "results store".
	Source string
	// RedisErr is set when Redis could not be read and the store answered.
	RedisErr error
	// Now is the Redis clock (or ours when Redis is down).
	Now time.Time
}

// load reads a taskset from Redis, else from the results store (expired
// from Redis, or Redis down).
func (s *Server) load(ctx context.Context, id string, opt model.LoadOptions) (*loaded, error) {
	key, err := s.tasksetKey(id)
	if err != nil {
		return nil, err
	}
	now := s.redisNow(ctx)
	snap, err := s.cl.Reader.Load(ctx, key, opt)
	if err == nil {
		return &loaded{Snap: snap, Source: "redis", Now: now}, nil
	}
	var redisErr error
	if redisDown(err) {
		redisErr = err
	} else if !errors.Is(err, model.ErrNotFound) {
		return nil, err
	}
	if s.cfg.ResultsDir == "" {
		if redisErr != nil {
			return nil, redisErr
		}
		return nil, fmt.Errorf("%w: %s is not in Redis (namespace %q), and no --results-dir is given to look in the results store",
			client.ErrNotFound, key, s.sc.Keys.Namespace())
	}
	snap, serr := store.Read(s.cfg.ResultsDir, id)
	switch {
	case serr == nil:
		client.Trim(snap, opt)
		return &loaded{Snap: snap, Source: "results store", RedisErr: redisErr, Now: s.cfg.Now()}, nil
	case redisErr != nil:
		return nil, redisErr
	case errors.Is(serr, store.ErrNotFound):
		return nil, fmt.Errorf("%w: %s is neither in Redis (namespace %q) nor in the results store %s",
			client.ErrNotFound, key, s.sc.Keys.Namespace(), s.cfg.ResultsDir)
	}
	return nil, serr
}

// redisNow is the Redis clock, which trial times are on; ours when Redis
// does not answer.
func (s *Server) redisNow(ctx context.Context) time.Time {
	if t, err := s.sc.Now(ctx); err == nil {
		return t
	}
	return s.cfg.Now()
}

// status is the HTTP status of an error of load and friends.
func status(err error) int {
	switch {
	case errors.Is(err, errBadID), errors.Is(err, errBadQuery):
		return http.StatusBadRequest
	case errors.Is(err, client.ErrNotFound), errors.Is(err, model.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case redisDown(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errBadQuery wraps a malformed query parameter.
var errBadQuery = errors.New("bad query")

// writeJSON writes v as the answer.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiError is the body of every API error.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, status(err), apiError{Error: err.Error()})
}
