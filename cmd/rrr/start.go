package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

func startCommand() *cli.Command {
	flags := append(tasksetFlags(),
		&cli.BoolFlag{Name: "wait", EnvVars: envName("wait"),
			Usage: "then wait for the taskset as \"rrr waitfor\" does: progress, summary, exit code"},
		&cli.StringFlag{Name: "rerun-failed", EnvVars: envName("rerun-failed"),
			Usage: "run only the spec files that did not pass in taskset `KEY` (failed, errored, not run), with its settings unless given; instead of SPECs. " +
				"\"auto\": the same for the latest taskset of this CI build (--build-id), when there is one; else the SPECs as usual"},
		&cli.StringFlag{Name: "build-id", EnvVars: envName("build-id"),
			Usage: "the CI build `ID` this taskset is for, recorded so that a retry finds it (default: GITHUB_RUN_ID-GITHUB_JOB, CI_PIPELINE_ID-CI_JOB_NAME)"},
		&cli.StringFlag{Name: "retry-of", EnvVars: envName("retry-of"),
			Usage: "as --rerun-failed of the latest taskset of CI build `ID` (same --rsync-name and --taskset-class); instead of SPECs"},
		resultsDirFlag())
	flags = append(append(flags, waitFlags()...), webURLFlag())
	return &cli.Command{
		Name:      "start",
		Usage:     "upload the project and create a taskset; print its key",
		ArgsUsage: "[SPEC...]",
		UsageText: "rrr start [options] [SPEC...]\n\n" +
			"   rrr start --trial-command 'rspec {file}' 'spec/**/*_spec.rb'\n" +
			"   rrr start --wait --junit report.xml        # CI: settings in .rrr.yml",
		Description: "Resolves each SPEC (a file, a directory, or a glob with *, ? and ** — quote it) under --dir,\n" +
			"uploads --dir with rsync to <rsync remote path>/<rsync name>, creates the taskset with one task\n" +
			"per spec file and wakes the dispatcher. The taskset key goes to stdout, progress to stderr.\n" +
			"Settings come from flags, then RRR_* variables, then .rrr.yml in --dir (which may list specs:).\n" +
			"With --wait it goes on as `rrr waitfor`: exit 0 succeeded, 1 tests failed, 2 usage error,\n" +
			"3 cancelled, 4 infrastructure error (setup failed, Redis unreachable, --timeout).",
		Flags:  flags,
		Action: startAction,
	}
}

// startCmdConfig is the configuration of `rrr start`.
type startCmdConfig struct {
	tasksetFlagsConfig
	Wait        bool   `flag:"wait"`
	RerunFailed string `flag:"rerun-failed"`
	RetryOf     string `flag:"retry-of"`
	BuildID     string `flag:"build-id"`
	ResultsDir  string `flag:"results-dir"` // read by newClient
	waitFlagsConfig
	WebURL string `flag:"web-url"`
}

func startAction(c *cli.Context) error {
	var cfg startCmdConfig
	patterns, err := tasksetArgs(c, &cfg)
	if err != nil {
		return err
	}
	opt := client.StartOptions{Dir: cfg.Dir, Patterns: patterns, Taskset: cfg.spec(),
		BatchTarget: cfg.BatchTarget, PartitionTarget: cfg.PartitionTarget}
	rerun, retryOf := cfg.RerunFailed, cfg.RetryOf
	switch {
	case rerun != "" && retryOf != "":
		return usagef("--rerun-failed %s and --retry-of %s: give one of them", rerun, retryOf)
	case retryOf != "" && c.Args().Len() > 0:
		return usagef("--retry-of %s takes the spec files of that build's taskset: give no SPEC", retryOf)
	case rerun != "" && rerun != autoRerun && c.Args().Len() > 0:
		return usagef("--rerun-failed %s takes the spec files of that taskset: give no SPEC", rerun)
	}
	opt.Taskset.BuildID = cfg.BuildID
	if opt.Taskset.BuildID == "" {
		opt.Taskset.BuildID = client.BuildFromEnv(os.Getenv)
	}
	if opt.Taskset.BuildID == "" {
		opt.Taskset.BuildID = retryOf // so that a retry of the retry finds it
	}
	// Usage errors first, even when Redis is down.
	if rerun == "" || rerun == autoRerun {
		if _, _, err := client.Prepare(opt); err != nil {
			return clientErr(err)
		}
	}
	ctx := c.Context
	cl, rdb, err := newClient(ctx, c)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if rerun, err = buildRerun(c, cl, rerun, retryOf, opt); err != nil {
		return err
	}
	if rerun != "" {
		r, err := rerunOf(c, cl, rerun, &opt)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.App.ErrWriter, "rrr: "+r.String())
		if len(r.Specs) == 0 {
			return nil // nothing failed: nothing to do, and nothing failed
		}
	}

	// A signal during the upload stops it (there is nothing to cancel
	// yet); every signal also reaches the wait, which cancels the taskset.
	upload, cancelUpload := context.WithCancel(ctx)
	defer cancelUpload()
	ints := make(chan os.Signal, 2)
	var created atomic.Bool
	relay := func(s os.Signal) {
		if !created.Load() {
			cancelUpload()
		}
		ints <- s
	}
	stop := onSignals(relay, relay)
	defer stop()

	key, err := cl.Start(upload, opt)
	created.Store(true)
	if err != nil {
		return clientErr(err)
	}
	fmt.Fprintln(c.App.Writer, key)
	printWebURL(ctx, c, cfg.WebURL, cl.Schema, key)
	if !cfg.Wait {
		return nil
	}
	return waitAndReport(ctx, c, cfg.waitFlagsConfig, cl, key, ints)
}

// autoRerun is the --rerun-failed that finds the taskset by the CI build.
const autoRerun = "auto"

// buildRerun turns --retry-of BUILD and --rerun-failed auto into the key
// of the taskset to rerun: the latest of that build (or of this one, for
// auto) with this rsync name and class. For auto, a build without one (a
// first attempt) runs the SPECs: "" and a line that says so.
func buildRerun(c *cli.Context, cl *client.Client, rerun, retryOf string, opt client.StartOptions) (string, error) {
	build, flag := retryOf, "--retry-of"
	switch {
	case rerun == autoRerun:
		build, flag = opt.Taskset.BuildID, "--rerun-failed auto"
		if build == "" {
			fmt.Fprintln(c.App.ErrWriter, "rrr: --rerun-failed auto: no CI build id (--build-id, RRR_BUILD_ID, GITHUB_RUN_ID, CI_PIPELINE_ID): running every spec")
			return "", nil
		}
	case retryOf == "":
		return rerun, nil
	}
	key, err := cl.BuildTaskset(c.Context, opt.Taskset, build)
	switch {
	case err != nil:
		return "", clientErr(err)
	case key == "" && rerun == autoRerun:
		fmt.Fprintf(c.App.ErrWriter, "rrr: --rerun-failed auto: no earlier taskset of build %s: running every spec\n", build)
		return "", nil
	case key == "":
		return "", exitf(exitInfra, "%s %s: %v: no taskset of that build with rsync name and class of this one "+
			"(was it created with --build-id %s, and within %s?)", flag, build, client.ErrNotFound, build, schema.BuildIndexTTL)
	}
	fmt.Fprintf(c.App.ErrWriter, "rrr: retry of build %s: its latest taskset is %s\n", build, key)
	return key, nil
}

// rerunOf reads the taskset of --rerun-failed (from Redis, else the
// results store) and sets opt to run the spec files that did not pass
// there, with its settings where the command line, RRR_* and .rrr.yml
// gave none.
func rerunOf(c *cli.Context, cl *client.Client, arg string, opt *client.StartOptions) (client.Rerun, error) {
	key, err := resolveKey(c, arg)
	if err != nil {
		return client.Rerun{}, err
	}
	s, err := cl.Load(c.Context, key, model.LoadOptions{})
	if err != nil {
		return client.Rerun{}, clientErr(err)
	}
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return client.Rerun{}, usagef("--dir %s: %v", opt.Dir, err)
	}
	r, err := client.RerunOf(s, dir)
	if err != nil {
		return r, usagef("%v", err)
	}
	client.Inherit(&opt.Taskset, s.Taskset, c.IsSet)
	opt.Taskset.RerunOf = key
	opt.Patterns = r.Specs
	if len(r.Specs) > 0 {
		if _, _, err := client.Prepare(*opt); err != nil {
			return r, clientErr(err)
		}
	}
	return r, nil
}
