// Package redistest starts real redis-server processes for tests, on a
// free port in a temporary directory, and runs a test against both
// miniredis and a real Redis: miniredis differs from Redis in Lua and TTL
// details, so the protocol must pass on both.
package redistest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by a test.
type Server struct {
	Addr string
	// Certs are the TLS files of a server started with Options.TLS.
	Certs    *Certs
	dir      string
	args     []string
	cmd      *exec.Cmd
	done     chan struct{}
	password string // of the default user
}

// Options of a server.
type Options struct {
	AppendOnly bool   // persist with an append-only file, to survive restarts
	Port       int    // 0: a free port
	Binary     string // "" : $RRR_REDIS_SERVER, else redis-server on PATH
	// TLS serves TLS only, with certificates that openssl makes in the
	// server's directory (Server.Certs); ClientCerts also wants a client
	// certificate signed by the same CA (mutual TLS).
	TLS, ClientCerts bool
	// Certs are the TLS files to use; nil: new ones.
	Certs *Certs
	// Password is the default user's (requirepass); Users are more ACL
	// users, each a rule line as in redis.conf after "user"
	// ("rrr on >pw ~ns:* &ns:* +get").
	Password string
	Users    []string
	// ReplicaOf makes the server a replica of the one at this address.
	ReplicaOf string
}

// Binary finds redis-server, or returns "" when there is none.
func Binary() string {
	if b := os.Getenv("RRR_REDIS_SERVER"); b != "" {
		return b
	}
	b, err := exec.LookPath("redis-server")
	if err != nil {
		return ""
	}
	return b
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start runs a redis-server in a new temporary directory and waits until it
// answers.
func Start(opts Options) (*Server, error) {
	bin := opts.Binary
	if bin == "" {
		bin = Binary()
	}
	if bin == "" {
		return nil, fmt.Errorf("redis-server not found: install it (apt-get install -y redis-server) or set RRR_REDIS_SERVER")
	}
	dir, err := os.MkdirTemp("", "rrr-redis-")
	if err != nil {
		return nil, err
	}
	certs := opts.Certs
	if opts.TLS && certs == nil {
		if certs, err = MakeCerts(filepath.Join(dir, "tls")); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir, password: opts.Password}
		s.args = []string{bin, "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
			"--logfile", filepath.Join(dir, "redis.log"),
			// a replica syncs at once, not 5 s after it connects
			"--repl-diskless-sync-delay", "0"}
		if opts.TLS {
			s.Certs = certs
			auth := "no"
			if opts.ClientCerts {
				auth = "yes"
			}
			s.args = append(s.args, "--port", "0", "--tls-port", strconv.Itoa(port),
				"--tls-cert-file", s.Certs.ServerCert, "--tls-key-file", s.Certs.ServerKey,
				"--tls-ca-cert-file", s.Certs.CA, "--tls-auth-clients", auth, "--tls-replication", "yes")
		} else {
			s.args = append(s.args, "--port", strconv.Itoa(port))
		}
		if opts.AppendOnly {
			s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always")
		}
		if opts.Password != "" {
			s.args = append(s.args, "--requirepass", opts.Password)
		}
		for _, u := range opts.Users {
			s.args = append(append(s.args, "--user"), strings.Fields(u)...)
		}
		if opts.ReplicaOf != "" {
			host, port, _ := net.SplitHostPort(opts.ReplicaOf)
			s.args = append(s.args, "--replicaof", host, port)
		}
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
		if opts.Port != 0 {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

func (s *Server) start() error {
	cmd := exec.Command(s.args[0], s.args[1:]...)
	// The server must not outlive the test binary, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	opt := s.options()
	opt.MaxRetries = -1
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server on %s exited at start: %s", s.Addr, strings.TrimSpace(string(log)))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("redis-server on %s did not answer within 10s", s.Addr)
}

// URL is the redis:// (rediss:// with TLS) URL of the server's database
// 0, without a password.
func (s *Server) URL() string {
	if s.Certs != nil {
		return "rediss://" + s.Addr + "/0"
	}
	return "redis://" + s.Addr + "/0"
}

// URLAs is URL with a user and password.
func (s *Server) URLAs(user, password string) string {
	scheme, rest, _ := strings.Cut(s.URL(), "://")
	return scheme + "://" + url.UserPassword(user, password).String() + "@" + rest
}

// Client returns a new client of the server, as its default user.
func (s *Server) Client() *redis.Client { return redis.NewClient(s.options()) }

func (s *Server) options() *redis.Options {
	opt := &redis.Options{Addr: s.Addr, Password: s.password}
	if s.Certs != nil {
		opt.TLSConfig = s.Certs.ClientTLS()
	}
	return opt
}

// Dir is the server's directory (its log is redis.log there).
func (s *Server) Dir() string { return s.dir }

func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Pid is the process id of the running redis-server (0 when it is not running).
func (s *Server) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill stops the server at once (SIGKILL), keeping its directory, so that
// Restart can bring it back with its append-only file.
func (s *Server) Kill() { s.kill() }

// Restart starts the server again on the same port and directory.
func (s *Server) Restart() error {
	s.kill()
	return s.start()
}

// Stop kills the server and removes its directory.
func (s *Server) Stop() {
	s.kill()
	_ = os.RemoveAll(s.dir)
}

// Required reports whether a missing redis-server fails tests instead of
// skipping them: in CI, and wherever RRR_REQUIRE_REDIS=1.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("RRR_REQUIRE_REDIS") == "1"
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
	nsCounter  struct {
		sync.Mutex
		n int
	}
)

// Main runs a test package's tests, with one real redis-server shared by
// them, and stops it afterwards. Call it from TestMain with its *testing.M
// (or anything that runs the tests and returns the exit code, to clean up
// more after them).
//
// It first clears the RRR_* variables that rrr's commands read (all but the
// harness's own, RRR_REDIS_SERVER, RRR_REQUIRE_REDIS and RRR_TEST_*): run by
// rrr itself (`rrr local` on this repository), the tests are inside a trial
// whose environment names a taskset, a worker and a Redis, which the rrr
// processes the tests start would otherwise take for their own.
func Main(m interface{ Run() int }) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "RRR_") && k != "RRR_REDIS_SERVER" && k != "RRR_REQUIRE_REDIS" &&
			!strings.HasPrefix(k, "RRR_TEST_") {
			_ = os.Unsetenv(k)
		}
	}
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// Shared returns the package's real redis-server, starting it on first use;
// it skips the test (or fails it, see Required) when there is none.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start(Options{}) })
	if sharedErr != nil {
		if Required() {
			t.Fatalf("real Redis: %v", sharedErr)
		}
		t.Skipf("real Redis: %v", sharedErr)
	}
	return shared
}

// Namespace returns a key namespace no other test of this process uses, so
// that tests can share one real Redis in parallel.
func Namespace(t testing.TB) string {
	nsCounter.Lock()
	defer nsCounter.Unlock()
	nsCounter.n++
	name := strings.NewReplacer("/", "_", " ", "_", ":", "_").Replace(t.Name())
	return fmt.Sprintf("t%d_%s", nsCounter.n, name)
}

// Backend is one Redis a test runs on.
type Backend struct {
	Name string
	RDB  *redis.Client
	NS   string
	// Mini is the miniredis, when Name is "miniredis", for clock control.
	Mini *miniredis.Miniredis
	// URL reaches the same Redis, for code that dials by itself.
	URL string
}

// Each runs f as parallel subtests on a fresh miniredis and on the shared
// real Redis (with a namespace of its own).
func Each(t *testing.T, f func(t *testing.T, b Backend)) {
	t.Helper()
	t.Run("miniredis", func(t *testing.T) {
		t.Parallel()
		f(t, Mini(t))
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		f(t, Real(t))
	})
}

// Mini returns a backend on a new miniredis that the test owns.
func Mini(t testing.TB) Backend {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return Backend{Name: "miniredis", RDB: rdb, NS: Namespace(t), Mini: m, URL: "redis://" + m.Addr() + "/0"}
}

// Real returns a backend on the shared real Redis with a fresh namespace.
func Real(t testing.TB) Backend {
	s := Shared(t)
	rdb := s.Client()
	t.Cleanup(func() { _ = rdb.Close() })
	return Backend{Name: "redis", RDB: rdb, NS: Namespace(t), URL: s.URL()}
}

// HGet reads a hash field in a test: "" when the field or hash is missing.
func HGet(t testing.TB, rdb redis.UniversalClient, key, field string) string {
	t.Helper()
	v, err := rdb.HGet(context.Background(), key, field).Result()
	if err == redis.Nil {
		return ""
	}
	if err != nil {
		t.Fatalf("HGET %s %s: %v", key, field, err)
	}
	return v
}

// List reads a whole list in a test.
func List(t testing.TB, rdb redis.UniversalClient, key string) []string {
	t.Helper()
	v, err := rdb.LRange(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatalf("LRANGE %s: %v", key, err)
	}
	return v
}

// Own starts a redis-server of the test's own (one it restarts, or must
// not share), and stops it when the test ends. It skips the test (or fails
// it, see Required) when there is none.
func Own(t testing.TB, opts Options) *Server {
	t.Helper()
	srv, err := Start(opts)
	if err != nil {
		if Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}
