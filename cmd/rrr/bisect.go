package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

func bisectCommand() *cli.Command {
	flags := append(tasksetFlags(), resultsDirFlag())
	return &cli.Command{
		Name:      "bisect",
		Usage:     "find the spec whose run before SPEC on the same slave makes SPEC fail",
		ArgsUsage: "KEY SPEC",
		UsageText: "rrr bisect [options] KEY SPEC\n\n" +
			"   rrr bisect alice-20260101-120000-1a2b spec/models/user_spec.rb",
		Description: "Reads taskset KEY (from Redis, else --results-dir), takes the trial of SPEC that failed after other\n" +
			"specs on its slave, and runs, each as a new taskset with KEY's settings whose specs run in the given\n" +
			"order on one slave: SPEC alone, then the specs that ran before it followed by SPEC, halving them each\n" +
			"round until one is left. Exit 0: the culprit was found; 1: SPEC fails alone, or the failure was not\n" +
			"reproduced; 2 usage error; 4 infrastructure error.",
		Flags:  flags,
		Action: bisectAction,
	}
}

// bisectCmdConfig is the configuration of `rrr bisect`: the taskset flags
// of `rrr start`, and the results store.
type bisectCmdConfig struct {
	tasksetFlagsConfig
	ResultsDir string `flag:"results-dir"` // read by newClient
}

func bisectAction(c *cli.Context) error {
	// The flags of rrr start, read and checked as it does (.rrr.yml too).
	var cfg bisectCmdConfig
	if _, err := tasksetArgs(c, &cfg); err != nil {
		return err
	}
	base := cfg.spec()
	args, err := positional(c, 2, 2, "KEY SPEC")
	if err != nil {
		return err
	}
	key, err := resolveKey(c, args[0])
	if err != nil {
		return err
	}
	spec, err := schema.CleanSpec(args[1])
	if err != nil {
		return usagef("%v", err)
	}
	ctx := c.Context
	cl, rdb, err := newClient(ctx, c)
	if err != nil {
		return err
	}
	defer rdb.Close()
	s, err := cl.Load(ctx, key, model.LoadOptions{})
	if err != nil {
		return clientErr(err)
	}
	plan, err := client.PlanBisect(s, spec)
	if errors.Is(err, client.ErrNothingToBisect) {
		return exitf(exitFailed, "%v: it is not order dependent there", err)
	}
	if err != nil {
		return clientErr(err)
	}
	say := func(line string) { fmt.Fprintln(c.App.ErrWriter, "rrr: bisect: "+line) }
	say(fmt.Sprintf("trial %d of %s failed on slave %s after %d other spec(s)", plan.Trial, spec, plan.Slave, len(plan.Before)))

	// Every step: a taskset of KEY's settings whose specs run in the
	// given order on one slave of one worker, once each (docs/protocol.md,
	// "CI builds and ordered tasksets"), in a class of its own so that the
	// forced orders stay out of the estimates and the flaky history.
	client.Inherit(&base, s.Taskset, c.IsSet)
	base.Ordered, base.MaxTrials, base.MaxWorkers, base.MaxFailures = true, 1, 1, 0
	if !c.IsSet("taskset-class") {
		base.TasksetClass = orDefault(s.TasksetClass) + "-bisect"
	}
	ints, stop := notifySignals()
	defer stop()
	run := func(ctx context.Context, specs []string) (string, bool, error) {
		return bisectStep(ctx, cl, cfg.Dir, base, specs, ints)
	}
	res, err := client.Bisect(ctx, plan, run, say)
	if err != nil {
		return exitf(exitInfra, "bisect: %v", err)
	}
	if res.Culprit == "" {
		return exitf(exitFailed, "bisect: %s: %s", spec, res.Why)
	}
	say(fmt.Sprintf("culprit: %s fails when %s runs before it on the same slave", spec, res.Culprit))
	return nil
}

// bisectStep runs specs in order as one taskset and says whether its last
// spec failed a test.
func bisectStep(ctx context.Context, cl *client.Client, dir string, base schema.TasksetSpec, specs []string, ints <-chan os.Signal) (string, bool, error) {
	opt := client.StartOptions{Dir: dir, Patterns: specs, Taskset: base}
	stderr := cl.Stderr
	cl.Stderr = io.Discard // the steps say what they did; the upload lines would drown them
	key, err := cl.Start(ctx, opt)
	cl.Stderr = stderr
	if err != nil {
		return "", false, err
	}
	o, err := cl.Wait(ctx, key, client.WaitOptions{Interrupts: ints, CancelOnSignal: true, Quiet: true})
	if err != nil {
		return key, false, err
	}
	if o.Snapshot == nil || o.Verdict == model.Cancelled {
		return key, false, fmt.Errorf("%s was cancelled", key)
	}
	last := specs[len(specs)-1]
	for _, t := range model.BySpec(o.Snapshot.Tasks) {
		if t.SpecFile != last {
			continue
		}
		switch t.Verdict() {
		case schema.StatusFailed:
			return key, true, nil
		case schema.StatusPassed, schema.StatusPending:
			return key, false, nil
		}
		return key, false, fmt.Errorf("%s: %s gave no test result (%s): rrr show %s", key, last, orNone(t.Verdict()), key)
	}
	return key, false, fmt.Errorf("%s: no task of %s", key, last)
}

func orDefault(class string) string {
	if class == "" {
		return schema.DefaultTasksetClass
	}
	return class
}

func orNone(v string) string {
	if v == "" {
		return "no verdict"
	}
	return v
}
