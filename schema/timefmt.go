package schema

import (
	"fmt"
	"strings"
	"time"
)

// rubyLayouts are the ways the original RRRSpec wrote a time: Ruby's
// Time#to_s and ActiveSupport's TimeWithZone#to_s ("2026-12-03 06:14:18
// UTC", "... +0900", or no zone at all), and Ruby 1.8's Time#to_s
// ("Thu Dec 03 06:14:18 UTC 2026"). Fractions of a second after the
// seconds are accepted by time.Parse without being in the layout.
var rubyLayouts = []struct {
	layout string
	abbrev bool // the zone is an abbreviation (MST), which Go would not check
}{
	{"2006-01-02 15:04:05 -0700", false},
	{"2006-01-02 15:04:05 -07:00", false},
	{"2006-01-02 15:04:05 MST", true},
	{"2006-01-02 15:04:05", false},
	{"Mon Jan _2 15:04:05 -0700 2006", false},
	{"Mon Jan _2 15:04:05 MST 2006", true},
}

// ParseTime reads a protocol time: RFC 3339 (fractions optional), which is
// what rrr writes, or any form the original RRRSpec wrote (see
// rubyLayouts). A time without a zone is UTC. A zone abbreviation other
// than UTC or GMT is refused: Go cannot know its offset, and guessing would
// move the time silently.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, l := range rubyLayouts {
		t, err := time.Parse(l.layout, s)
		if err != nil {
			continue
		}
		if l.abbrev {
			if z, _ := t.Zone(); z != "UTC" && z != "GMT" {
				return time.Time{}, fmt.Errorf("time %q: %w: zone %q has no known offset; write UTC or a numeric offset (+0900)", s, ErrInvalid, z)
			}
			t = t.UTC()
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: %w: want RFC 3339 (2006-01-02T15:04:05Z) or Ruby's Time#to_s (2006-01-02 15:04:05 UTC)", strings.TrimSpace(s), ErrInvalid)
}

// FormatTime writes a protocol time, as the scripts do.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }
