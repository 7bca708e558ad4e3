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
			&cli.IntFlag{Name: "breaker", Value: 0, EnvVars: []string{"RRR_BREAKER"},
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

// workerCmdConfig is the configuration of `rrr worker`.
type workerCmdConfig struct {
	partConfig
	ID                string        `flag:"id"`
	WorkerType        string        `flag:"worker-type"`
	Slaves            int           `flag:"slaves" min:"1"`
	WorkingDir        string        `flag:"working-dir"`
	RsyncRemotePath   string        `flag:"rsync-remote-path"`
	RsyncOptions      string        `flag:"rsync-options"`
	SetupTimeout      time.Duration `flag:"setup-timeout" min:"1ns"`
	MaxSlaveCrashes   int           `flag:"max-slave-crashes" min:"0"` // 0: the first crash fails the taskset
	Breaker           int           `flag:"breaker" min:"0"`           // 0: off
	StopGrace         time.Duration `flag:"stop-grace" min:"1ns"`
	HeartbeatTTL      time.Duration `flag:"heartbeat-ttl" min:"1ns"`
	HeartbeatInterval time.Duration `flag:"heartbeat-interval" min:"1ns"`
	KeepLogs          time.Duration `flag:"keep-logs"` // 0 keeps them all
	Host              string        `flag:"host"`
}

// workerConfig is the worker's configuration from the command line.
func workerConfig(c *cli.Context) (workerCmdConfig, worker.Config, error) {
	var f workerCmdConfig
	if err := loadFlags(c, &f); err != nil {
		return f, worker.Config{}, err
	}
	g := globals(c)
	cfg := worker.Config{
		ID: f.ID, WorkerType: f.WorkerType, Slaves: f.Slaves, Host: f.Host,
		WorkingDir: f.WorkingDir, RsyncRemotePath: f.RsyncRemotePath, RsyncOptions: f.RsyncOptions,
		SetupTimeout: f.SetupTimeout, StopGrace: f.StopGrace, HeartbeatTTL: f.HeartbeatTTL, HeartbeatInterval: f.HeartbeatInterval,
		// 0 means none and for good here, rather than the default.
		MaxSlaveCrashes: f.MaxSlaveCrashes, FailOnFirstSlaveCrash: f.MaxSlaveCrashes == 0,
		KeepLogs: f.KeepLogs, KeepAllLogs: f.KeepLogs == 0,
		Breaker:  f.Breaker,
		RedisURL: g.Redis, RedisTLS: redisConfig(c).TLS, Namespace: g.Namespace,
		SlaveEnv: []string{"RRR_LOG_LEVEL=" + g.LogLevel, "RRR_LOG_FORMAT=" + g.LogFormat},
	}
	return f, cfg, nil
}

func workerAction(c *cli.Context) error {
	if _, err := positional(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	log, err := logger(c)
	if err != nil {
		return err
	}
	flags, cfg, err := workerConfig(c)
	if err != nil {
		return err
	}
	// Bad values are usage errors, found before dialing Redis.
	if err := cfg.WithDefaults().Validate(); err != nil {
		return usagef("%v", err)
	}

	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	rdb, cl, err := connectWaiting(ctx, c, flags.RedisWait, log)
	if err != nil {
		return err
	}
	defer rdb.Close()
	log.Info().Str("version", version.Get().String()).Str("redis", redisx.Redact(cfg.RedisURL)).Msg("rrr worker starting")
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
