package main

import (
	"strconv"
	"strings"
	"time"
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

// checkDuration refuses a time flag below min (zero and an empty value
// included, when min is more than zero), naming the flag and the text
// given: zero is never replaced by a default behind the person's back.
func checkDuration(flag, given string, d, min time.Duration) error {
	if d >= min {
		return nil
	}
	if min <= time.Nanosecond {
		return usagef("--%s %q: must be more than zero", flag, given)
	}
	return usagef("--%s %q: must be at least %s", flag, given, min)
}

// checkInt refuses a number flag below min, naming the flag; what 0
// means, where it is allowed, is in the flag's usage.
func checkInt(flag string, n, min int) error {
	if n < min {
		return usagef("--%s %d: give %d or more", flag, n, min)
	}
	return nil
}
