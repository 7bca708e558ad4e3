package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/version"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the release, the commit and the protocol version of this rrr",
		UsageText: "rrr version [--json]",
		Description: "Parts of a fleet must speak the same protocol: a worker or server that finds\n" +
			"another protocol version in Redis refuses to start (exit 4) and says which.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print a JSON object"},
		},
		Action: func(c *cli.Context) error {
			if _, err := positional(c, 0, 0, "no arguments"); err != nil {
				return err
			}
			var cfg jsonConfig
			if err := loadFlags(c, &cfg); err != nil {
				return err
			}
			i := version.Get()
			if cfg.JSON {
				b, err := json.Marshal(i)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(c.App.Writer, string(b))
				return err
			}
			_, err := fmt.Fprintln(c.App.Writer, i.String())
			return err
		},
	}
}
