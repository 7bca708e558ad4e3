package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/pkg/web"
	"github.com/rrr-dev/rrr/schema"
)

// dashboardFlags are the dashboard's token and metrics flags, shared by
// `web`, `server` and `local` (with --web-listen).
func dashboardFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "api-token-file", EnvVars: envName("api-token-file"),
			Usage: "web: `FILE` of \"name token\" lines; every route but /healthz then needs \"Authorization: Bearer <token>\""},
		&cli.BoolFlag{Name: "insecure-listen", EnvVars: envName("insecure-listen"),
			Usage: "web: serve without tokens on a non-loopback address (anyone who reaches it can cancel tasksets)"},
		&cli.StringFlag{Name: "autoscale-target", Value: "10m", EnvVars: envName("autoscale-target"),
			Usage: "web: the time the work left should take; rrr_desired_workers is the fleet that does it in that time",
			// checked when given, so that local and server refuse it too
			// without --web-listen
			Action: func(_ *cli.Context, v string) error { _, err := autoscaleTarget(v); return err }},
	}
}

// dashboardConfig is the configuration of dashboardFlags.
type dashboardConfig struct {
	APITokenFile    string        `flag:"api-token-file"`
	InsecureListen  bool          `flag:"insecure-listen"`
	AutoscaleTarget time.Duration `flag:"autoscale-target" min:"1ns"`
}

// webConfig is the configuration of `rrr web`.
type webConfig struct {
	Listen     string `flag:"listen"`
	ResultsDir string `flag:"results-dir"`
	dashboardConfig
}

// serverWebConfig is the configuration of serverWebFlags.
type serverWebConfig struct {
	WebListen string `flag:"web-listen"`
	WebURL    string `flag:"web-url"`
	dashboardConfig
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
		}, dashboardFlags()...),
		Action: func(c *cli.Context) error {
			if _, err := positional(c, 0, 0, "no arguments"); err != nil {
				return err
			}
			log, err := logger(c)
			if err != nil {
				return err
			}
			var cfg webConfig
			if err := loadFlags(c, &cfg); err != nil {
				return err
			}
			redis.SetLogger(loopx.RedisLogger(log))
			ctx, stop := stopOnSignals(log)
			defer stop()
			// No ping: the dashboard starts with Redis down and says so.
			rdb, err := redisx.NewClient(redisConfig(c))
			if err != nil {
				return redisErr(err)
			}
			defer rdb.Close()
			sc := schema.NewClient(rdb, c.String("namespace"))
			serve, _, err := startWeb(cfg.dashboardConfig, sc, log, cfg.Listen, cfg.ResultsDir)
			if err != nil {
				return err
			}
			return serve(ctx)
		},
	}
}

// autoscaleTarget reads --autoscale-target: a time, more than zero.
func autoscaleTarget(v string) (time.Duration, error) {
	target, err := parseDuration("autoscale-target", v)
	if err != nil {
		return 0, err
	}
	if target <= 0 {
		return 0, usagef("--autoscale-target %q: must be more than zero", v)
	}
	return target, nil
}

// startWeb checks the flags and listens on addr; serve runs the dashboard
// until ctx ends. Used by `rrr web` and the --web-listen of server and local.
func startWeb(cfg dashboardConfig, sc *schema.Client, log zerolog.Logger, addr, resultsDir string) (serve func(context.Context) error, base string, err error) {
	var tokens []web.Token
	if f := cfg.APITokenFile; f != "" {
		if tokens, err = web.ReadTokens(f); err != nil {
			return nil, "", usagef("--api-token-file: %v", err)
		}
	}
	if err := web.CheckListen(addr, tokens, cfg.InsecureListen); err != nil {
		return nil, "", usagef("%v", err)
	}
	h, err := web.New(web.Config{ResultsDir: resultsDir, Tokens: tokens, AutoscaleTarget: cfg.AutoscaleTarget}, web.Deps{Client: sc, Log: log})
	if err != nil {
		return nil, "", exitf(exitInfra, "%v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		h.Close()
		return nil, "", exitf(exitInfra, "web: listen on %s: %v (is another process serving there? set --listen)", addr, err)
	}
	base = "http://" + ln.Addr().String()
	log.Info().Str("component", "web").Str("url", base+"/").Int("tokens", len(tokens)).
		Str("results_dir", resultsDir).Msg("serving the dashboard")
	return func(ctx context.Context) error {
		defer h.Close()
		err := web.Serve(ctx, ln, h)
		if err != nil && !errors.Is(err, context.Canceled) {
			return exitf(exitInfra, "%v", err)
		}
		return nil
	}, base, nil
}

// webURLFlag is the dashboard's base URL for `start` and `waitfor`.
func webURLFlag() cli.Flag {
	return &cli.StringFlag{Name: "web-url", EnvVars: []string{"RRR_WEB_URL"},
		Usage: "base `URL` of the dashboard, to print the taskset's page (default: the web_url the fleet's `rrr server --web-url` published)"}
}

// serverWebFlags embed the dashboard in `rrr server`.
func serverWebFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "web-listen", EnvVars: []string{"RRR_WEB_LISTEN"},
			Usage: "web: also serve the dashboard on this `ADDR` (host:port), as `rrr web` does"},
		&cli.StringFlag{Name: "web-url", EnvVars: []string{"RRR_WEB_URL"},
			Usage: "web: publish this dashboard `URL` in $NS:rsync_info, for `rrr start` and `waitfor` to print the taskset's page"},
	}, dashboardFlags()...)
}

// webPage is the page of taskset key under base.
func webPage(base, key string) string {
	id := key
	if i := strings.LastIndex(key, ":taskset:"); i >= 0 {
		id = key[i+len(":taskset:"):]
	}
	return strings.TrimRight(base, "/") + "/tasksets/" + url.PathEscape(id)
}

// printWebURL tells the person where the taskset's page is, when the
// fleet has a dashboard (webURL, from --web-url, or web_url in
// $NS:rsync_info).
func printWebURL(ctx context.Context, c *cli.Context, webURL string, sc *schema.Client, key string) {
	base := webURL
	if base == "" {
		base, _ = sc.Field(ctx, sc.Keys.RsyncInfo(), schema.FWebURL)
	}
	if base != "" {
		fmt.Fprintf(c.App.ErrWriter, "rrr: taskset page: %s\n", webPage(base, key))
	}
}

// serverWeb is the dashboard of `rrr server --web-listen`, as a loop, and
// publishes --web-url.
func serverWeb(ctx context.Context, c *cli.Context, cfg serverConfig, sc *schema.Client, log zerolog.Logger) ([]loop, error) {
	if !hasFlag(c, "web-listen") {
		return nil, nil
	}
	if u := cfg.WebURL; u != "" {
		if err := sc.PublishRsyncInfo(ctx, schema.FWebURL, u); err != nil {
			return nil, exitf(exitInfra, "write the dashboard URL to %s: %v", sc.Keys.RsyncInfo(), err)
		}
	}
	addr := cfg.WebListen
	if addr == "" {
		return nil, nil
	}
	dir := cfg.ResultsDir
	if dir == "" {
		dir = defaultResultsDir
	}
	serve, _, err := startWeb(cfg.dashboardConfig, sc, log, addr, dir)
	if err != nil {
		return nil, err
	}
	return []loop{loopFunc(serve)}, nil
}

// loopFunc makes a loop of a func.
type loopFunc func(context.Context) error

func (f loopFunc) Run(ctx context.Context) error { return f(ctx) }

// localWebConfig is the configuration of localWebFlags.
type localWebConfig struct {
	WebListen string `flag:"web-listen"`
	dashboardConfig
}

// localWebFlags let `rrr local` serve the dashboard of its run.
func localWebFlags() []cli.Flag {
	return append([]cli.Flag{&cli.StringFlag{Name: "web-listen", EnvVars: []string{"RRR_WEB_LISTEN"},
		Usage: "serve the dashboard of the run on this `ADDR` (host:port) while it runs"}}, dashboardFlags()...)
}

// localWeb serves the dashboard of `rrr local --web-listen` until stop;
// base is "" without --web-listen.
func localWeb(c *cli.Context, cfg localWebConfig, sc *schema.Client, log zerolog.Logger, results string) (base string, stop func(), err error) {
	addr := cfg.WebListen
	if addr == "" {
		return "", func() {}, nil
	}
	serve, base, err := startWeb(cfg.dashboardConfig, sc, log, addr, results)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Context))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := serve(ctx); err != nil {
			log.Error().Err(err).Msg("the dashboard stopped")
		}
	}()
	return base, func() { cancel(); <-done }, nil
}
