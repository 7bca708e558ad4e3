// Package redisx opens the Redis connection every part of rrr uses, from a
// URL, and says clearly what to do when Redis cannot be reached.
package redisx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is where rrr looks for Redis when no URL is given.
const DefaultURL = "redis://127.0.0.1:6379/0"

// ErrUnreachable wraps every failure to reach Redis at start.
var ErrUnreachable = errors.New("redis unreachable")

// ErrBadURL wraps a Redis URL that cannot be used: the person's input is
// wrong (a usage error), not the system.
var ErrBadURL = errors.New("bad redis URL")

// Options parses a redis:// or rediss:// (TLS) URL, with user, password and
// database, into client options. A Sentinel URL (redis+sentinel://) is not
// one server: use NewClient for it.
func Options(rawURL string) (*redis.Options, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	if isSentinel(rawURL) {
		return nil, fmt.Errorf("%w %q: a Sentinel URL names no single server here", ErrBadURL, Redact(rawURL))
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		return nil, fmt.Errorf("%w %q: want redis://[user:password@]host:port/db, rediss:// for TLS, "+
			"redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[/db], or unix:///path (escape %% in a password as %%25)",
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
	// No CLIENT SETINFO on connecting: a user restricted to ACLCommands
	// may not run it.
	opt.DisableIdentity = true
	return opt, nil
}

// Open connects to the Redis at rawURL and checks that it answers.
func Open(ctx context.Context, rawURL string) (*redis.Client, error) {
	return OpenConfig(ctx, Config{URL: rawURL})
}

// OpenConfig connects to the Redis cfg names and checks that it answers.
// A TLS certificate that does not verify, or a server that wants a client
// certificate, is said so, with the flag that fixes it.
func OpenConfig(ctx context.Context, cfg Config) (*redis.Client, error) {
	rdb, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		h := hint(err)
		if isSentinel(cfg.URL) && strings.HasPrefix(h, "is redis-server") {
			h = "are the sentinels running there, do they monitor that master name, and is its primary up? set --redis or RRR_REDIS"
		}
		return nil, fmt.Errorf("%w at %s: %w (%s)", ErrUnreachable, Redact(cfg.URL), err, h)
	}
	return rdb, nil
}

// hint says what to do about a failed first ping.
func hint(err error) string {
	var verr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	switch {
	case errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) ||
		strings.Contains(err.Error(), "failed to verify certificate"):
		return "the server's TLS certificate does not verify: give the CA that signed it with --redis-ca FILE " +
			"(or RRR_REDIS_CA), and reach the server by a name or address its certificate holds"
	case strings.Contains(err.Error(), "certificate required") || strings.Contains(err.Error(), "bad certificate") ||
		strings.Contains(err.Error(), "unknown certificate authority"):
		return "the server refused the client certificate, or wants one: give it with --redis-cert FILE and " +
			"--redis-key FILE (or RRR_REDIS_CERT, RRR_REDIS_KEY), signed by a CA the server trusts"
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return "the server does not speak TLS there: use redis:// instead of rediss://"
	case strings.Contains(err.Error(), "WRONGPASS") || strings.Contains(err.Error(), "NOAUTH"):
		return "the user or password of the URL is not accepted: set them in --redis or RRR_REDIS"
	case strings.Contains(err.Error(), "NOPERM"):
		return "the Redis user lacks a permission rrr needs: see the ACL line in README.md"
	}
	return "is redis-server running there? set --redis or RRR_REDIS"
}

// Config is how to reach Redis: the URL, and the files of TLS.
type Config struct {
	URL string
	TLS TLSFiles
}

// TLSFiles are PEM files for a rediss:// URL: CA (the CAs that sign the
// server's certificate, instead of the system's), Cert and Key (a client
// certificate for mutual TLS). Empty fields are not used.
type TLSFiles struct {
	CA, Cert, Key string
}

// Empty reports whether no file is set.
func (f TLSFiles) Empty() bool { return f == TLSFiles{} }

// Absolute returns the files with absolute paths, for a process that runs
// in another directory (a slave in its working copy).
func (f TLSFiles) Absolute() (TLSFiles, error) {
	for _, p := range []*string{&f.CA, &f.Cert, &f.Key} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return f, fmt.Errorf("%w: %s: %w", ErrBadTLS, *p, err)
		}
		*p = abs
	}
	return f, nil
}

// ErrBadTLS wraps TLS files that cannot be used (a usage error).
var ErrBadTLS = errors.New("bad redis TLS settings")

// apply adds the files to a TLS configuration; tc is nil for a URL
// without TLS, which then takes no files.
func (f TLSFiles) apply(tc *tls.Config) error {
	if f.Empty() {
		return nil
	}
	if tc == nil {
		return fmt.Errorf("%w: --redis-ca, --redis-cert and --redis-key need a rediss:// (TLS) URL", ErrBadTLS)
	}
	if f.CA != "" {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			return fmt.Errorf("%w: --redis-ca: %w", ErrBadTLS, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%w: --redis-ca %s: no PEM certificate in it", ErrBadTLS, f.CA)
		}
		tc.RootCAs = pool
	}
	if (f.Cert == "") != (f.Key == "") {
		return fmt.Errorf("%w: --redis-cert and --redis-key go together: give both or neither", ErrBadTLS)
	}
	if f.Cert != "" {
		pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return fmt.Errorf("%w: --redis-cert %s, --redis-key %s: %w", ErrBadTLS, f.Cert, f.Key, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return nil
}

// NewClient makes the client cfg names without dialing: a client of one
// server, or, for a Sentinel URL, go-redis's failover client, which asks
// the sentinels for the primary and follows it when they fail over.
func NewClient(cfg Config) (*redis.Client, error) {
	if isSentinel(cfg.URL) {
		fo, err := FailoverOptions(cfg.URL)
		if err != nil {
			return nil, err
		}
		if err := cfg.TLS.apply(fo.TLSConfig); err != nil {
			return nil, err
		}
		return redis.NewFailoverClient(fo), nil
	}
	opt, err := Options(cfg.URL)
	if err != nil {
		return nil, err
	}
	if err := cfg.TLS.apply(opt.TLSConfig); err != nil {
		return nil, err
	}
	return redis.NewClient(opt), nil
}

// Sentinel URL schemes: the primary is found through Redis Sentinel;
// rediss+sentinel:// speaks TLS to the sentinels and the servers.
const (
	SchemeSentinel    = "redis+sentinel"
	SchemeSentinelTLS = "rediss+sentinel"
)

// DefaultSentinelPort is the port of a sentinel address without one.
const DefaultSentinelPort = "26379"

func isSentinel(rawURL string) bool {
	return strings.HasPrefix(rawURL, SchemeSentinel+"://") || strings.HasPrefix(rawURL, SchemeSentinelTLS+"://")
}

// FailoverOptions parses a Sentinel URL:
//
//	redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[/db][?db=N]
//
// The hosts are sentinels (port 26379 when left out), MASTER the name they
// monitor; user and password are those of the Redis servers (the
// sentinels are reached without). go-redis's own URL form puts the
// password in a query parameter, where it is easily logged: hence ours.
func FailoverOptions(rawURL string) (*redis.FailoverOptions, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s: want %s://[user:password@]host:port[,host:port...]/MASTER[/db]",
			ErrBadURL, Redact(rawURL), why, SchemeSentinel)
	}
	scheme, rest, _ := strings.Cut(rawURL, "://")
	authority, path := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	path, query, _ := strings.Cut(path, "?")
	fo := &redis.FailoverOptions{
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, DialTimeout: 3 * time.Second,
		DisableIdentity: true,
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		u, err := url.Parse("redis://" + authority[:at+1] + "h")
		if err != nil || u.User == nil {
			return nil, bad("the user and password do not parse (escape % in a password as %25, / as %2F)")
		}
		fo.Username = u.User.Username()
		fo.Password, _ = u.User.Password()
		authority = authority[at+1:]
	}
	for _, h := range strings.Split(authority, ",") {
		if h == "" {
			return nil, bad("a sentinel address is empty")
		}
		if !strings.Contains(h, ":") {
			h = net.JoinHostPort(h, DefaultSentinelPort)
		}
		if host, port, err := net.SplitHostPort(h); err != nil || host == "" || port == "" {
			return nil, bad(fmt.Sprintf("sentinel address %q is not host:port", h))
		}
		fo.SentinelAddrs = append(fo.SentinelAddrs, h)
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if parts[0] == "" || len(parts) > 2 {
		return nil, bad("the path names the master the sentinels monitor, and optionally a database")
	}
	fo.MasterName = parts[0]
	db := ""
	if len(parts) == 2 {
		db = parts[1]
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, bad("the query does not parse")
	}
	for k, v := range q {
		if k != "db" {
			return nil, bad(fmt.Sprintf("unknown parameter %q (only db)", k))
		}
		db = v[len(v)-1]
	}
	if db != "" {
		if fo.DB, err = strconv.Atoi(db); err != nil || fo.DB < 0 {
			return nil, bad(fmt.Sprintf("database %q is not a number", db))
		}
	}
	if scheme == SchemeSentinelTLS {
		// No ServerName: each server is checked against the address it is
		// reached at, which the sentinels tell and which changes on failover.
		fo.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return fo, nil
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
