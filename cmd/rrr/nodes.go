package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/client"
)

func nodesCommand() *cli.Command {
	return &cli.Command{
		Name:      "nodes",
		Usage:     "list the live workers: type, host, slaves, what they do, whether their circuit breaker tripped",
		UsageText: "rrr nodes [options]\n\n   rrr nodes --json | jq '.[] | select(.taskset == \"\") | .id'",
		Description: "A worker is live while its heartbeat lasts; dead ones are counted, not listed. HEALTH is ok, or\n" +
			"UNHEALTHY with the time and reason its circuit breaker tripped (rrr worker --breaker); in --json, unhealthy and unhealthy_at.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", EnvVars: envName("json"), Usage: "print JSON for scripts"},
		},
		Action: nodesAction,
	}
}

func nodesAction(c *cli.Context) error {
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
	live, dead, err := cl.Nodes(c.Context)
	if err != nil {
		return clientErr(err)
	}
	if cfg.JSON {
		return printJSON(c.App.Writer, live)
	}
	client.WriteNodes(c.App.Writer, cl.Schema.Keys, live, dead)
	return nil
}
