package main

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

// Every flag of every command is a field of its command's configuration
// struct, of the type the flag reads, and every field is a flag: a new
// flag that is not wired fails here.
func TestEveryFlagHasAField(t *testing.T) {
	app := newApp(nil, nil)
	require.Empty(t, flagFieldProblems(app.Flags, globalConfig{}), "global flags")

	var all []*cli.Command
	for _, cmd := range app.Commands {
		all = append(all, cmd)
		for _, sub := range cmd.Subcommands {
			all = append(all, &cli.Command{Name: cmd.Name + " " + sub.Name, Flags: sub.Flags})
		}
	}
	for _, cmd := range all {
		cfg, ok := commandConfigs[cmd.Name]
		if !ok {
			require.Empty(t, cmd.Flags, "rrr %s has flags: give it a configuration struct in commandConfigs", cmd.Name)
			continue
		}
		require.Empty(t, flagFieldProblems(cmd.Flags, cfg), "rrr %s", cmd.Name)
	}
	for name := range commandConfigs {
		require.True(t, slices.ContainsFunc(all, func(c *cli.Command) bool { return c.Name == name }), "no command %q", name)
	}
}

// The check itself finds an unwired flag, a field without its flag, and a
// field of the wrong type.
func TestFlagFieldProblems(t *testing.T) {
	type cfg struct {
		A    string        `flag:"a"`
		N    int           `flag:"n"`
		D    time.Duration `flag:"d"`
		Gone string        `flag:"gone"`
	}
	flags := []cli.Flag{
		&cli.StringFlag{Name: "a"}, &cli.StringFlag{Name: "n"}, &cli.StringFlag{Name: "d"}, &cli.BoolFlag{Name: "new"},
	}
	require.ElementsMatch(t, []string{
		"--new: no field has the tag flag:\"new\"",
		"field N (flag:\"n\"): an int, but --n is a *cli.StringFlag",
		"field Gone (flag:\"gone\"): the command has no --gone",
	}, flagFieldProblems(flags, cfg{}))
}

// A struct is filled from the command line, .rrr.yml and RRR_* alike, and
// checked with the messages of old, naming the flag and the text given.
func TestReadAndCheckFlags(t *testing.T) {
	type cfg struct {
		partConfig
		Name   string        `flag:"name"`
		On     bool          `flag:"on"`
		N      int           `flag:"n" min:"1"`
		D      time.Duration `flag:"d" min:"1s"`
		Target time.Duration `flag:"target" min:"1ns" unset:"ok"`
	}
	run := func(args ...string) (cfg, error) {
		var got cfg
		app := &cli.App{Name: "t", Commands: []*cli.Command{{Name: "c", Flags: []cli.Flag{
			redisWaitFlag(), &cli.StringFlag{Name: "name", EnvVars: []string{"RRR_TEST_NAME"}}, &cli.BoolFlag{Name: "on"},
			&cli.IntFlag{Name: "n", Value: 3}, &cli.StringFlag{Name: "d", Value: "10m"}, &cli.StringFlag{Name: "target"},
		}, Action: func(c *cli.Context) error { return loadFlags(c, &got) }}}}
		err := app.Run(append([]string{"t", "c"}, args...))
		return got, err
	}
	t.Setenv("RRR_TEST_NAME", "from-env")
	got, err := run()
	require.NoError(t, err)
	require.Equal(t, cfg{partConfig: partConfig{RedisWait: 30 * time.Second}, Name: "from-env", N: 3, D: 10 * time.Minute}, got,
		"the flags' defaults, the environment")
	got, err = run("--on", "--n", "2", "--d", "90", "--target", "1.5", "--redis-wait", "0")
	require.NoError(t, err)
	require.Equal(t, cfg{Name: "from-env", On: true, N: 2, D: 90 * time.Second, Target: 1500 * time.Millisecond}, got)

	for args, want := range map[string]string{
		"--n 0":          "--n 0: give 1 or more",
		"--d 0.5":        `--d "0.5": must be at least 1s`,
		"--target 0":     `--target "0": must be more than zero`,
		"--d -1s":        `--d "-1s": a duration may not be negative`,
		"--d soon":       `--d "soon": want a duration`,
		"--redis-wait x": `--redis-wait "x": want a duration`,
	} {
		var a, v string
		_, _ = fmt.Sscan(args, &a, &v)
		_, err := run(a, v)
		require.ErrorContains(t, err, want, args)
		var ue usageErr
		require.ErrorAs(t, err, &ue, "a usage error (exit 2)")
	}
}

// flagFieldProblems lists what does not match between flags and the
// flag-tagged fields of cfg.
func flagFieldProblems(flags []cli.Flag, cfg any) []string {
	fields := map[string]reflect.Type{}
	var order []string
	names := map[string]string{}
	_ = walkFlags(reflect.ValueOf(cfg), func(f reflect.Value, name string, _ reflect.StructTag) error {
		fields[name] = f.Type()
		order = append(order, name)
		return nil
	})
	// the field names, for the messages
	var fieldNames func(t reflect.Type)
	fieldNames = func(t reflect.Type) {
		for i := range t.NumField() {
			sf := t.Field(i)
			if n, ok := sf.Tag.Lookup("flag"); ok {
				names[n] = sf.Name
			} else if sf.Anonymous {
				fieldNames(sf.Type)
			}
		}
	}
	fieldNames(reflect.TypeOf(cfg))

	var problems []string
	seen := map[string]bool{}
	for _, f := range flags {
		name := f.Names()[0]
		if name == "help" {
			continue
		}
		seen[name] = true
		typ, ok := fields[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("--%s: no field has the tag flag:%q", name, name))
			continue
		}
		var fits bool
		switch f.(type) {
		case *cli.StringFlag:
			fits = typ == reflect.TypeOf("") || typ == reflect.TypeOf(time.Duration(0))
		case *cli.IntFlag:
			fits = typ == reflect.TypeOf(0)
		case *cli.BoolFlag:
			fits = typ == reflect.TypeOf(false)
		}
		if !fits {
			problems = append(problems, fmt.Sprintf("field %s (flag:%q): %s, but --%s is a %T", names[name], name, article(typ), name, f))
		}
	}
	for _, name := range order {
		if !seen[name] {
			problems = append(problems, fmt.Sprintf("field %s (flag:%q): the command has no --%s", names[name], name, name))
		}
	}
	return problems
}

func article(t reflect.Type) string {
	if t.String() == "int" {
		return "an int"
	}
	return "a " + t.String()
}

// A slave whose RRR_SLAVE_CONFIG is not the JSON the worker writes exits
// 2 and names the variable, before it dials Redis.
func TestSlaveCommandBadConfig(t *testing.T) {
	for name, v := range map[string]string{
		"RRR_TASKSET": "rrr:taskset:x", "RRR_WORKER": "rrr:worker:w", "RRR_SLAVE": "rrr:worker:w:slave:1-a",
		"SLAVE_NUMBER": "1", "NUM_SLAVES": "1", "RRR_WORKING_COPY": t.TempDir(), "RRR_OUTPUT_DIR": t.TempDir(),
		"RRR_SLAVE_CONFIG": "ttl=4s,interval=1s",
	} {
		t.Setenv(name, v)
	}
	code, _, stderr := rrr(t, "--redis", "redis://127.0.0.1:1/0", "slave")
	require.Equal(t, exitUsage, code, stderr)
	require.Contains(t, stderr, "RRR_SLAVE_CONFIG: want the JSON object `rrr worker` writes")
}
