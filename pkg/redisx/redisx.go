// Package redisx opens the Redis connection every part of rrr uses, from a
// URL, and says clearly what to do when Redis cannot be reached.
package redisx

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rrr-dev/rrr/schema"
)

// DefaultURL is where rrr looks for Redis when no URL is given.
const DefaultURL = "redis://127.0.0.1:6379/0"

// ErrUnreachable wraps every failure to reach Redis at start.
var ErrUnreachable = errors.New("redis unreachable")

// ErrBadURL wraps a Redis URL that cannot be used: the person's input is
// wrong (a usage error), not the system.
var ErrBadURL = errors.New("bad redis URL")

// Options parses a redis:// or rediss:// (TLS) URL, with user, password and
// database, into client options.
func Options(rawURL string) (*redis.Options, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		return nil, fmt.Errorf("%w %q: want redis://[user:password@]host:port/db, rediss:// for TLS, or unix:///path (escape %% in a password as %%25)",
			ErrBadURL, Redact(rawURL))
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		// go-redis's message may quote the URL, password and all.
		return nil, fmt.Errorf("%w %q: %s", ErrBadURL, Redact(rawURL), Redact(err.Error()))
	}
	// Blocking pops of the protocol wait about a second; the read timeout
	// must leave room for that on top of a slow network.
	opt.ReadTimeout = 5 * time.Second
	opt.WriteTimeout = 5 * time.Second
	opt.DialTimeout = 3 * time.Second
	return opt, nil
}

// Open connects to the Redis at rawURL and checks that it answers.
func Open(ctx context.Context, rawURL string) (*redis.Client, error) {
	opt, err := Options(rawURL)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("%w at %s: %w (is redis-server running there? set --redis or RRR_REDIS)",
			ErrUnreachable, Redact(rawURL), err)
	}
	return rdb, nil
}

// Redact hides the password of a URL for messages and logs. A URL that
// does not parse is redacted too: whatever stands between "://" and the
// last "@" of its authority may be a password.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err == nil && u.User == nil {
		return rawURL
	}
	if err == nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	return redactText(rawURL)
}

// redactText replaces the user information of every "scheme://user:pw@"
// in s by "xxxxx" (up to the last "@" before a space or quote: a broken
// password may hold a "/"); it works on text that is not a valid URL, such as an
// error message that quotes one.
func redactText(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, " \t\n\"'")
		if end < 0 {
			end = len(s)
		}
		if at := strings.LastIndex(s[:end], "@"); at >= 0 {
			b.WriteString("xxxxx")
			s = s[at:]
		}
	}
}

// PipelineChunk bounds the commands of one pipeline, so that a taskset of
// 100,000 tasks is read in steps that do not block Redis for long.
const PipelineChunk = 1000

// Pipelined runs n commands, added by add, in pipelines of at most
// PipelineChunk. A missing key (Nil) and a command Redis refused because
// its key holds another type (WRONGTYPE: a corrupt key, not an outage) are
// not errors here: they stay on their command, for the caller to read as
// empty or to name the key. Any other failure is returned.
func Pipelined(ctx context.Context, rdb redis.UniversalClient, n int, add func(p redis.Pipeliner, i int)) error {
	for start := 0; start < n; start += PipelineChunk {
		end := min(start+PipelineChunk, n)
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := start; i < end; i++ {
				add(p, i)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) && !schema.IsWrongType(err) {
			return err
		}
	}
	return nil
}
