package client

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/schema"
)

// FlakySpec is a spec's record over its last recorded runs of a class
// ($NS:history:<class>, written by the persister).
type FlakySpec struct {
	Spec      string  `json:"spec_file"`
	Runs      int     `json:"runs"`
	Flaky     int     `json:"flaky"`
	Failed    int     `json:"failed"`
	Errored   int     `json:"errored"`
	FlakyRate float64 `json:"flaky_rate"`
	FailRate  float64 `json:"fail_rate"`
	// History is the outcome letters of those runs, oldest first (P
	// passed, F flaky, X failed, E errored).
	History string `json:"history"`
	// Quarantined is the reason when the spec is in quarantine now.
	Quarantined string `json:"quarantined,omitempty"`
}

// Flakiest ranks the specs of a class's history over their last runs
// outcomes (at most schema.HistoryRuns): those that were flaky or failed
// at least once, the highest flaky rate first, then the highest failure
// rate, then by name. limit > 0 keeps the first limit.
func Flakiest(history map[string]string, runs, limit int) []FlakySpec {
	out := []FlakySpec{}
	for spec, h := range history {
		if runs > 0 && len(h) > runs {
			h = h[len(h)-runs:]
		}
		f := FlakySpec{Spec: spec, Runs: len(h), History: h,
			Flaky:   strings.Count(h, schema.HistoryFlaky),
			Failed:  strings.Count(h, schema.HistoryFailed),
			Errored: strings.Count(h, schema.HistoryError)}
		if f.Runs == 0 || f.Flaky+f.Failed == 0 {
			continue
		}
		f.FlakyRate = float64(f.Flaky) / float64(f.Runs)
		f.FailRate = float64(f.Failed) / float64(f.Runs)
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.FlakyRate != b.FlakyRate {
			return a.FlakyRate > b.FlakyRate
		}
		if a.FailRate != b.FailRate {
			return a.FailRate > b.FailRate
		}
		return a.Spec < b.Spec
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Flaky reads the history and the quarantine of class and ranks its specs
// (Flakiest), marking those in quarantine now.
func (c *Client) Flaky(ctx context.Context, class string, runs, limit int) ([]FlakySpec, error) {
	h, err := c.Schema.History(ctx, class)
	if err != nil {
		return nil, err
	}
	q, err := c.Schema.ActiveQuarantine(ctx, class)
	if err != nil {
		return nil, err
	}
	out := Flakiest(h, runs, limit)
	for i := range out {
		out[i].Quarantined = q[out[i].Spec]
	}
	return out, nil
}

// WriteFlaky prints the ranking for people.
func WriteFlaky(w io.Writer, class string, specs []FlakySpec) {
	if len(specs) == 0 {
		fmt.Fprintf(logx.EscapeWriter(w), "no spec of class %q was flaky or failed in its recorded runs\n", class)
		return
	}
	rows := make([][]any, 0, len(specs))
	for _, f := range specs {
		q := ""
		if f.Quarantined != "" {
			q = "yes: " + f.Quarantined
		}
		last := f.History
		if len(last) > 20 {
			last = "…" + last[len(last)-20:]
		}
		rows = append(rows, []any{f.Spec, f.Runs, rate(f.Flaky, f.FlakyRate), rate(f.Failed, f.FailRate), f.Errored, last, q})
	}
	writeTable(w, "SPEC\tRUNS\tFLAKY\tFAILED\tERRORED\tLAST RUNS (oldest first)\tQUARANTINED", rows)
	fmt.Fprintln(w, "(P passed the first time, F flaky: failed then passed, X failed, E errored)")
}

func rate(n int, r float64) string { return fmt.Sprintf("%.0f%% (%d)", 100*r, n) }

// writeTable prints a header and rows in aligned columns, escaped.
func writeTable(w io.Writer, header string, rows [][]any) {
	tw := tabwriter.NewWriter(logx.EscapeWriter(w), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, v)
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
}

// WriteQuarantine prints a class's quarantine for people; now is the
// Redis time the list was read at.
func WriteQuarantine(w io.Writer, class string, q []schema.Quarantined, now time.Time) {
	if len(q) == 0 {
		fmt.Fprintf(logx.EscapeWriter(w), "no spec of class %q is in quarantine\n", class)
		return
	}
	rows := make([][]any, 0, len(q))
	for _, e := range q {
		expires := "never"
		switch {
		case e.Expired:
			expires = "expired " + fmtDuration(now.Sub(e.ExpiresAt).Round(time.Second)) + " ago"
		case !e.ExpiresAt.IsZero():
			expires = "in " + fmtDuration(e.ExpiresAt.Sub(now).Round(time.Second))
		}
		rows = append(rows, []any{e.Spec, e.Reason, e.AddedAt.UTC().Format("2006-01-02 15:04"), expires, e.By})
	}
	writeTable(w, "SPEC\tREASON\tADDED\tEXPIRES\tBY", rows)
}
