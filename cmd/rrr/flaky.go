package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/schema"
)

func classFlag() cli.Flag {
	return &cli.StringFlag{Name: "taskset-class", Value: schema.DefaultTasksetClass, EnvVars: envName("taskset-class"),
		Usage: "the taskset class (as `rrr start --taskset-class`)"}
}

func flakyCommand() *cli.Command {
	return &cli.Command{
		Name:  "flaky",
		Usage: "list the flakiest specs of a taskset class, with their flaky and failure rates",
		UsageText: "rrr flaky [options]\n\n" +
			"   rrr flaky --runs 20 --limit 10\n" +
			"   rrr flaky --json | jq -r '.[] | select(.flaky_rate > 0.1) | .spec_file'",
		Description: "The persister records, per taskset class and spec file, the outcome of each finished taskset\n" +
			"that gave the spec a verdict (the last 50): passed the first time, flaky (failed, then passed),\n" +
			"failed, errored. This lists the specs that were flaky or failed in their last --runs runs, the\n" +
			"highest flaky rate first, then the highest failure rate, and says which are in quarantine.",
		Flags: []cli.Flag{
			classFlag(),
			&cli.IntFlag{Name: "runs", Value: schema.HistoryRuns, EnvVars: envName("runs"),
				Usage: "count each spec's last N recorded runs, 1 to 50"},
			&cli.IntFlag{Name: "limit", Value: 20, EnvVars: envName("limit"),
				Usage: "list at most this many specs (0: no limit)"},
			&cli.BoolFlag{Name: "json", EnvVars: envName("json"), Usage: "print JSON for scripts"},
		},
		Action: flakyAction,
	}
}

// flakyCmdConfig is the configuration of `rrr flaky`.
type flakyCmdConfig struct {
	TasksetClass string `flag:"taskset-class"`
	Runs         int    `flag:"runs" min:"1"`
	Limit        int    `flag:"limit" min:"0"` // 0: no limit
	jsonConfig
}

func flakyAction(c *cli.Context) error {
	if _, err := positional(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	var cfg flakyCmdConfig
	if err := loadFlags(c, &cfg); err != nil {
		return err
	}
	if cfg.Runs > schema.HistoryRuns {
		return usagef("--runs %d: give at most %d (the runs the history keeps)", cfg.Runs, schema.HistoryRuns)
	}
	class := cfg.TasksetClass
	return withClient(c, func(cl *client.Client) error {
		specs, err := cl.Flaky(c.Context, class, cfg.Runs, cfg.Limit)
		if err != nil {
			return clientErr(err)
		}
		if cfg.JSON {
			return printJSON(c.App.Writer, specs)
		}
		client.WriteFlaky(c.App.Writer, class, specs)
		return nil
	})
}
