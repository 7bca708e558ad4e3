package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// parseDuration reads a time flag: a Go duration ("90s", "5m", "1h30m") or
// a bare number of seconds ("90", "1.5"). Negative values are refused.
func parseDuration(flag, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		d = time.Duration(secs * float64(time.Second))
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, usagef("--%s %q: want a duration such as 90s, 5m, 1h30m, or a number of seconds", flag, s)
	}
	if d < 0 {
		return 0, usagef("--%s %q: a duration may not be negative", flag, s)
	}
	return d, nil
}

// durationAtLeast reads a time flag for which zero means nothing: a value
// below min (zero and an empty value included) is a usage error naming the
// flag, never replaced by a default behind the person's back.
func durationAtLeast(c *cli.Context, flag string, min time.Duration) (time.Duration, error) {
	d, err := parseDuration(flag, c.String(flag))
	if err != nil {
		return 0, err
	}
	if d < min {
		if min <= time.Nanosecond {
			return 0, usagef("--%s %q: must be more than zero", flag, c.String(flag))
		}
		return 0, usagef("--%s %q: must be at least %s", flag, c.String(flag), min)
	}
	return d, nil
}

// intAtLeast reads a number flag and refuses a value below min, naming
// the flag; what 0 means, where it is allowed, is in the flag's usage.
func intAtLeast(c *cli.Context, flag string, min int) (int, error) {
	n := c.Int(flag)
	if n < min {
		return 0, usagef("--%s %d: give %d or more", flag, n, min)
	}
	return n, nil
}
