package main

import (
	"context"
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/worker"
)

func slaveCommand() *cli.Command {
	return &cli.Command{
		Name:  "slave",
		Usage: "run one slave (started by `rrr worker`, not by people)",
		Description: "Reads its configuration from the environment the worker sets (RRR_TASKSET, RRR_SLAVE,\n" +
			"RRR_WORKING_COPY, SLAVE_NUMBER, ...), takes the taskset's tasks one by one and runs each as a\n" +
			"trial, until the taskset is over. SIGTERM stops the running trial, records it as error, and exits 0.",
		Action: slaveAction,
	}
}

func slaveAction(c *cli.Context) error {
	if _, err := positional(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	log, err := logger(c)
	if err != nil {
		return err
	}
	// Check the environment before dialing Redis: a person who runs
	// `rrr slave` by hand learns what it is for.
	if _, err := worker.SlaveConfigFromEnv(os.Getenv); err != nil {
		return usagef("%v", err)
	}
	// The first signal stops the running trial; the worker, not a second
	// signal, kills a slave that takes too long (SIGKILL after its grace).
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	stop := onSignals(func(os.Signal) { cancel() }, nil)
	defer stop()
	// The worker hands the Redis URL over a pipe, not the environment, so
	// that no trial can read it back (worker.EnvRedisFD).
	rc, ok, err := worker.SlaveRedis(os.Getenv)
	if err != nil {
		return usagef("%v", err)
	}
	if !ok {
		rc = redisConfig(c)
	}
	rdb, cl, err := connectTo(ctx, c, rc)
	if err != nil {
		return err
	}
	defer rdb.Close()
	err = worker.RunSlaveFromEnv(ctx, cl, log, os.Getenv)
	if errors.Is(err, worker.ErrConfig) {
		return usagef("%v", err)
	}
	if errors.Is(err, worker.ErrBreakerTripped) {
		return exitf(worker.ExitBreaker, "%v", err) // the worker leaves the taskset
	}
	if err != nil {
		return exitf(exitInfra, "%v", err)
	}
	return nil
}
