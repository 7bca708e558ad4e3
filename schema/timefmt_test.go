package schema_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/schema"
)

func TestParseTimeReadsEveryFormTheOriginalWrote(t *testing.T) {
	utc := time.Date(2026, 12, 3, 6, 14, 18, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-03T06:14:18Z", utc},
		{"2026-12-03T06:14:18.250000Z", utc.Add(250 * time.Millisecond)},
		{"2026-12-03T15:14:18+09:00", utc},
		{"2026-12-03 06:14:18 UTC", utc},    // Time#to_s of a UTC time, TimeWithZone#to_s
		{"2026-12-03 06:14:18 GMT", utc},    // ActiveSupport with a GMT zone
		{"2026-12-03 15:14:18 +0900", utc},  // Time#to_s with an offset
		{"2026-12-03 01:14:18 -0500", utc},  // a negative one
		{"2026-12-03 15:14:18 +09:00", utc}, // a colon in the offset
		{"2026-12-03 06:14:18", utc},        // no zone: UTC
		{"2026-12-03 06:14:18.5 UTC", utc.Add(500 * time.Millisecond)},
		{"Thu Dec  3 06:14:18 UTC 2026", utc},   // Ruby 1.8 Time#to_s
		{"Thu Dec 03 15:14:18 +0900 2026", utc}, // Ruby 1.8 with an offset
	} {
		got, err := schema.ParseTime(c.in)
		require.NoError(t, err, c.in)
		require.True(t, c.want.Equal(got), "%s: got %s, want %s", c.in, got, c.want)
	}
}

func TestParseTimeRefusesGarbageWithAReason(t *testing.T) {
	for _, in := range []string{"", "yesterday", "2026-13-03 06:14:18 UTC", "2026-12-03", "1733206458",
		"2026-12-03 06:14:18 JST", "2026-12-03T06:14:18"} {
		_, err := schema.ParseTime(in)
		require.ErrorIs(t, err, schema.ErrInvalid, in)
		if in == "2026-12-03 06:14:18 JST" {
			require.Contains(t, err.Error(), "numeric offset")
		} else {
			require.Contains(t, err.Error(), "RFC 3339")
		}
	}
}
