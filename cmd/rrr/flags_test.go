package main

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

// Zero never silently means the default (issue 19, item 7): every number
// and time flag of every command is in this table, with what 0 does.
// Refused: exit 2 with a message naming the flag. Accepted: the command
// gets past its flags (to the next usage error, or to Redis), and README
// says what 0 means.
func TestZeroOfEveryNumberFlag(t *testing.T) {
	// The parts would wait --redis-wait (30 s) for the unreachable Redis
	// each time a zero is accepted; exit at once instead.
	t.Setenv("RRR_REDIS_WAIT", "0")
	dir := project(t, map[string]string{"a.sh": ""})
	noRedis := "redis://127.0.0.1:1/0"
	taskset := func(cmd string) []string {
		return []string{"--redis", noRedis, cmd, "--dir", dir, "--trial-command", "sh {file}", "--rsync-remote-path", t.TempDir()}
	}
	const refused = ""
	cases := []struct {
		cmd, flag string
		accepted  string // what 0 means (README), or refused
	}{
		{"start", "max-trials", refused},
		{"start", "max-workers", "no limit"},
		{"start", "unknown-spec-timeout", refused},
		{"start", "least-timeout", refused},
		{"start", "timeout", "no limit"},
		{"local", "max-trials", refused},
		{"local", "max-workers", "no limit (ignored by local)"},
		{"local", "unknown-spec-timeout", refused},
		{"local", "least-timeout", refused},
		{"local", "timeout", "no limit"},
		{"local", "slaves", refused},
		{"waitfor", "timeout", "no limit"},
		{"worker", "slaves", refused},
		{"worker", "max-slave-crashes", "the first crash fails the taskset"},
		{"worker", "breaker", "the circuit breaker is off"},
		{"worker", "setup-timeout", refused},
		{"worker", "stop-grace", refused},
		{"worker", "heartbeat-ttl", refused},
		{"worker", "heartbeat-interval", refused},
		{"worker", "keep-logs", "outputs are kept for good"},
		{"server", "interval", refused},
		{"server", "sweep-interval", refused},
		{"server", "watch-interval", refused},
		{"server", "keep", refused},
		{"dispatcher", "interval", refused},
		{"arbiter", "sweep-interval", refused},
		{"arbiter", "watch-interval", refused},
		{"persister", "keep", refused},
		{"web", "autoscale-target", refused},
		{"server", "autoscale-target", refused},
		{"local", "autoscale-target", refused},
		{"start", "batch-target", refused},
		{"local", "batch-target", refused},
		{"start", "partition-target", refused},
		{"local", "partition-target", refused},
		{"start", "max-failures", "no limit"},
		{"server", "redis-wait", "exit at once"},
		{"dispatcher", "redis-wait", "exit at once"},
		{"arbiter", "redis-wait", "exit at once"},
		{"persister", "redis-wait", "exit at once"},
		{"worker", "redis-wait", "exit at once"},
		{"local", "max-failures", "no limit"},
		{"flaky", "runs", refused},
		{"flaky", "limit", "no limit"},
		{"quarantine add", "expires", "never expires"},
		{"bisect", "max-trials", refused},
		{"bisect", "max-workers", "ignored: a step runs on one worker"},
		{"bisect", "max-failures", "ignored: a step runs every spec"},
		{"bisect", "unknown-spec-timeout", refused},
		{"bisect", "least-timeout", refused},
		{"bisect", "batch-target", refused},
		{"bisect", "partition-target", refused},
	}

	// Every number or time flag is in the table.
	listed := map[string]bool{}
	for _, tc := range cases {
		listed[tc.cmd+" --"+tc.flag] = true
	}
	var all []*cli.Command
	for _, cmd := range commands() {
		all = append(all, cmd)
		for _, sub := range cmd.Subcommands {
			all = append(all, &cli.Command{Name: cmd.Name + " " + sub.Name, Flags: sub.Flags})
		}
	}
	for _, cmd := range all {
		for _, f := range cmd.Flags {
			name := f.Names()[0]
			switch f := f.(type) {
			case *cli.IntFlag:
			case *cli.StringFlag:
				if d, err := parseExpiry(name, f.Value); name != "timeout" && (err != nil || d == 0) {
					continue
				}
			default:
				continue
			}
			require.True(t, listed[cmd.Name+" --"+name], "rrr %s --%s takes a number: add it to this table with what 0 does", cmd.Name, name)
		}
	}

	for _, tc := range cases {
		t.Run(tc.cmd+" --"+tc.flag, func(t *testing.T) {
			var args []string
			switch tc.cmd {
			case "start", "local":
				// A SPEC that matches nothing: the usage error that comes
				// after the flags are read.
				args = append(taskset(tc.cmd), "--"+tc.flag, "0", "nothing-matches.sh")
			case "waitfor":
				args = []string{"--redis", noRedis, tc.cmd, "--" + tc.flag, "0", "KEY"}
			case "bisect":
				args = append(taskset(tc.cmd), "--"+tc.flag, "0", "KEY", "a.sh")
			case "quarantine add":
				args = []string{"--redis", noRedis, "quarantine", "add", "--reason", "why", "--" + tc.flag, "0", "a_spec.rb"}
			default:
				args = []string{"--redis", noRedis, tc.cmd, "--" + tc.flag, "0"}
			}
			code, _, stderr := rrr(t, args...)
			if tc.accepted == refused {
				require.Equal(t, exitUsage, code, stderr)
				require.Contains(t, stderr, "--"+tc.flag+" ", "the message names the flag")
				return
			}
			require.NotContains(t, stderr, "--"+tc.flag, "0 is accepted: %s", tc.accepted)
			if tc.cmd == "start" || tc.cmd == "local" {
				require.Contains(t, stderr, "no spec matched")
			} else {
				require.Equal(t, exitInfra, code, "past the flags, to Redis: %s", stderr)
			}
		})
	}
}
