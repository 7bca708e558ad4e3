package main

import (
	"context"
	"errors"
	"os"

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
			Usage: "Redis URL: redis://[user:password@]host:port/db, rediss:// for TLS"},
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
	l, err := logx.New(c.App.ErrWriter, c.String("log-level"), c.String("log-format"))
	if err != nil {
		return l, usagef("%v", err)
	}
	// go-redis prints failed dials itself, once per attempt: through the
	// process log, rate-limited, instead.
	redis.SetLogger(loopx.RedisLogger(l))
	return l, nil
}

// connect opens Redis from the global flags; an unreachable Redis exits
// with exitInfra and says what to do, a malformed URL is a usage error.
func connect(ctx context.Context, c *cli.Context) (*redis.Client, *schema.Client, error) {
	return connectTo(ctx, c, c.String("redis"))
}

// connectTo is connect to the Redis at url.
func connectTo(ctx context.Context, c *cli.Context, url string) (*redis.Client, *schema.Client, error) {
	rdb, err := redisx.Open(ctx, url)
	if errors.Is(err, redisx.ErrBadURL) {
		return nil, nil, usagef("--redis (or RRR_REDIS): %v", err)
	}
	if err != nil {
		return nil, nil, exitf(exitInfra, "%v", err)
	}
	sc := schema.NewClient(rdb, c.String("namespace"))
	// Parts of different releases meet here first: one that would misread
	// the fleet's keys refuses before it writes any.
	if _, err := sc.CheckProtocol(ctx); err != nil {
		_ = rdb.Close()
		return nil, nil, exitf(exitInfra, "%v", err)
	}
	return rdb, sc, nil
}

// hostname is the default worker id.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}
