// Command rrr shards a test suite over many machines, coordinated by Redis.
// This package is wiring only: one file per command, each with its flags
// (every flag also reads an RRR_* environment variable) and a small action.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/version"
)

func init() {
	// --version prints the same line as `rrr version`; no -v, which reads
	// like --verbose.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and exit"}
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, c.App.Version) }
}

// Exit codes of waitfor, start --wait, local and show; see README.md.
// pkg/model/verdict.go defines them, beside the verdicts they stand for;
// these short names are the commands' own.
const (
	exitOK        = model.ExitOK
	exitFailed    = model.ExitFailed // tests failed
	exitUsage     = model.ExitUsage  // bad command line or input
	exitCancelled = model.ExitCancelled
	exitInfra     = model.ExitInfra // setup failed, Redis unreachable, wait time-out
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	app.Metadata = map[string]any{argvKey: args}
	err := app.Run(args)
	return exitCode(err, stderr)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "rrr",
		Usage:     "shard a test suite over many machines, coordinated by Redis",
		UsageText: "rrr [global options] command [command options] [arguments...]",
		Description: "A developer or CI step runs `rrr start --wait`; `rrr worker` runs on every build box and\n" +
			"`rrr server` once. `rrr local` runs it all in one process, with an embedded Redis.\n" +
			"Flags go before positional arguments: `rrr show --json KEY`.",
		Writer:               stdout,
		ErrWriter:            stderr,
		Flags:                globalFlags(),
		Commands:             commands(),
		OnUsageError:         usageError,
		CommandNotFound:      commandNotFound,
		EnableBashCompletion: false,
		Version:              version.Get().String(),
		ExitErrHandler:       func(*cli.Context, error) {}, // run() maps errors to exit codes
	}
}

// commands lists every command, in the order `rrr --help` shows them.
func commands() []*cli.Command {
	cmds := []*cli.Command{
		localCommand(),
		startCommand(), bisectCommand(), waitforCommand(), showCommand(), cancelCommand(), cancelallCommand(),
		activesCommand(), nodesCommand(), flakyCommand(), quarantineCommand(), webCommand(),
		serverCommand(),
		dispatcherCommand(),
		arbiterCommand(),
		persisterCommand(),
		workerCommand(),
		slaveCommand(),
		versionCommand(),
	}
	for _, c := range cmds {
		c.OnUsageError = usageError
		for _, sub := range c.Subcommands {
			sub.OnUsageError = usageError
		}
	}
	return cmds
}

// usageErr is an error that exits with exitUsage.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

// usagef returns a usage error.
func usagef(format string, args ...any) error { return usageErr{fmt.Sprintf(format, args...)} }

func usageError(c *cli.Context, err error, _ bool) error {
	return usageErr{fmt.Sprintf("%v (see `%s --help`)", err, c.Command.HelpName)}
}

func commandNotFound(c *cli.Context, name string) {
	fmt.Fprintf(c.App.ErrWriter, "rrr: no command %q; see `rrr --help`\n", name)
	os.Exit(exitUsage)
}

// exitErr carries an exit code and a message for the person.
type exitErr struct {
	code int
	msg  string
}

func (e exitErr) Error() string { return e.msg }

// exitf returns an error that makes rrr exit with code after printing the
// message (none when it is empty).
func exitf(code int, format string, args ...any) error {
	return exitErr{code: code, msg: fmt.Sprintf(format, args...)}
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee exitErr
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "rrr:", logx.Escape(ee.msg))
		}
		return ee.code
	}
	var ue usageErr
	if errors.As(err, &ue) || isFlagError(err) {
		fmt.Fprintln(stderr, "rrr:", logx.Escape(err.Error()))
		return exitUsage
	}
	fmt.Fprintln(stderr, "rrr:", logx.Escape(err.Error()))
	return exitInfra
}

// isFlagError recognizes urfave/cli's own parse errors that reach run()
// without passing OnUsageError (flags of the app itself).
func isFlagError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "flag provided but not defined") || strings.Contains(msg, "invalid value")
}

// argvKey holds the command line in the app's Metadata, for positional.
const argvKey = "argv"

// positional returns the command's arguments, refusing a flag written after
// them (urfave/cli stops parsing flags at the first argument, so it would be
// taken as an argument) and a count outside [min, max] (max < 0: no limit).
// After "--" every word is an argument, even one starting with "-".
func positional(c *cli.Context, min, max int, what string) ([]string, error) {
	args := c.Args().Slice()
	checked, rest := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		checked, rest = args[:i], args[i+1:]
	} else if endedByDashes(c, args) {
		checked, rest = nil, args
	}
	for _, a := range checked {
		if strings.HasPrefix(a, "-") && a != "-" {
			return nil, usagef("%q looks like a flag after an argument: flags go before arguments, as in `%s [options] %s` "+
				"(after \"--\" every word is an argument)", a, c.Command.HelpName, what)
		}
	}
	args = append(slices.Clip(checked), rest...)
	if len(args) < min || (max >= 0 && len(args) > max) {
		return nil, usagef("`%s` takes %s (got %d arguments)", c.Command.HelpName, what, len(args))
	}
	return args, nil
}

// endedByDashes reports whether the command's flags were ended by "--"
// right before args: the flag parser drops that "--", so it is looked for
// on the command line (args are its last words).
func endedByDashes(c *cli.Context, args []string) bool {
	argv, _ := c.App.Metadata[argvKey].([]string)
	i := len(argv) - len(args) - 1
	return i > 0 && argv[i] == "--" && slices.Equal(argv[i+1:], args)
}
