package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

func showCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show a taskset: its specs and trials, as text or JSON",
		ArgsUsage: "KEY",
		UsageText: "rrr show [options] KEY\n\n" +
			"   rrr show --show-errors alice-20260101-120000-1a2b\n" +
			"   rrr show --json rrrspec:taskset:alice-20260101-120000-1a2b | jq .status",
		Description: "KEY is a taskset key or its bare id. A taskset no longer in Redis (persisted, then expired)\n" +
			"is read from --results-dir. Text lists the specs that did not pass; --verbose every spec, trial,\n" +
			"worker log and slave; --show-errors the output of failed and flaky specs. --json prints one\n" +
			"object (key, status, created_at, finished_at, succeeded_count, failed_count, tasks with their\n" +
			"trials), with outputs and logs when --verbose or --show-errors is given too.\n" +
			"Exit 0 succeeded, 1 tests failed, 2 usage error, 3 cancelled, 4 infrastructure error or not\n" +
			"found, 5 still running.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", EnvVars: envName("json"), Usage: "print JSON for scripts"},
			&cli.BoolFlag{Name: "verbose", EnvVars: envName("verbose"), Usage: "every spec with its trials, worker logs, slaves"},
			&cli.BoolFlag{Name: "show-errors", EnvVars: envName("show-errors"), Usage: "the output of failed and flaky specs"},
			resultsDirFlag(),
		},
		Action: showAction,
	}
}

// showCmdConfig is the configuration of `rrr show`.
type showCmdConfig struct {
	JSON       bool   `flag:"json"`
	Verbose    bool   `flag:"verbose"`
	ShowErrors bool   `flag:"show-errors"`
	ResultsDir string `flag:"results-dir"` // also read by newClient
}

func showAction(c *cli.Context) error {
	args, err := positional(c, 1, 1, "KEY")
	if err != nil {
		return err
	}
	var cfg showCmdConfig
	if err := loadFlags(c, &cfg); err != nil {
		return err
	}
	key, err := resolveKey(c, args[0])
	if err != nil {
		return err
	}
	opt := model.LoadOptions{Output: cfg.Verbose || cfg.ShowErrors, Logs: cfg.Verbose}
	now := time.Now()
	var s *model.Snapshot
	cl, rdb, err := newClient(c.Context, c)
	if err != nil {
		// Redis is down: a persisted taskset can still be shown.
		dir := cfg.ResultsDir
		id, _ := schema.NewKeys(globals(c).Namespace).TasksetID(key)
		if dir == "" {
			return err
		}
		var serr error
		if s, serr = store.Read(dir, id); serr != nil {
			return err
		}
		client.Trim(s, opt)
		fmt.Fprintf(c.App.ErrWriter, "rrr: %v; showing %s from the results store\n", err, key)
	} else {
		defer rdb.Close()
		if s, err = cl.Load(c.Context, key, opt); err != nil {
			return exitf(exitInfra, "show %s: %v", key, err)
		}
		if t, err := cl.Schema.Now(c.Context); err == nil {
			now = t
		}
	}
	if cfg.JSON {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return exitf(exitInfra, "show %s: %v", key, err)
		}
	} else {
		client.WriteShow(c.App.Writer, s, client.ShowOptions{Verbose: cfg.Verbose, ShowErrors: cfg.ShowErrors, Now: now})
	}
	if code := model.VerdictOf(s.Taskset).ExitCode(); code != exitOK {
		return exitf(code, "")
	}
	return nil
}
