package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/host"
)

func cancelCommand() *cli.Command {
	return &cli.Command{
		Name:      "cancel",
		Usage:     "cancel a taskset",
		ArgsUsage: "KEY",
		UsageText: "rrr cancel KEY\n\n   rrr cancel alice-20260101-120000-1a2b",
		Description: "KEY is a taskset key or its bare id. The taskset stops at once (its queue is dropped\n" +
			"and the workers leave it); cancelling a finished taskset changes nothing.",
		Action: cancelAction,
	}
}

func cancelAction(c *cli.Context) error {
	args, err := positional(c, 1, 1, "KEY")
	if err != nil {
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
	stopped, err := cl.Cancel(c.Context, key, fmt.Sprintf("cancelled by %s with `rrr cancel` on %s", whoami(), host.Name()))
	if err != nil {
		return clientErr(err)
	}
	if stopped {
		fmt.Fprintf(c.App.Writer, "cancelled %s\n", key)
		return nil
	}
	ts, err := cl.Reader.Taskset(c.Context, key)
	if err != nil {
		return clientErr(err)
	}
	fmt.Fprintf(c.App.Writer, "%s had finished already (%s); nothing to cancel\n", key, ts.Status)
	return nil
}

func cancelallCommand() *cli.Command {
	return &cli.Command{
		Name:        "cancelall",
		Usage:       "cancel every active taskset of an rsync name",
		ArgsUsage:   "RSYNC_NAME",
		UsageText:   "rrr cancelall RSYNC_NAME\n\n   rrr cancelall alice",
		Description: "Cancels the active tasksets uploaded with --rsync-name RSYNC_NAME (default $USER) and prints their keys.",
		Action:      cancelallAction,
	}
}

func cancelallAction(c *cli.Context) error {
	args, err := positional(c, 1, 1, "RSYNC_NAME")
	if err != nil {
		return err
	}
	cl, rdb, err := newClient(c.Context, c)
	if err != nil {
		return err
	}
	defer rdb.Close()
	keys, err := cl.CancelAll(c.Context, args[0], fmt.Sprintf("cancelled by %s with `rrr cancelall %s` on %s", whoami(), args[0], host.Name()))
	for _, k := range keys {
		fmt.Fprintln(c.App.Writer, k)
	}
	if err != nil {
		return clientErr(err)
	}
	fmt.Fprintf(c.App.ErrWriter, "rrr: cancelled %d active taskset(s) of %q\n", len(keys), args[0])
	return nil
}

func whoami() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "someone"
}
