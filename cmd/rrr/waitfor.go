package main

import (
	"github.com/urfave/cli/v2"
)

func waitforCommand() *cli.Command {
	return &cli.Command{
		Name:      "waitfor",
		Usage:     "wait until a taskset finishes: progress, summary, JUnit report, exit code",
		ArgsUsage: "KEY",
		UsageText: "rrr waitfor [options] KEY\n\n" +
			"   rrr waitfor --junit report.xml --timeout 30m alice-20260101-120000-1a2b",
		Description: "KEY is a taskset key or its bare id. Shows live progress on stderr (done/total, failures,\n" +
			"running specs, ETA), then the summary: failed specs with their output, flaky specs, the\n" +
			"slowest specs and the balance. The first SIGINT/SIGTERM cancels the taskset (unless\n" +
			"--no-cancel-on-signal), a second exits at once. Exit 0 succeeded, 1 tests failed,\n" +
			"2 usage error, 3 cancelled, 4 infrastructure error (setup failed, Redis unreachable, --timeout).",
		Flags:  append(waitFlags(), resultsDirFlag(), webURLFlag()),
		Action: waitforAction,
	}
}

// waitforCmdConfig is the configuration of `rrr waitfor`.
type waitforCmdConfig struct {
	waitFlagsConfig
	ResultsDir string `flag:"results-dir"` // read by newClient
	WebURL     string `flag:"web-url"`
}

func waitforAction(c *cli.Context) error {
	args, err := positional(c, 1, 1, "KEY")
	if err != nil {
		return err
	}
	var cfg waitforCmdConfig
	if err := loadFlags(c, &cfg); err != nil {
		return err
	}
	key, err := resolveKey(c, args[0])
	if err != nil {
		return err
	}
	cl, rdb, err := newClient(c.Context, c)
	if err != nil {
		return err
	}
	defer rdb.Close()
	sigs, stop := notifySignals()
	defer stop()
	printWebURL(c.Context, c, cfg.WebURL, cl.Schema, key)
	return waitAndReport(c.Context, c, cfg.waitFlagsConfig, cl, key, sigs)
}
