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
)

func startCommand() *cli.Command {
	flags := append(tasksetFlags(),
		&cli.BoolFlag{Name: "wait", EnvVars: envName("wait"),
			Usage: "then wait for the taskset as \"rrr waitfor\" does: progress, summary, exit code"},
		&cli.StringFlag{Name: "rerun-failed", EnvVars: envName("rerun-failed"),
			Usage: "run only the spec files that did not pass in taskset `KEY` (failed, errored, not run), with its settings unless given; instead of SPECs"},
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
	rerun := cfg.RerunFailed
	if rerun != "" && c.Args().Len() > 0 {
		return usagef("--rerun-failed %s takes the spec files of that taskset: give no SPEC", rerun)
	}
	// Usage errors first, even when Redis is down.
	if rerun == "" {
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
