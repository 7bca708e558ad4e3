package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/schema"
)

func quarantineCommand() *cli.Command {
	return &cli.Command{
		Name:  "quarantine",
		Usage: "put specs in quarantine: they still run, but their failures do not fail the taskset",
		UsageText: "rrr quarantine add [options] SPEC...\n   rrr quarantine list [options]\n   rrr quarantine remove [options] SPEC...\n\n" +
			"   rrr quarantine add --reason 'times out on CI, #123' --expires 14d spec/models/user_spec.rb",
		Description: "The quarantine of a taskset class is kept in Redis. A taskset created while a spec is in it\n" +
			"marks the spec's task: it runs and is retried as usual, and a failure is reported (summary,\n" +
			"rrr show, JUnit property rrr.quarantined) but does not fail the taskset. An entry leaves\n" +
			"quarantine when it expires.",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "quarantine spec files (an entry already there is replaced)",
				ArgsUsage: "SPEC...",
				Flags: []cli.Flag{
					classFlag(),
					&cli.StringFlag{Name: "reason", EnvVars: envName("reason"), Usage: "why (required): an issue, who looks at it"},
					&cli.StringFlag{Name: "expires", Value: "14d", EnvVars: envName("expires"),
						Usage: "leave quarantine after this long: days (14d), a Go duration (36h) or seconds; 0: never"},
				},
				Action: quarantineAddAction,
			},
			{
				Name:  "list",
				Usage: "list the quarantined spec files of a class",
				Flags: []cli.Flag{
					classFlag(),
					&cli.BoolFlag{Name: "json", EnvVars: envName("json"), Usage: "print JSON for scripts"},
				},
				Action: quarantineListAction,
			},
			{
				Name:      "remove",
				Usage:     "take spec files out of quarantine",
				ArgsUsage: "SPEC...",
				Flags:     []cli.Flag{classFlag()},
				Action:    quarantineRemoveAction,
			},
		},
	}
}

// parseExpiry reads --expires: a number of days ("14d"), else a time flag.
func parseExpiry(flag, s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, usagef("--%s %q: want a number of days such as 14d, a duration such as 36h, or seconds", flag, s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	return parseDuration(flag, s)
}

// specArgs reads the SPEC arguments as the spec files of tasks are named.
func specArgs(c *cli.Context) ([]string, error) {
	args, err := positional(c, 1, -1, "SPEC...")
	if err != nil {
		return nil, err
	}
	specs := make([]string, 0, len(args))
	for _, a := range args {
		clean, err := schema.CleanSpec(a)
		if err != nil {
			return nil, usagef("%v", err)
		}
		specs = append(specs, clean)
	}
	return specs, nil
}

// classConfig is the flag of every quarantine command.
type classConfig struct {
	TasksetClass string `flag:"taskset-class"`
}

// quarantineAddConfig is the configuration of `rrr quarantine add`.
type quarantineAddConfig struct {
	classConfig
	Reason  string `flag:"reason"`  // required
	Expires string `flag:"expires"` // parseExpiry: days, a duration or seconds
}

// quarantineListConfig is the configuration of `rrr quarantine list`.
type quarantineListConfig struct {
	classConfig
	jsonConfig
}

func quarantineAddAction(c *cli.Context) error {
	specs, err := specArgs(c)
	if err != nil {
		return err
	}
	var cfg quarantineAddConfig
	if err := loadFlags(c, &cfg); err != nil {
		return err
	}
	reason := strings.TrimSpace(cfg.Reason)
	if reason == "" {
		return usagef("--reason is required: say why the specs are quarantined (an issue, who looks at it)")
	}
	ttl, err := parseExpiry("expires", cfg.Expires)
	if err != nil {
		return err
	}
	class := cfg.TasksetClass
	return withClient(c, func(cl *client.Client) error {
		e, err := cl.Schema.AddQuarantine(c.Context, class, specs, reason, os.Getenv("USER"), ttl)
		if err != nil {
			return clientErr(err)
		}
		until := "until removed"
		if !e.ExpiresAt.IsZero() {
			until = "until " + e.ExpiresAt.Format(time.RFC3339)
		}
		for _, s := range specs {
			fmt.Fprintf(c.App.Writer, "quarantined %s (class %s) %s: %s\n", s, class, until, reason)
		}
		return nil
	})
}

func quarantineListAction(c *cli.Context) error {
	if _, err := positional(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	var cfg quarantineListConfig
	if err := loadFlags(c, &cfg); err != nil {
		return err
	}
	class := cfg.TasksetClass
	return withClient(c, func(cl *client.Client) error {
		q, now, err := cl.Schema.QuarantineOf(c.Context, class)
		if err != nil {
			return clientErr(err)
		}
		if cfg.JSON {
			return printJSON(c.App.Writer, q)
		}
		client.WriteQuarantine(c.App.Writer, class, q, now)
		return nil
	})
}

func quarantineRemoveAction(c *cli.Context) error {
	specs, err := specArgs(c)
	if err != nil {
		return err
	}
	var cfg classConfig
	if err := loadFlags(c, &cfg); err != nil {
		return err
	}
	class := cfg.TasksetClass
	return withClient(c, func(cl *client.Client) error {
		removed, err := cl.Schema.RemoveQuarantine(c.Context, class, specs)
		if err != nil {
			return clientErr(err)
		}
		gone := map[string]bool{}
		for _, s := range removed {
			gone[s] = true
			fmt.Fprintf(c.App.Writer, "removed %s from the quarantine of class %s\n", s, class)
		}
		for _, s := range specs {
			if !gone[s] {
				fmt.Fprintf(c.App.ErrWriter, "rrr: %s was not in the quarantine of class %s\n", s, class)
			}
		}
		return nil
	})
}
