package worker

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// EnvRedisFD names the file descriptor from which a slave reads the Redis
// URL. The URL may carry a password, and a process's environment is open
// to its children (a trial reads /proc/$PPID/environ): so the worker writes
// the URL into a pipe the slave inherits, the slave reads it once and
// closes it, and no environment of a slave or trial ever holds it.
const EnvRedisFD = "RRR_REDIS_FD"

// slaveRedisFD is the descriptor of the pipe in a slave: the first of
// exec.Cmd.ExtraFiles.
const slaveRedisFD = 3

// redisPipe returns the read end of a pipe that holds url and is closed
// for writing. A URL is far below the pipe buffer, so the write does not
// wait for a reader.
func redisPipe(url string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe for the slave's redis URL: %w", err)
	}
	_, err = io.WriteString(w, url+"\n") // a line, for `read` in a custom slave
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("pipe for the slave's redis URL: %w", err)
	}
	return r, nil
}

// SlaveRedisURL is the Redis URL the worker handed this slave: read from
// the descriptor EnvRedisFD names, which is closed after (so that no trial
// inherits it), else RRR_REDIS for a slave started by hand. ok is false
// when neither is set.
func SlaveRedisURL(getenv func(string) string) (url string, ok bool, err error) {
	s := getenv(EnvRedisFD)
	if s == "" {
		url = getenv(EnvRedis)
		return url, url != "", nil
	}
	fd, err := strconv.Atoi(s)
	if err != nil || fd < 3 {
		return "", false, fmt.Errorf("%w: %s=%q: want a file descriptor number above 2", ErrConfig, EnvRedisFD, s)
	}
	f := os.NewFile(uintptr(fd), "redis-url")
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", false, fmt.Errorf("%w: read the redis URL from descriptor %d (%s): %w", ErrConfig, fd, EnvRedisFD, err)
	}
	return strings.TrimSpace(string(b)), true, nil
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
