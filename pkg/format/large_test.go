package format

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/schema"
)

// bigReport writes a report of about size bytes in format: every tenth
// case fails with a long message, the rest pass.
func bigReport(format string, size int) (report []byte, cases int) {
	var b strings.Builder
	msg := strings.Repeat("assertion failed: want 1, got 2 ", 40)
	switch format {
	case schema.FormatJUnit:
		b.WriteString("<testsuites><testsuite>")
	case schema.FormatRSpecJSON:
		b.WriteString(`{"version":"3.12.0","examples":[`)
	case schema.FormatTAP:
		b.WriteString("TAP version 13\n")
	}
	for ; b.Len() < size; cases++ {
		fail := cases%10 == 0
		switch format {
		case schema.FormatJUnit:
			if fail {
				fmt.Fprintf(&b, `<testcase name="case %d" time="0.1"><failure message="boom">%s</failure></testcase>`, cases, msg)
			} else {
				fmt.Fprintf(&b, `<testcase name="case %d" time="0.1"><system-out>%s</system-out></testcase>`, cases, msg)
			}
		case schema.FormatRSpecJSON:
			if cases > 0 {
				b.WriteByte(',')
			}
			if fail {
				fmt.Fprintf(&b, `{"full_description":"case %d","status":"failed","exception":{"message":%q}}`, cases, msg)
			} else {
				fmt.Fprintf(&b, `{"full_description":"case %d","status":"passed","run_time":0.1}`, cases)
			}
		case schema.FormatGoTestJSON:
			fmt.Fprintf(&b, `{"Action":"run","Package":"p","Test":"Test%d"}`+"\n", cases)
			fmt.Fprintf(&b, `{"Action":"output","Package":"p","Test":"Test%d","Output":%q}`+"\n", cases, msg+"\n")
			action := "pass"
			if fail {
				action = "fail"
			}
			fmt.Fprintf(&b, `{"Action":%q,"Package":"p","Test":"Test%d","Elapsed":0.1}`+"\n", action, cases)
		case schema.FormatTAP:
			if fail {
				fmt.Fprintf(&b, "not ok %d - case %d\n# %s\n", cases+1, cases, msg)
			} else {
				fmt.Fprintf(&b, "ok %d - case %d\n", cases+1, cases)
			}
		}
	}
	switch format {
	case schema.FormatJUnit:
		b.WriteString("</testsuite></testsuites>")
	case schema.FormatRSpecJSON:
		b.WriteString(`]}`)
	case schema.FormatTAP:
		fmt.Fprintf(&b, "1..%d\n", cases)
	}
	return []byte(b.String()), cases
}

var largeFormats = []string{schema.FormatJUnit, schema.FormatRSpecJSON, schema.FormatGoTestJSON, schema.FormatTAP}

// TestLargeReport: all cases are counted, and the Outcome keeps only the
// capped cases, not the report or one entry per case.
func TestLargeReport(t *testing.T) {
	for _, format := range largeFormats {
		t.Run(format, func(t *testing.T) {
			report, cases := bigReport(format, 4<<20)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			o, err := Parse(schema.FormatAuto, report, nil)
			require.NoError(t, err)
			runtime.GC()
			runtime.ReadMemStats(&after)

			require.Equal(t, format, o.Format)
			failed := (cases + 9) / 10
			require.Equal(t, failed, o.Failed)
			require.Equal(t, cases-failed, o.Passed)
			require.Len(t, o.Cases, MaxCases)
			kept := min(failed, MaxCases)
			require.Equal(t, schema.StatusFailed, o.Cases[kept-1].Status)
			if kept < MaxCases {
				require.Equal(t, schema.StatusPassed, o.Cases[kept].Status)
			}
			requireSane(t, o)
			// At most 500 cases of ~1.3 KiB each; the report is 4 MiB.
			retained := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			require.Less(t, retained, int64(2<<20), "bytes kept after parsing")
			runtime.KeepAlive(report)
		})
	}
}

// BenchmarkParseLarge parses 50 MB reports; B/op is what parsing allocated
// over its run (garbage included), not its peak.
func BenchmarkParseLarge(b *testing.B) {
	for _, format := range largeFormats {
		b.Run(format, func(b *testing.B) {
			report, _ := bigReport(format, 50<<20)
			b.SetBytes(int64(len(report)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(format, report, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
