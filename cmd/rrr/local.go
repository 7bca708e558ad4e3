package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/arbiter"
	"github.com/rrr-dev/rrr/dispatcher"
	"github.com/rrr-dev/rrr/persister"
	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/loopx"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
	"github.com/rrr-dev/rrr/worker"
)

// defaultLocalResults is where `rrr local` keeps finished tasksets, the
// estimates that order the next run, and full trial outputs.
func defaultLocalResults() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "rrr", "local")
	}
	return filepath.Join(os.TempDir(), "rrr-local")
}

func localCommand() *cli.Command {
	flags := append(tasksetFlags(),
		&cli.IntFlag{Name: "slaves", Value: runtime.NumCPU(), DefaultText: "the number of CPUs", EnvVars: envName("slaves"),
			Usage: "trials run at once (1 or more)"},
		&cli.StringFlag{Name: "results-dir", Value: defaultLocalResults(), DefaultText: "<user cache dir>/rrr/local",
			EnvVars: envName("results-dir"),
			Usage:   "finished tasksets (read them with `rrr show --results-dir DIR ID`), estimates, full outputs"},
	)
	flags = append(flags, waitFlags()...)
	flags = append(flags, localWebFlags()...)
	return &cli.Command{
		Name:      "local",
		Usage:     "run a suite on this machine alone: the whole system in one process, with an embedded Redis",
		ArgsUsage: "[SPEC...]",
		UsageText: "rrr local [options] [SPEC...]\n\n" +
			"   rrr local --trial-command 'go test -json {file}' --format go-test-json 'pkg/*/' schema/\n" +
			"   rrr local --slaves 4 --trial-command 'rspec --format json --out {report} {file}' 'spec/**/*_spec.rb'",
		Description: "Starts an embedded Redis, the dispatcher, arbiter and persister, and one worker with --slaves\n" +
			"slaves that run the project where it is (no rsync), then shards the specs over them as a fleet\n" +
			"would: longest first (estimates are kept in --results-dir between runs), failures retried up to\n" +
			"--max-trials, the slow tail duplicated on idle slaves. Progress, summary, --junit and exit codes\n" +
			"are those of `rrr start --wait`: 0 succeeded, 1 tests failed, 2 usage error, 3 cancelled,\n" +
			"4 infrastructure error. The global --redis is not used; rsync and worker-type flags are ignored.",
		Flags:  flags,
		Action: localAction,
	}
}

// localCmdConfig is the configuration of `rrr local`.
type localCmdConfig struct {
	tasksetFlagsConfig
	Slaves     int    `flag:"slaves" min:"1"`
	ResultsDir string `flag:"results-dir"`
	waitFlagsConfig
	localWebConfig
}

func localAction(c *cli.Context) error {
	var cfg localCmdConfig
	patterns, err := tasksetArgs(c, &cfg)
	if err != nil {
		return err
	}
	spec := cfg.spec()
	spec.WorkerType, spec.MaxWorkers = schema.DefaultWorkerType, 0
	spec.RsyncRemotePath, spec.RsyncOptions = "", ""
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return usagef("--dir %s: %v", cfg.Dir, err)
	}
	opt := client.StartOptions{Dir: dir, Patterns: patterns, Taskset: spec, NoUpload: true,
		Slaves: cfg.Slaves, BatchTarget: cfg.BatchTarget, PartitionTarget: cfg.PartitionTarget}
	if _, _, err := client.Prepare(opt); err != nil {
		return clientErr(err)
	}
	results, err := filepath.Abs(cfg.ResultsDir)
	if err != nil {
		return usagef("--results-dir %s: %v", cfg.ResultsDir, err)
	}
	log, err := logger(c)
	if err != nil {
		return err
	}
	// The parts log what a fleet operator wants to see; a person at a
	// terminal wants the progress line. They speak up at warnings, unless
	// asked for more.
	partsLog := log
	if !c.IsSet("log-level") {
		partsLog = log.Level(zerolog.WarnLevel)
	}
	redis.SetLogger(loopx.RedisLogger(partsLog))

	g := globals(c)
	l, err := startLocal(c.Context, localConfig{
		dir: dir, results: results, slaves: cfg.Slaves, namespace: g.Namespace,
		class: spec.TasksetClass, log: partsLog,
		slaveEnv: []string{"RRR_LOG_LEVEL=" + partsLog.GetLevel().String(), "RRR_LOG_FORMAT=" + g.LogFormat},
	})
	if err != nil {
		return exitf(exitInfra, "%v", err)
	}
	defer l.stop()
	webURL, stopWeb, err := localWeb(c, cfg.localWebConfig, l.sc, partsLog, results)
	if err != nil {
		return err
	}
	defer stopWeb()

	cl := client.New(l.sc, c.App.ErrWriter, log)
	cl.Store = func(id string) (*model.Snapshot, error) { return store.Read(results, id) }
	sigs, stopSigs := notifySignals()
	defer stopSigs()
	key, err := cl.Start(c.Context, opt)
	if err != nil {
		return clientErr(err)
	}
	if webURL != "" {
		fmt.Fprintf(c.App.ErrWriter, "rrr: watch it at %s\n", webPage(webURL, key))
	}
	verdict := waitAndReport(c.Context, c, cfg.waitFlagsConfig, cl, key, sigs)
	if err := l.keep(key); err != nil {
		fmt.Fprintln(c.App.ErrWriter, "rrr:", err)
	} else if id, ok := l.sc.Keys.TasksetID(key); ok {
		fmt.Fprintf(c.App.ErrWriter, "rrr: results in %s (rrr show --results-dir %s %s)\n",
			store.Path(results, id), results, id)
	}
	return verdict
}

// localConfig is the embedded fleet's (startLocal), not the command's
// (localCmdConfig).
type localConfig struct {
	dir, results, namespace, class string
	slaves                         int
	log                            zerolog.Logger
	slaveEnv                       []string
}

// local is the embedded fleet: a Redis, the three server loops and one
// worker, all stopped by stop.
type local struct {
	cfg    localConfig
	mini   *miniredis.Miniredis
	rdb    *redis.Client
	sc     *schema.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errs   chan error
}

func startLocal(parent context.Context, cfg localConfig) (*local, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start the embedded Redis: %w", err)
	}
	url := "redis://" + m.Addr() + "/0"
	rdb, err := redisx.Open(parent, url)
	if err != nil {
		m.Close()
		return nil, err
	}
	l := &local{cfg: cfg, mini: m, rdb: rdb, sc: schema.NewClient(rdb, cfg.namespace), errs: make(chan error, 4)}
	if err := l.loadEstimates(parent); err != nil {
		l.stop()
		return nil, err
	}

	d, err := dispatcher.New(dispatcher.Config{}, dispatcher.Deps{Client: l.sc, Log: cfg.log})
	if err != nil {
		l.stop()
		return nil, err
	}
	a, err := arbiter.New(arbiter.Config{SweepInterval: time.Second}, arbiter.Deps{Client: l.sc, Log: cfg.log})
	if err != nil {
		l.stop()
		return nil, err
	}
	p, err := persister.New(persister.Config{ResultsDir: cfg.results}, persister.Deps{Client: l.sc, Log: cfg.log})
	if err != nil {
		l.stop()
		return nil, err
	}
	w, err := worker.New(worker.Config{
		ID: "local", Slaves: cfg.slaves, InPlaceDir: cfg.dir, WorkingDir: filepath.Join(cfg.results, ".work"),
		RedisURL: url, Namespace: cfg.namespace, SlaveEnv: cfg.slaveEnv,
	}, worker.Deps{Client: l.sc, Logger: cfg.log})
	if err != nil {
		l.stop()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	l.cancel = cancel
	for name, part := range map[string]interface{ Run(context.Context) error }{
		"dispatcher": d, "arbiter": a, "persister": p, "worker": w, "clock": miniClock{m},
	} {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if err := part.Run(ctx); err != nil {
				cfg.log.Error().Err(err).Str("component", name).Msg("stopped with an error")
				l.errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	return l, nil
}

// clockTick is how often the embedded Redis's TTLs move on.
const clockTick = 250 * time.Millisecond

// miniClock makes the embedded Redis's TTLs run with the clock: heartbeats
// must expire as time passes, as they do on a real Redis. miniredis's own
// ClockTTL moves every key's TTL on every command, and sorts all keys to
// do it: with a taskset of thousands of specs the embedded Redis spent its
// time on that, and commands timed out (3,000 no-op specs never finished).
// A tick every clockTick costs one pass; a heartbeat lives seconds.
type miniClock struct{ m *miniredis.Miniredis }

func (c miniClock) Run(ctx context.Context) error {
	t := time.NewTicker(clockTick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			c.m.FastForward(now.Sub(last))
			last = now
		}
	}
}

// loadEstimates gives the embedded Redis what earlier runs of this project
// learnt, so that this run, too, queues the longest specs first.
func (l *local) loadEstimates(ctx context.Context) error {
	est, cases, err := store.LoadEstimates(l.cfg.results, l.cfg.dir, l.cfg.class)
	if err != nil {
		return err
	}
	return l.sc.LoadEstimateTables(ctx, l.cfg.class, est, cases)
}

// persistWait bounds the wait for the persister after the verdict.
const persistWait = 30 * time.Second

// keep waits until the persister has stored the finished taskset, then
// saves the estimates it updated for the next run.
func (l *local) keep(key string) error {
	ctx := context.Background()
	deadline := time.Now().Add(persistWait)
	for {
		at, err := l.sc.Field(ctx, key, schema.FPersistedAt)
		if err != nil {
			return fmt.Errorf("wait for the results store: %w", err)
		}
		if at != "" {
			break
		}
		select {
		case err := <-l.errs:
			return fmt.Errorf("results not stored: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("results not stored within %s; the estimates of this run are lost", persistWait)
		}
		time.Sleep(20 * time.Millisecond) // shutdown path, not the run's critical path
	}
	est, cases, err := l.sc.EstimateTables(ctx, l.cfg.class)
	if err != nil {
		return err
	}
	return store.SaveEstimates(l.cfg.results, l.cfg.dir, l.cfg.class, est, cases)
}

// stopWait bounds the orderly stop of the parts; what is left dies with
// the process (slaves and trials are in process groups that the worker
// kills, and they die with it on Linux).
const stopWait = 20 * time.Second

func (l *local) stop() {
	if l.cancel != nil {
		l.cancel()
		done := make(chan struct{})
		go func() { l.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(stopWait):
			l.cfg.log.Warn().Msg("the embedded fleet did not stop in time; exiting anyway")
		}
	}
	_ = l.rdb.Close()
	l.mini.Close()
}
