package main

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/schema"
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "redis", Value: redisx.DefaultURL, EnvVars: []string{"RRR_REDIS"},
			Usage: "Redis URL: redis://[user:password@]host:port/db, rediss:// for TLS, " +
				"redis+sentinel://[user:password@]host:port[,host:port...]/MASTER[/db] for Sentinel (rediss+sentinel:// with TLS)"},
		&cli.StringFlag{Name: "redis-ca", EnvVars: []string{"RRR_REDIS_CA"}, TakesFile: true,
			Usage: "PEM `FILE` of the CAs that sign the Redis server's TLS certificate (instead of the system's)"},
		&cli.StringFlag{Name: "redis-cert", EnvVars: []string{"RRR_REDIS_CERT"}, TakesFile: true,
			Usage: "PEM `FILE` of a client certificate for mutual TLS (with --redis-key)"},
		&cli.StringFlag{Name: "redis-key", EnvVars: []string{"RRR_REDIS_KEY"}, TakesFile: true,
			Usage: "PEM `FILE` of the private key of --redis-cert"},
		&cli.StringFlag{Name: "namespace", Value: schema.DefaultNamespace, EnvVars: []string{"RRR_NAMESPACE"},
			Usage: "prefix of every Redis key"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"RRR_LOG_LEVEL"},
			Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "console", EnvVars: []string{"RRR_LOG_FORMAT"},
			Usage: "console (for people) or json (for log collectors)"},
	}
}

// logger builds the process logger from the global flags, on stderr.
func logger(c *cli.Context) (zerolog.Logger, error) {
	g := globals(c)
	l, err := logx.New(c.App.ErrWriter, g.LogLevel, g.LogFormat)
	if err != nil {
		return l, usagef("%v", err)
	}
	// go-redis prints failed dials itself, once per attempt: through the
	// process log, rate-limited, instead.
	redis.SetLogger(loopx.RedisLogger(l))
	return l, nil
}

// redisConfig is the Redis connection of the global flags.
func redisConfig(c *cli.Context) redisx.Config {
	g := globals(c)
	return redisx.Config{URL: g.Redis, TLS: redisx.TLSFiles{CA: g.RedisCA, Cert: g.RedisCert, Key: g.RedisKey}}
}

// connect opens Redis from the global flags; an unreachable Redis exits
// with exitInfra and says what to do, a malformed URL is a usage error.
func connect(ctx context.Context, c *cli.Context) (*redis.Client, *schema.Client, error) {
	return connectTo(ctx, c, redisConfig(c))
}

// redisWaitFlag is the flag of the long-lived parts (server, loops,
// worker): how long to wait for Redis at start.
func redisWaitFlag() cli.Flag {
	return &cli.StringFlag{Name: "redis-wait", Value: "30s", EnvVars: []string{"RRR_REDIS_WAIT"},
		Usage: "at start, keep trying an unreachable Redis this long before exiting 4 (a part restarted while Redis restarts or is paused comes up with it); 0: exit at once"}
}

// connectWaiting is connect for a long-lived part: an unreachable Redis
// is tried again, with a warning, for --redis-wait; a bad URL, bad TLS
// files or another protocol version fail at once. wait is the part's
// --redis-wait (partConfig).
func connectWaiting(ctx context.Context, c *cli.Context, wait time.Duration, log zerolog.Logger) (*redis.Client, *schema.Client, error) {
	cfg := redisConfig(c)
	deadline := time.Now().Add(wait)
	delay := 250 * time.Millisecond
	for {
		rdb, err := redisx.OpenConfig(ctx, cfg)
		if err == nil {
			return checkProtocol(ctx, c, rdb)
		}
		if !errors.Is(err, redisx.ErrUnreachable) || !time.Now().Add(delay).Before(deadline) {
			return nil, nil, redisErr(err)
		}
		log.Warn().Err(err).Msgf("waiting for redis (for up to %s in all: --redis-wait)", wait)
		select {
		case <-ctx.Done():
			return nil, nil, redisErr(err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// connectTo is connect to the Redis of cfg.
func connectTo(ctx context.Context, c *cli.Context, cfg redisx.Config) (*redis.Client, *schema.Client, error) {
	rdb, err := redisx.OpenConfig(ctx, cfg)
	if err != nil {
		return nil, nil, redisErr(err)
	}
	return checkProtocol(ctx, c, rdb)
}

// checkProtocol makes the schema client of rdb: parts of different
// releases meet here first, and one that would misread the fleet's keys
// refuses before it writes any.
func checkProtocol(ctx context.Context, c *cli.Context, rdb *redis.Client) (*redis.Client, *schema.Client, error) {
	sc := schema.NewClient(rdb, c.String("namespace"))
	if _, err := sc.CheckProtocol(ctx); err != nil {
		_ = rdb.Close()
		return nil, nil, exitf(exitInfra, "%v", err)
	}
	return rdb, sc, nil
}

// redisErr is the exit of a failure to open Redis: a bad URL or TLS file
// is a usage error, anything else an infrastructure error.
func redisErr(err error) error {
	switch {
	case errors.Is(err, redisx.ErrBadURL):
		return usagef("--redis (or RRR_REDIS): %v", err)
	case errors.Is(err, redisx.ErrBadTLS):
		return usagef("%v", err)
	}
	return exitf(exitInfra, "%v", err)
}
