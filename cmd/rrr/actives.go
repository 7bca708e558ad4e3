package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/client"
)

func activesCommand() *cli.Command {
	return &cli.Command{
		Name:        "actives",
		Usage:       "list the tasksets that have not finished, oldest first",
		UsageText:   "rrr actives [options]\n\n   rrr actives --json | jq -r '.[].key'",
		Description: "Shows each active taskset's id, who started it, its worker type, done/total specs, failed specs and age.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", EnvVars: envName("json"), Usage: "print JSON for scripts"},
		},
		Action: activesAction,
	}
}

func activesAction(c *cli.Context) error {
	if _, err := positional(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	var cfg jsonConfig
	if err := loadFlags(c, &cfg); err != nil {
		return err
	}
	cl, rdb, err := newClient(c.Context, c)
	if err != nil {
		return err
	}
	defer rdb.Close()
	as, err := cl.Actives(c.Context)
	if err != nil {
		return clientErr(err)
	}
	if cfg.JSON {
		return printJSON(c.App.Writer, as)
	}
	now := time.Now()
	if t, err := cl.Schema.Now(c.Context); err == nil {
		now = t
	}
	client.WriteActives(c.App.Writer, as, now)
	return nil
}
