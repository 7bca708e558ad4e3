// Package logx sets up the zerolog logger every rrr process uses.
package logx

import (
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"
)

// New returns a logger at level ("debug", "info", "warn", "error") writing
// format ("console" for people, "json" for log collectors) to w.
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "json":
	case "console":
		// Field values come quoted; the message is printed as it is, and
		// may carry a spec name or a line of a test's output.
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, FormatMessage: func(i any) string {
			if i == nil {
				return ""
			}
			return Escape(fmt.Sprint(i))
		}}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want console or json", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// Every returns a function that reports whether an event of a kind should
// be logged now: at most once per interval per kind, so that a loop that
// fails on every attempt (Redis is down) logs once per interval, not once
// per attempt. It is not safe for concurrent use.
func Every(interval time.Duration, now func() time.Time) func(kind string) bool {
	last := map[string]time.Time{}
	return func(kind string) bool {
		t := now()
		if prev, ok := last[kind]; ok && t.Sub(prev) < interval {
			return false
		}
		last[kind] = t
		return true
	}
}
