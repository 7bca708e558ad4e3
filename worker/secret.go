package worker

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rrr-dev/rrr/pkg/redisx"
)

// EnvRedisFD names the file descriptor from which a slave reads the Redis
// URL. The URL may carry a password, and a process's environment is open
// to its children (a trial reads /proc/$PPID/environ): so the worker writes
// the URL into a pipe the slave inherits, the slave reads it once and
// closes it, and no environment of a slave or trial ever holds it.
const EnvRedisFD = "RRR_REDIS_FD"

// The TLS files of the Redis connection, for a slave started by hand (the
// worker hands them over the pipe with the URL, and keeps them out of the
// slave's environment).
const (
	EnvRedisCA   = "RRR_REDIS_CA"
	EnvRedisCert = "RRR_REDIS_CERT"
	EnvRedisKey  = "RRR_REDIS_KEY"
)

// slaveRedisFD is the descriptor of the pipe in a slave: the first of
// exec.Cmd.ExtraFiles.
const slaveRedisFD = 3

// redisPipe returns the read end of a pipe that holds the connection:
// the URL on the first line (for `read` in a custom slave), then a line
// "ca=FILE", "cert=FILE", "key=FILE" for each TLS file set. The pipe is
// closed for writing; this is far below the pipe buffer, so the write
// does not wait for a reader.
func redisPipe(cfg redisx.Config) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe for the slave's redis URL: %w", err)
	}
	text := cfg.URL + "\n"
	for _, f := range []struct{ name, path string }{{"ca", cfg.TLS.CA}, {"cert", cfg.TLS.Cert}, {"key", cfg.TLS.Key}} {
		if f.path != "" {
			text += f.name + "=" + f.path + "\n"
		}
	}
	_, err = io.WriteString(w, text)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("pipe for the slave's redis URL: %w", err)
	}
	return r, nil
}

// SlaveRedis is the Redis connection the worker handed this slave: read
// from the descriptor EnvRedisFD names, which is closed after (so that no
// trial inherits it), else RRR_REDIS (and RRR_REDIS_CA, RRR_REDIS_CERT,
// RRR_REDIS_KEY) for a slave started by hand. ok is false when neither
// gives a URL.
func SlaveRedis(getenv func(string) string) (cfg redisx.Config, ok bool, err error) {
	s := getenv(EnvRedisFD)
	if s == "" {
		cfg = redisx.Config{URL: getenv(EnvRedis),
			TLS: redisx.TLSFiles{CA: getenv(EnvRedisCA), Cert: getenv(EnvRedisCert), Key: getenv(EnvRedisKey)}}
		return cfg, cfg.URL != "", nil
	}
	fd, err := strconv.Atoi(s)
	if err != nil || fd < 3 {
		return cfg, false, fmt.Errorf("%w: %s=%q: want a file descriptor number above 2", ErrConfig, EnvRedisFD, s)
	}
	f := os.NewFile(uintptr(fd), "redis-url")
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return cfg, false, fmt.Errorf("%w: read the redis URL from descriptor %d (%s): %w", ErrConfig, fd, EnvRedisFD, err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	cfg.URL = strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		name, path, _ := strings.Cut(strings.TrimSpace(l), "=")
		switch name {
		case "ca":
			cfg.TLS.CA = path
		case "cert":
			cfg.TLS.Cert = path
		case "key":
			cfg.TLS.Key = path
		default:
			return cfg, false, fmt.Errorf("%w: descriptor %d (%s): unknown line %q after the URL", ErrConfig, fd, EnvRedisFD, name)
		}
	}
	return cfg, true, nil
}

// SlaveRedisURL is the URL of SlaveRedis.
func SlaveRedisURL(getenv func(string) string) (url string, ok bool, err error) {
	cfg, ok, err := SlaveRedis(getenv)
	return cfg.URL, ok, err
}

// withoutEnv returns env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
