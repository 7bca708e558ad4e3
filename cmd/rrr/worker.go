package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/host"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/pkg/version"
	"github.com/rrr-dev/rrr/schema"
	"github.com/rrr-dev/rrr/worker"
)

// defaultWorkingDir is where a worker keeps working copies and outputs
// unless told otherwise.
func defaultWorkingDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "rrr", "worker")
	}
	return filepath.Join(os.TempDir(), "rrr-worker")
}

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "run the worker service of a build box: fetch tasksets, run their setup, fork slaves",
		UsageText: "rrr worker [options]\n\n" +
			"   rrr --redis redis://rrr.example:6379/0 worker --slaves 8 --working-dir /var/lib/rrr\n" +
			"   rrr worker --id box1-a --working-dir /srv/rrr/a --rsync-remote-path rrr@files:/srv/rrr/upload",
		Description: "Registers as a worker (--id, default the host name) and waits for tasksets. For each, it rsyncs\n" +
			"<remote path>/<rsync name>/ into <working-dir>/copies/<rsync name>, runs the setup command there\n" +
			"(NUM_SLAVES set) and forks --slaves slaves that run the trials. SIGTERM or SIGINT stops it\n" +
			"cleanly (running trials are handed back); a second signal kills its slaves at once.",
		Flags: []cli.Flag{
			redisWaitFlag(),
			&cli.StringFlag{Name: "id", Value: host.Name(), DefaultText: "the host name", EnvVars: []string{"RRR_ID"},
				Usage: "worker id, unique in the fleet; give several workers on one host different ids and working dirs"},
			&cli.StringFlag{Name: "worker-type", Value: schema.DefaultWorkerType, EnvVars: []string{"RRR_WORKER_TYPE"},
				Usage: "takes only tasksets of this type"},
			&cli.IntFlag{Name: "slaves", Value: runtime.NumCPU(), DefaultText: "the number of CPUs", EnvVars: []string{"RRR_SLAVES"},
				Usage: "slaves per taskset (1 or more)"},
			&cli.StringFlag{Name: "working-dir", Value: defaultWorkingDir(), DefaultText: "<user cache dir>/rrr/worker", EnvVars: []string{"RRR_WORKING_DIR"},
				Usage: "working copies (<dir>/copies/<rsync name>) and full trial outputs (<dir>/logs/<taskset id>)"},
			&cli.StringFlag{Name: "rsync-remote-path", EnvVars: []string{"RRR_RSYNC_REMOTE_PATH"},
				Usage: "where to fetch code from (local path, host:path, rsync://...); default: the taskset's, else the one rrr server announces"},
			&cli.StringFlag{Name: "rsync-options", EnvVars: []string{"RRR_RSYNC_OPTIONS"},
				Usage: "more rsync arguments for fetching, e.g. \"-z --exclude 'log/'\""},
			&cli.StringFlag{Name: "setup-timeout", Value: "30m", EnvVars: []string{"RRR_SETUP_TIMEOUT"},
				Usage: "time limit of the setup command"},
			&cli.IntFlag{Name: "max-slave-crashes", Value: worker.DefaultMaxSlaveCrashes, EnvVars: []string{"RRR_MAX_SLAVE_CRASHES"},
				Usage: "crashes of one slave slot within a taskset before the taskset is failed (0: the first crash fails it)"},
			&cli.IntFlag{Name: "breaker", Value: worker.DefaultBreaker, EnvVars: []string{"RRR_BREAKER"},
				Usage: "circuit breaker: after this many trials in a row fail or error in under a tenth of their estimates (1s without one) on this worker, it leaves the taskset and is marked unhealthy (0: off)"},
			&cli.StringFlag{Name: "stop-grace", Value: "10s", EnvVars: []string{"RRR_STOP_GRACE"},
				Usage: "time slaves get between SIGTERM and SIGKILL when they are stopped"},
			&cli.StringFlag{Name: "heartbeat-ttl", Value: "4s", EnvVars: []string{"RRR_HEARTBEAT_TTL"},
				Usage: "the worker and its slaves count as dead this long after their last heartbeat"},
			&cli.StringFlag{Name: "heartbeat-interval", Value: "1s", EnvVars: []string{"RRR_HEARTBEAT_INTERVAL"},
				Usage: "how often heartbeats are refreshed"},
			&cli.StringFlag{Name: "keep-logs", Value: "72h", EnvVars: []string{"RRR_KEEP_LOGS"},
				Usage: "full outputs of tasksets older than this are removed from the working dir (0 keeps them all)"},
			&cli.StringFlag{Name: "host", Value: host.Name(), DefaultText: "the host name", EnvVars: []string{"RRR_HOST"},
				Usage: "host name written in output paths (host:path)"},
		},
		Action: workerAction,
	}
}

func workerAction(c *cli.Context) error {
	if _, err := positional(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	log, err := logger(c)
	if err != nil {
		return err
	}
	cfg := worker.Config{
		ID: c.String("id"), WorkerType: c.String("worker-type"), Slaves: c.Int("slaves"), Host: c.String("host"),
		WorkingDir: c.String("working-dir"), RsyncRemotePath: c.String("rsync-remote-path"),
		RsyncOptions: c.String("rsync-options"), MaxSlaveCrashes: c.Int("max-slave-crashes"),
		RedisURL: c.String("redis"), RedisTLS: redisConfig(c).TLS, Namespace: c.String("namespace"),
		SlaveEnv: []string{"RRR_LOG_LEVEL=" + c.String("log-level"), "RRR_LOG_FORMAT=" + c.String("log-format")},
	}
	// Zero means nothing for these; it is refused, not taken as the default.
	for flag, dst := range map[string]*time.Duration{
		"setup-timeout":      &cfg.SetupTimeout,
		"stop-grace":         &cfg.StopGrace,
		"heartbeat-ttl":      &cfg.HeartbeatTTL,
		"heartbeat-interval": &cfg.HeartbeatInterval,
	} {
		if *dst, err = durationAtLeast(c, flag, time.Nanosecond); err != nil {
			return err
		}
	}
	if cfg.KeepLogs, err = parseDuration("keep-logs", c.String("keep-logs")); err != nil {
		return err
	}
	if cfg.Slaves, err = intAtLeast(c, "slaves", 1); err != nil {
		return err
	}
	if cfg.MaxSlaveCrashes, err = intAtLeast(c, "max-slave-crashes", 0); err != nil {
		return err
	}
	if cfg.Breaker, err = intAtLeast(c, "breaker", 0); err != nil {
		return err
	}
	if cfg.Breaker == 0 {
		cfg.Breaker = -1 // off, rather than the default
	}
	if cfg.MaxSlaveCrashes == 0 {
		cfg.MaxSlaveCrashes = -1 // none allowed, rather than the default
	}
	if cfg.KeepLogs == 0 {
		cfg.KeepLogs = -1 // "0" keeps everything rather than meaning the default
	}

	// Bad values are usage errors, found before dialing Redis.
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}

	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	rdb, cl, err := connectWaiting(ctx, c, log)
	if err != nil {
		return err
	}
	defer rdb.Close()
	log.Info().Str("version", version.Get().String()).Str("redis", redisx.Redact(c.String("redis"))).Msg("rrr worker starting")
	w, err := worker.New(cfg, worker.Deps{Client: cl, Logger: log})
	if err != nil {
		return exitf(exitInfra, "%v", err)
	}

	// The first signal stops the worker in order; a second one kills its
	// slaves without waiting.
	stop := onSignals(func(os.Signal) {
		log.Info().Msg("stopping: slaves finish, running trials are handed back; signal again to kill them now")
		cancel()
	}, func(os.Signal) { w.Force() })
	defer stop()
	if err := w.Run(ctx); err != nil {
		return exitf(exitInfra, "%v", err)
	}
	return nil
}
