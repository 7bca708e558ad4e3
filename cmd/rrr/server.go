package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/arbiter"
	"github.com/rrr-dev/rrr/dispatcher"
	"github.com/rrr-dev/rrr/persister"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/pkg/version"
	"github.com/rrr-dev/rrr/schema"
)

// defaultResultsDir is where the persister writes when --results-dir is unset.
const defaultResultsDir = "rrr-results"

// Which server loops a command runs.
const (
	loopDispatcher = 1 << iota
	loopArbiter
	loopPersister
)

func dispatcherFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "interval", Aliases: []string{"dispatch-interval"}, Value: "2s", EnvVars: []string{"RRR_DISPATCH_INTERVAL"},
			Usage: "dispatcher: time between rounds when nothing wakes it (a safety net; tokens wake it at once)"},
	}
}

func arbiterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "sweep-interval", Value: "5s", EnvVars: []string{"RRR_SWEEP_INTERVAL"},
			Usage: "arbiter: how often every active taskset is checked for lost work"},
		&cli.StringFlag{Name: "watch-interval", Value: "500ms", EnvVars: []string{"RRR_WATCH_INTERVAL"},
			Usage: "arbiter: how often the heartbeats of working slaves are looked at (a lost slave's work moves on one heartbeat TTL after it died)"},
	}
}

func persisterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "results-dir", EnvVars: []string{"RRR_RESULTS_DIR"},
			Usage: "persister: the results store, one folder per finished taskset (default ./" + defaultResultsDir + ")"},
		&cli.StringFlag{Name: "keep", Value: "24h", EnvVars: []string{"RRR_KEEP"},
			Usage: "persister: how long a persisted taskset stays in Redis before its keys expire"},
	}
}

func consumerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "consumer-id", EnvVars: []string{"RRR_CONSUMER_ID"},
			Usage: "arbiter, persister: this process's id on the reliable queues (default host-pid-random; must differ between processes)"},
	}
}

func rsyncInfoFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "rsync-remote-path", EnvVars: []string{"RRR_RSYNC_REMOTE_PATH"},
			Usage: "fleet default written to $NS:rsync_info: where clients upload code and workers fetch it (host:path)"},
		&cli.StringFlag{Name: "rsync-options", EnvVars: []string{"RRR_RSYNC_OPTIONS"},
			Usage: "fleet default written to $NS:rsync_info: extra rsync arguments"},
	}
}

func serverCommand() *cli.Command {
	var flags []cli.Flag
	for _, f := range [][]cli.Flag{persisterFlags(), dispatcherFlags(), arbiterFlags(), consumerFlags(), rsyncInfoFlags(), serverWebFlags(), {redisWaitFlag()}} {
		flags = append(flags, f...)
	}
	return &cli.Command{
		Name:  "server",
		Usage: "run the dispatcher, arbiter and persister in one process",
		Description: "Run it once per Redis (several copies are harmless). It assigns tasksets to workers, settles\n" +
			"results, recovers the work of dead slaves and workers, and stores finished tasksets in --results-dir.\n" +
			"SIGINT or SIGTERM stops it cleanly; a second signal forces it.",
		Flags:  flags,
		Action: func(c *cli.Context) error { return runLoops(c, "server", loopDispatcher|loopArbiter|loopPersister) },
	}
}

func dispatcherCommand() *cli.Command {
	return &cli.Command{
		Name:   "dispatcher",
		Usage:  "run the dispatcher loop alone (assigns tasksets to idle workers)",
		Flags:  append(dispatcherFlags(), redisWaitFlag()),
		Action: func(c *cli.Context) error { return runLoops(c, "dispatcher", loopDispatcher) },
	}
}

func arbiterCommand() *cli.Command {
	return &cli.Command{
		Name:   "arbiter",
		Usage:  "run the arbiter loop alone (settles results, recovers lost work, finishes tasksets)",
		Flags:  append(append(arbiterFlags(), consumerFlags()...), redisWaitFlag()),
		Action: func(c *cli.Context) error { return runLoops(c, "arbiter", loopArbiter) },
	}
}

func persisterCommand() *cli.Command {
	return &cli.Command{
		Name:   "persister",
		Usage:  "run the persister loop alone (stores finished tasksets, updates estimates, expires keys)",
		Flags:  append(append(persisterFlags(), consumerFlags()...), redisWaitFlag()),
		Action: func(c *cli.Context) error { return runLoops(c, "persister", loopPersister) },
	}
}

// partConfig is the flag of every long-lived part.
type partConfig struct {
	RedisWait time.Duration `flag:"redis-wait"`
}

type dispatcherFlagsConfig struct {
	Interval time.Duration `flag:"interval" min:"1ns"`
}

type arbiterFlagsConfig struct {
	SweepInterval time.Duration `flag:"sweep-interval" min:"1ns"`
	WatchInterval time.Duration `flag:"watch-interval" min:"1ns"`
}

type persisterFlagsConfig struct {
	ResultsDir string        `flag:"results-dir"` // "" means defaultResultsDir, with a warning
	Keep       time.Duration `flag:"keep" min:"1ns"`
}

type consumerFlagsConfig struct {
	ConsumerID string `flag:"consumer-id"`
}

type rsyncInfoConfig struct {
	RsyncRemotePath string `flag:"rsync-remote-path"`
	RsyncOptions    string `flag:"rsync-options"`
}

// serverConfig is the configuration of `rrr server`, and of the loop
// commands, which have a part of its flags (the rest stay zero).
type serverConfig struct {
	partConfig
	dispatcherFlagsConfig
	arbiterFlagsConfig
	persisterFlagsConfig
	consumerFlagsConfig
	rsyncInfoConfig
	serverWebConfig
}

type dispatcherCmdConfig struct {
	partConfig
	dispatcherFlagsConfig
}

type arbiterCmdConfig struct {
	partConfig
	arbiterFlagsConfig
	consumerFlagsConfig
}

type persisterCmdConfig struct {
	partConfig
	persisterFlagsConfig
	consumerFlagsConfig
}

// loopsConfig reads the flags of the loop command name into the server's
// configuration.
func loopsConfig(c *cli.Context, name string) (serverConfig, error) {
	var cfg serverConfig
	var err error
	switch name {
	case "dispatcher":
		var d dispatcherCmdConfig
		err = loadFlags(c, &d)
		cfg.partConfig, cfg.dispatcherFlagsConfig = d.partConfig, d.dispatcherFlagsConfig
	case "arbiter":
		var a arbiterCmdConfig
		err = loadFlags(c, &a)
		cfg.partConfig, cfg.arbiterFlagsConfig, cfg.consumerFlagsConfig = a.partConfig, a.arbiterFlagsConfig, a.consumerFlagsConfig
	case "persister":
		var p persisterCmdConfig
		err = loadFlags(c, &p)
		cfg.partConfig, cfg.persisterFlagsConfig, cfg.consumerFlagsConfig = p.partConfig, p.persisterFlagsConfig, p.consumerFlagsConfig
	default:
		err = loadFlags(c, &cfg)
	}
	return cfg, err
}

// loop is a server loop: New'd and ready to Run.
type loop interface{ Run(context.Context) error }

// runLoops runs the loops of which until SIGINT or SIGTERM.
func runLoops(c *cli.Context, name string, which int) error {
	if _, err := positional(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	log, err := logger(c)
	if err != nil {
		return err
	}
	cfg, err := loopsConfig(c, name)
	if err != nil {
		return err
	}

	ctx, stop := stopOnSignals(log)
	defer stop()
	rdb, sc, err := connectWaiting(ctx, c, cfg.RedisWait, log)
	if err != nil {
		return err
	}
	defer rdb.Close()
	log.Info().Str("command", name).Str("redis", redisx.Redact(c.String("redis"))).Str("namespace", sc.Keys.Namespace()).
		Int("pid", os.Getpid()).Str("version", version.Get().String()).Msg("rrr " + name + " starting")

	if err := writeRsyncInfo(ctx, c, cfg.rsyncInfoConfig, sc, log); err != nil {
		return err
	}
	loops, err := buildLoops(cfg, which, sc, log)
	if err != nil {
		return err
	}
	web, err := serverWeb(ctx, c, cfg, sc, log)
	if err != nil {
		return err
	}
	loops = append(loops, web...)
	return runAll(ctx, loops)
}

func hasFlag(c *cli.Context, name string) bool {
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func buildLoops(cfg serverConfig, which int, sc *schema.Client, log zerolog.Logger) ([]loop, error) {
	var loops []loop
	if which&loopDispatcher != 0 {
		l, err := dispatcher.New(dispatcher.Config{Interval: cfg.Interval}, dispatcher.Deps{Client: sc, Log: log})
		if err != nil {
			return nil, usagef("%v", err)
		}
		loops = append(loops, l)
	}
	if which&loopArbiter != 0 {
		l, err := arbiter.New(arbiter.Config{ConsumerID: cfg.ConsumerID, SweepInterval: cfg.SweepInterval,
			WatchInterval: cfg.WatchInterval},
			arbiter.Deps{Client: sc, Log: log})
		if err != nil {
			return nil, usagef("%v", err)
		}
		loops = append(loops, l)
	}
	if which&loopPersister != 0 {
		dir := cfg.ResultsDir
		if dir == "" {
			dir = defaultResultsDir
			abs, _ := filepath.Abs(dir)
			log.Warn().Str("results_dir", abs).
				Msg("no --results-dir given: storing finished tasksets in ./" + defaultResultsDir + " (set --results-dir or RRR_RESULTS_DIR to keep them elsewhere)")
		}
		l, err := persister.New(persister.Config{ResultsDir: dir, Keep: cfg.Keep, ConsumerID: cfg.ConsumerID},
			persister.Deps{Client: sc, Log: log})
		if err != nil {
			return nil, exitf(exitInfra, "%v", err)
		}
		loops = append(loops, l)
	}
	return loops, nil
}

// writeRsyncInfo publishes the fleet's rsync defaults, when given, for
// clients and workers whose own flags are unset ($NS:rsync_info in docs/protocol.md).
func writeRsyncInfo(ctx context.Context, c *cli.Context, cfg rsyncInfoConfig, sc *schema.Client, log zerolog.Logger) error {
	if !hasFlag(c, "rsync-remote-path") {
		return nil
	}
	var pairs []string
	if v := cfg.RsyncRemotePath; v != "" {
		pairs = append(pairs, schema.FRsyncRemotePath, v)
	}
	if v := cfg.RsyncOptions; v != "" {
		pairs = append(pairs, schema.FRsyncOptions, v)
	}
	if len(pairs) == 0 {
		return nil
	}
	err := sc.PublishRsyncInfo(ctx, pairs...)
	if err = sc.NameWrongType(ctx, err, sc.Keys.Globals()...); errors.Is(err, schema.ErrWrongType) {
		// The loops do not need it; clients and workers without their own
		// --rsync-remote-path do, and say so.
		log.Warn().Err(err).Str("key", sc.Keys.RsyncInfo()).Msg("cannot publish the fleet's rsync defaults; going on without them")
		return nil
	}
	if err != nil {
		return exitf(exitInfra, "write rsync defaults to %s: %v", sc.Keys.RsyncInfo(), err)
	}
	log.Info().Str("key", sc.Keys.RsyncInfo()).Str("rsync_remote_path", cfg.RsyncRemotePath).
		Str("rsync_options", cfg.RsyncOptions).Msg("published the fleet's rsync defaults")
	return nil
}

// runAll runs the loops until ctx is cancelled; when one fails, the others
// are stopped and its error returned.
func runAll(ctx context.Context, loops []loop) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Run(ctx); err != nil {
				once.Do(func() { first = err })
				cancel()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return exitf(exitInfra, "%v", first)
	}
	return nil
}

// stopOnSignals returns a context cancelled by the first SIGINT or SIGTERM,
// so that the loops finish the work in hand and stop; a second signal
// exits at once. stop releases the signals.
func stopOnSignals(log zerolog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := onSignals(func(s os.Signal) {
		log.Info().Str("signal", s.String()).Msg("stopping: finishing the work in hand (send the signal again to force)")
		cancel()
	}, func(s os.Signal) {
		log.Warn().Str("signal", s.String()).Msg("forced to stop: work in hand is redone by another process")
		os.Exit(exitInfra)
	})
	return ctx, func() {
		stop()
		cancel()
	}
}
