package main

import (
	"context"
	"errors"
	"net"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/pkg/web"
	"github.com/rrr-dev/rrr/schema"
)

// webAuthFlags are the dashboard's token flags, shared by `web`, `server`
// and `local` (with --web-listen).
func webAuthFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "api-token-file", EnvVars: envName("api-token-file"),
			Usage: "web: `FILE` of \"name token\" lines; every route but /healthz then needs \"Authorization: Bearer <token>\""},
		&cli.BoolFlag{Name: "insecure-listen", EnvVars: envName("insecure-listen"),
			Usage: "web: serve without tokens on a non-loopback address (anyone who reaches it can cancel tasksets)"},
	}
}

func webCommand() *cli.Command {
	return &cli.Command{
		Name:  "web",
		Usage: "serve the dashboard: pages, a JSON API under /api/v1/ and /metrics",
		Description: "It only reads Redis and the results store (--results-dir); its one write is cancel. With\n" +
			"--api-token-file every route but /healthz needs a token; without one it listens only on a loopback\n" +
			"address unless --insecure-listen is given. Redis may be down at start: the pages say so and recover.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", EnvVars: envName("listen"), Usage: "address to serve on (host:port)"},
			resultsDirFlag(),
		}, webAuthFlags()...),
		Action: func(c *cli.Context) error {
			if _, err := positional(c, 0, 0, "no arguments"); err != nil {
				return err
			}
			log, err := logger(c)
			if err != nil {
				return err
			}
			redis.SetLogger(loopx.RedisLogger(log))
			ctx, stop := stopOnSignals(log)
			defer stop()
			// No ping: the dashboard starts with Redis down and says so.
			opt, err := redisx.Options(c.String("redis"))
			if err != nil {
				return usagef("%v", err)
			}
			rdb := redis.NewClient(opt)
			defer rdb.Close()
			sc := schema.NewClient(rdb, c.String("namespace"))
			serve, err := startWeb(c, sc, log, c.String("listen"), c.String("results-dir"))
			if err != nil {
				return err
			}
			return serve(ctx)
		},
	}
}

// startWeb checks the flags and listens on addr; serve runs the dashboard
// until ctx ends. Used by `rrr web` and the --web-listen of server and local.
func startWeb(c *cli.Context, sc *schema.Client, log zerolog.Logger, addr, resultsDir string) (func(context.Context) error, error) {
	var tokens []web.Token
	if f := c.String("api-token-file"); f != "" {
		var err error
		if tokens, err = web.ReadTokens(f); err != nil {
			return nil, usagef("--api-token-file: %v", err)
		}
	}
	if err := web.CheckListen(addr, tokens, c.Bool("insecure-listen")); err != nil {
		return nil, usagef("%v", err)
	}
	h, err := web.New(web.Config{ResultsDir: resultsDir, Tokens: tokens}, web.Deps{Client: sc, Log: log})
	if err != nil {
		return nil, exitf(exitInfra, "%v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		h.Close()
		return nil, exitf(exitInfra, "web: listen on %s: %v (is another process serving there? set --listen)", addr, err)
	}
	log.Info().Str("component", "web").Str("url", "http://"+ln.Addr().String()+"/").Int("tokens", len(tokens)).
		Str("results_dir", resultsDir).Msg("serving the dashboard")
	return func(ctx context.Context) error {
		defer h.Close()
		err := web.Serve(ctx, ln, h)
		if err != nil && !errors.Is(err, context.Canceled) {
			return exitf(exitInfra, "%v", err)
		}
		return nil
	}, nil
}
