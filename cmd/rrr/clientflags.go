package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/config"
	"github.com/rrr-dev/rrr/pkg/junit"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

// envName is the environment variable of a flag: RRR_ and the name in
// upper case with "_" for "-".
func envName(flag string) []string {
	return []string{"RRR_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))}
}

// tasksetFlags are the flags of `start` and `local` that describe a taskset.
func tasksetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "trial-command", EnvVars: envName("trial-command"),
			Usage: "command run once per spec file, split into words (no shell); {file} is the spec as ./<path>, {report} a path for its report; {files} instead of {file} runs several short spec files at once (docs/batches.md); {cases} instead of {file} lets a long spec file run in partitions of its cases (docs/partitions.md)"},
		&cli.StringFlag{Name: "runner", EnvVars: envName("runner"),
			Usage: "a persistent runner instead of --trial-command: \"pytest [ARGS]\", \"rspec [ARGS]\", or a command speaking the protocol of docs/runners.md; each slave starts it once and runs every spec file in a fresh fork of it"},
		&cli.StringFlag{Name: "batch-target", EnvVars: envName("batch-target"),
			Usage: "with {files} in --trial-command: the estimated time a batch of short spec files is filled up to (Go duration or seconds; default: the known work / (3 x slaves)); docs/batches.md"},
		&cli.StringFlag{Name: "partition-target", EnvVars: envName("partition-target"),
			Usage: "with {cases} in --trial-command: a spec file estimated longer than this is split into partitions of its cases (Go duration or seconds; default: the known work / slaves); docs/partitions.md"},
		&cli.StringFlag{Name: "setup-command", EnvVars: envName("setup-command"),
			Usage: "shell command run once per worker in the uploaded project before the trials (e.g. bundle install)"},
		&cli.StringFlag{Name: "format", Value: schema.FormatAuto, EnvVars: envName("format"),
			Usage: "result format of the trials: " + strings.Join(schema.Formats, ", ")},
		&cli.StringFlag{Name: "slave-command", EnvVars: envName("slave-command"),
			Usage: "shell command the worker runs instead of \"rrr slave\": a custom slave speaking the protocol"},
		&cli.StringFlag{Name: "worker-type", Value: schema.DefaultWorkerType, EnvVars: envName("worker-type"),
			Usage: "only workers started with this --worker-type take the taskset"},
		&cli.IntFlag{Name: "max-workers", Value: schema.DefaultMaxWorkers, EnvVars: envName("max-workers"),
			Usage: "most workers that work on the taskset at once (0: no limit)"},
		&cli.IntFlag{Name: "max-trials", Value: schema.DefaultMaxTrials, EnvVars: envName("max-trials"),
			Usage: "trials of a failing spec before it counts as failed, 1 or more (a spec that fails then passes is flaky)"},
		&cli.IntFlag{Name: "max-failures", EnvVars: envName("max-failures"),
			Usage: "fail fast: stop the taskset once this many spec files failed for good (exit 1; the running trials stop, the rest are not run); 0: no limit"},
		&cli.StringFlag{Name: "taskset-class", Value: schema.DefaultTasksetClass, EnvVars: envName("taskset-class"),
			Usage: "tasksets of one class share spec duration estimates (e.g. one per project and suite)"},
		&cli.StringFlag{Name: "unknown-spec-timeout", Value: "10m", EnvVars: envName("unknown-spec-timeout"),
			Usage: "time limit of a spec without an estimate (Go duration or seconds, at least 1s)"},
		&cli.StringFlag{Name: "least-timeout", Value: "30s", EnvVars: envName("least-timeout"),
			Usage: "smallest time limit of a spec with an estimate (the limit is 2x its estimate, at least this; 1s or more)"},
		&cli.StringFlag{Name: "rsync-remote-path", EnvVars: envName("rsync-remote-path"),
			Usage: "where to upload the project (host:/path or /path); default: the fleet's, set by \"rrr server --rsync-remote-path\""},
		&cli.StringFlag{Name: "rsync-name", EnvVars: envName("rsync-name"),
			Usage: "name of the upload under the remote path, and prefix of the taskset id (default: $USER)"},
		&cli.StringFlag{Name: "rsync-options", EnvVars: envName("rsync-options"),
			Usage: "extra rsync options of the upload, e.g. \"--exclude=.git --exclude=tmp\" (default: the fleet's)"},
		&cli.StringFlag{Name: "dir", Value: ".", EnvVars: envName("dir"),
			Usage: "project root: uploaded, holds .rrr.yml, and SPECs are relative to it"},
	}
}

// waitFlags are the flags of `waitfor`, also on `start` (for --wait).
func waitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "junit", EnvVars: envName("junit"),
			Usage: "write a JUnit XML report of every spec to `FILE` (flaky specs marked)"},
		&cli.StringFlag{Name: "timeout", EnvVars: envName("timeout"),
			Usage: "give up waiting after this long (exit 4; the taskset goes on); default and 0: no limit"},
		&cli.BoolFlag{Name: "no-cancel-on-signal", EnvVars: envName("no-cancel-on-signal"),
			Usage: "on SIGINT/SIGTERM stop waiting but leave the taskset running (default: cancel it)"},
		&cli.BoolFlag{Name: "require-tests", EnvVars: envName("require-tests"), Value: os.Getenv("CI") != "",
			Usage: "a taskset that succeeded but ran no test case (every report empty) exits 4 instead of 0; default: on when $CI is set"},
	}
}

// resultsDirFlag reads tasksets that expired from Redis in the results store.
func resultsDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "results-dir", EnvVars: envName("results-dir"),
		Usage: "the results store of \"rrr server\" (`DIR`), read when a taskset is no longer in Redis"}
}

// applyProjectFile reads .rrr.yml in --dir and sets every flag of the
// command it names that neither the command line nor the environment set.
// A key that is not a flag of the command is a usage error.
func applyProjectFile(c *cli.Context) (*config.File, error) {
	dir := c.String("dir")
	f, err := config.Load(dir)
	if err != nil {
		if errors.Is(err, config.ErrMalformed) {
			return nil, usagef("%v", err)
		}
		return nil, exitf(exitInfra, "%v", err)
	}
	var names []string
	for _, fl := range c.Command.Flags {
		if n := fl.Names()[0]; n != "dir" && n != "help" {
			names = append(names, n)
		}
	}
	if bad := f.Unknown(names); len(bad) > 0 {
		return nil, usagef("%s: unknown key(s) %s; known: specs, %s", f.Path, strings.Join(bad, ", "), strings.Join(names, ", "))
	}
	for name, v := range f.Values {
		if c.IsSet(name) {
			continue
		}
		if err := c.Set(name, v); err != nil {
			return nil, usagef("%s: %s: %q is not a valid value of --%s (%v)", f.Path, name, v, name, err)
		}
	}
	return f, nil
}

// tasksetFlagsConfig is the configuration of tasksetFlags. Zero is
// refused where it means nothing (--max-trials, the spec timeouts) rather
// than taken as the default; --max-workers and --max-failures 0 mean no
// limit, an unset --batch-target or --partition-target lets rrr pick it.
type tasksetFlagsConfig struct {
	TrialCommand       string        `flag:"trial-command"`
	Runner             string        `flag:"runner"`
	BatchTarget        time.Duration `flag:"batch-target" min:"1ns" unset:"ok"`
	PartitionTarget    time.Duration `flag:"partition-target" min:"1ns" unset:"ok"`
	SetupCommand       string        `flag:"setup-command"`
	Format             string        `flag:"format"`
	SlaveCommand       string        `flag:"slave-command"`
	WorkerType         string        `flag:"worker-type"`
	MaxWorkers         int           `flag:"max-workers" min:"0"`
	MaxTrials          int           `flag:"max-trials" min:"1"`
	MaxFailures        int           `flag:"max-failures" min:"0"`
	TasksetClass       string        `flag:"taskset-class"`
	UnknownSpecTimeout time.Duration `flag:"unknown-spec-timeout" min:"1s"`
	LeastTimeout       time.Duration `flag:"least-timeout" min:"1s"`
	RsyncRemotePath    string        `flag:"rsync-remote-path"`
	RsyncName          string        `flag:"rsync-name"` // "" means $USER (client.Prepare)
	RsyncOptions       string        `flag:"rsync-options"`
	Dir                string        `flag:"dir"`
}

// waitFlagsConfig is the configuration of waitFlags.
type waitFlagsConfig struct {
	JUnit            string        `flag:"junit"`
	Timeout          time.Duration `flag:"timeout"` // 0: no limit
	NoCancelOnSignal bool          `flag:"no-cancel-on-signal"`
	RequireTests     bool          `flag:"require-tests"`
}

// tasksetArgs reads what `start` and `local` share: .rrr.yml, the SPEC
// arguments (else the file's specs:), then every flag of the command into
// the configuration struct dst points to.
func tasksetArgs(c *cli.Context, dst any) ([]string, error) {
	file, err := applyProjectFile(c)
	if err != nil {
		return nil, err
	}
	patterns, err := positional(c, 0, -1, "[SPEC...]")
	if err != nil {
		return nil, err
	}
	if len(patterns) == 0 {
		patterns = file.Specs
	}
	if err := loadFlags(c, dst); err != nil {
		return nil, err
	}
	return patterns, nil
}

// spec is the taskset the flags describe.
func (f tasksetFlagsConfig) spec() schema.TasksetSpec {
	return schema.TasksetSpec{
		RsyncName:          f.RsyncName,
		SetupCommand:       f.SetupCommand,
		SlaveCommand:       f.SlaveCommand,
		TrialCommand:       f.TrialCommand,
		Runner:             f.Runner,
		ResultFormat:       f.Format,
		WorkerType:         f.WorkerType,
		MaxWorkers:         f.MaxWorkers,
		MaxTrials:          f.MaxTrials,
		MaxFailures:        f.MaxFailures,
		TasksetClass:       f.TasksetClass,
		UnknownSpecTimeout: f.UnknownSpecTimeout,
		LeastTimeout:       f.LeastTimeout,
		RsyncRemotePath:    f.RsyncRemotePath,
		RsyncOptions:       f.RsyncOptions,
	}
}

// newClient connects to Redis and builds the client of the commands;
// --results-dir, when the command has it, backs reads of expired tasksets.
func newClient(ctx context.Context, c *cli.Context) (*client.Client, *redis.Client, error) {
	log, err := logger(c)
	if err != nil {
		return nil, nil, err
	}
	// go-redis prints its own dial failures on stderr; a person gets one
	// message saying what to do, and the details at --log-level debug.
	redis.SetLogger(redisLog{log.With().Str("component", "redis").Logger()})
	rdb, sc, err := connect(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	cl := client.New(sc, c.App.ErrWriter, log)
	if dir := c.String("results-dir"); dir != "" {
		cl.Store = func(id string) (*model.Snapshot, error) { return store.Read(dir, id) }
	}
	return cl, rdb, nil
}

// resolveKey reads a KEY argument: a taskset key of --namespace or a bare id.
func resolveKey(c *cli.Context, arg string) (string, error) {
	key, err := client.ResolveKey(schema.NewKeys(c.String("namespace")), arg)
	return key, clientErr(err)
}

// redisLog sends go-redis's internal log lines to zerolog at debug level.
type redisLog struct{ l zerolog.Logger }

func (r redisLog) Printf(_ context.Context, format string, v ...any) { r.l.Debug().Msgf(format, v...) }

// clientErr maps a client error to an exit: usage errors exit 2, a
// signal before the taskset existed 3, the rest 4.
// withClient runs do with a client of the fleet's Redis, closed after.
func withClient(c *cli.Context, do func(*client.Client) error) error {
	cl, rdb, err := newClient(c.Context, c)
	if err != nil {
		return err
	}
	defer rdb.Close()
	return do(cl)
}

// printJSON writes v as indented JSON, for scripts (--json).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func clientErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrInterrupted):
		return exitf(exitCancelled, "%v", err)
	case client.IsUsage(err):
		return usagef("%v", err)
	}
	return exitf(exitInfra, "%v", err)
}

// notifySignals delivers the first two SIGINT or SIGTERM (onSignals) to a
// channel, for client.Wait: the first cancels the taskset or stops
// waiting, the second returns at once. stop undoes it.
func notifySignals() (ch chan os.Signal, stop func()) {
	ch = make(chan os.Signal, 2)
	send := func(s os.Signal) { ch <- s }
	return ch, onSignals(send, send)
}

// isTerminal reports whether w is a terminal that can rewrite a line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" || os.Getenv("CI") != "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// waitAndReport waits for key, prints the summary, writes the JUnit report
// and returns the exit of the verdict.
func waitAndReport(ctx context.Context, c *cli.Context, cfg waitFlagsConfig, cl *client.Client, key string, ints <-chan os.Signal) error {
	junitPath := cfg.JUnit
	if junitPath != "" {
		if st, err := os.Stat(filepath.Dir(junitPath)); err != nil || !st.IsDir() {
			return usagef("--junit %s: its directory does not exist", junitPath)
		}
	}
	o, err := cl.Wait(ctx, key, client.WaitOptions{
		Timeout: cfg.Timeout, Interrupts: ints, CancelOnSignal: !cfg.NoCancelOnSignal,
		TTY: isTerminal(c.App.ErrWriter),
	})
	if err != nil {
		return exitf(exitInfra, "%v", err)
	}
	// A green run that tested nothing is loud, and with --require-tests
	// (on in CI) it fails.
	warn := ""
	if cfg.RequireTests {
		client.RequireTests(o)
	} else if why := client.TestedNothing(o.Snapshot); why != "" && o.Verdict == model.Succeeded {
		warn = fmt.Sprintf("rrr: warning: %s succeeded, but %s; --require-tests (on when $CI is set) makes this exit 4\n", key, why)
	}
	client.WriteSummary(c.App.ErrWriter, o, client.SummaryOptions{})
	fmt.Fprint(c.App.ErrWriter, warn)
	code := o.Verdict.ExitCode()
	if junitPath != "" && o.Snapshot != nil {
		if err := junit.WriteFile(junitPath, o.Snapshot); err != nil {
			fmt.Fprintln(c.App.ErrWriter, "rrr:", err)
			if code == exitOK {
				code = exitInfra
			}
		} else {
			fmt.Fprintf(c.App.ErrWriter, "rrr: wrote the JUnit report %s\n", junitPath)
		}
	}
	if code == exitOK {
		return nil
	}
	return exitf(code, "")
}
