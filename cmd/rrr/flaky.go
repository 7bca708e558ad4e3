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

func flakyAction(c *cli.Context) error {
	if _, err := positional(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	runs, err := intAtLeast(c, "runs", 1)
	if err != nil {
		return err
	}
	if runs > schema.HistoryRuns {
		return usagef("--runs %d: give at most %d (the runs the history keeps)", runs, schema.HistoryRuns)
	}
	limit, err := intAtLeast(c, "limit", 0)
	if err != nil {
		return err
	}
	class := c.String("taskset-class")
	return withClient(c, func(cl *client.Client) error {
		specs, err := cl.Flaky(c.Context, class, runs, limit)
		if err != nil {
			return clientErr(err)
		}
		if c.Bool("json") {
			return printJSON(c.App.Writer, specs)
		}
		client.WriteFlaky(c.App.Writer, class, specs)
		return nil
	})
}
