package main

import (
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
)

// A command's configuration is a struct whose fields carry the flag they
// are read from, `flag:"name"`; embedded structs are flags shared between
// commands. Defaults live in one place, the flags' Value (README's tables
// show them); readFlags fills the struct, then checkFlags checks what zero
// or a small value would make meaningless, from the `min:"..."` tags:
//
//	min:"1ns"  a time, more than zero     min:"1s"  a time, at least 1s
//	min:"0"    a number, 0 or more        unset:"ok"  the empty text is 0 and allowed
//
// commandConfigs names the struct of each command; TestEveryFlagHasAField
// checks that every flag of a command is a field of its struct and every
// field a flag, so a new flag cannot be left unread.

// commandConfigs maps the command names of commands() ("quarantine add"
// for a subcommand) to their configuration structs. A command without
// flags of its own needs none.
var commandConfigs = map[string]any{
	"local":      localCmdConfig{},
	"start":      startCmdConfig{},
	"bisect":     bisectCmdConfig{},
	"waitfor":    waitforCmdConfig{},
	"web":        webConfig{},
	"server":     serverConfig{},
	"dispatcher": dispatcherCmdConfig{},
	"arbiter":    arbiterCmdConfig{},
	"persister":  persisterCmdConfig{},
	"worker":     workerCmdConfig{},

	"show":              showCmdConfig{},
	"actives":           jsonConfig{},
	"nodes":             jsonConfig{},
	"flaky":             flakyCmdConfig{},
	"quarantine add":    quarantineAddConfig{},
	"quarantine list":   quarantineListConfig{},
	"quarantine remove": classConfig{},
	"version":           jsonConfig{},
}

// jsonConfig is the --json of the commands that print JSON for scripts.
type jsonConfig struct {
	JSON bool `flag:"json"`
}

// globalConfig is the configuration of the app's own flags.
type globalConfig struct {
	Redis     string `flag:"redis"`
	RedisCA   string `flag:"redis-ca"`
	RedisCert string `flag:"redis-cert"`
	RedisKey  string `flag:"redis-key"`
	Namespace string `flag:"namespace"`
	LogLevel  string `flag:"log-level"`
	LogFormat string `flag:"log-format"`
}

// globals reads the global flags; they are strings, which cannot fail.
func globals(c *cli.Context) globalConfig {
	var g globalConfig
	_ = readFlags(c, &g)
	return g
}

// readFlags fills the tagged fields of the struct dst points to from the
// flags of c (strings, bools, ints and times; a time is a Go duration or a
// number of seconds, never negative).
func readFlags(c *cli.Context, dst any) error {
	return walkFlags(reflect.ValueOf(dst).Elem(), func(f reflect.Value, name string, _ reflect.StructTag) error {
		switch f.Interface().(type) {
		case string:
			f.SetString(c.String(name))
		case bool:
			f.SetBool(c.Bool(name))
		case int:
			f.SetInt(int64(c.Int(name)))
		case time.Duration:
			d, err := parseDuration(name, c.String(name))
			if err != nil {
				return err
			}
			f.SetInt(int64(d))
		default:
			panic(fmt.Sprintf("flag %s: no reader of %s", name, f.Type()))
		}
		return nil
	})
}

// checkFlags checks the fields readFlags filled against their min tags,
// with messages that name the flag and the value given.
func checkFlags(c *cli.Context, cfg any) error {
	return walkFlags(reflect.ValueOf(cfg), func(f reflect.Value, name string, tag reflect.StructTag) error {
		min, ok := tag.Lookup("min")
		if !ok || (tag.Get("unset") == "ok" && c.String(name) == "") {
			return nil
		}
		switch v := f.Interface().(type) {
		case time.Duration:
			least, err := time.ParseDuration(min)
			if err != nil {
				panic(fmt.Sprintf("flag %s: min %q: %v", name, min, err))
			}
			return checkDuration(name, c.String(name), v, least)
		case int:
			least, err := strconv.Atoi(min)
			if err != nil {
				panic(fmt.Sprintf("flag %s: min %q: %v", name, min, err))
			}
			return checkInt(name, v, least)
		}
		panic(fmt.Sprintf("flag %s: no min of %s", name, f.Type()))
	})
}

// loadFlags is readFlags, then checkFlags.
func loadFlags(c *cli.Context, dst any) error {
	if err := readFlags(c, dst); err != nil {
		return err
	}
	return checkFlags(c, reflect.ValueOf(dst).Elem().Interface())
}

// walkFlags calls do for every field of the struct v with a flag tag, in
// order, embedded structs included.
func walkFlags(v reflect.Value, do func(f reflect.Value, name string, tag reflect.StructTag) error) error {
	for i := range v.NumField() {
		sf, f := v.Type().Field(i), v.Field(i)
		if name, ok := sf.Tag.Lookup("flag"); ok {
			if err := do(f, name, sf.Tag); err != nil {
				return err
			}
		} else if sf.Anonymous && f.Kind() == reflect.Struct {
			if err := walkFlags(f, do); err != nil {
				return err
			}
		}
	}
	return nil
}
