package web

import (
	"fmt"
	"sort"
	"time"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
)

// Gantt is the timeline of a taskset's trials, one lane per slave, drawn
// as SVG on the server: where the tail was, and which slaves sat idle.
type Gantt struct {
	Width, Height, Left int
	Rows                []GanttRow
	Bars                []GanttBar
	Ticks               []GanttTick
	Note                string
}

// GanttRow is a slave's lane.
type GanttRow struct {
	Name         string
	TextY, LineY int
}

// GanttBar is one trial.
type GanttBar struct {
	X, Y, W, H float64
	Status     string
	Title      string
}

// GanttTick is a time label on the axis.
type GanttTick struct {
	X     float64
	Label string
}

// ganttBars bounds the trials drawn: past it the picture says so.
const ganttBars = 2000

// ganttOf draws the trials of s; nil when none started.
func ganttOf(s *model.Snapshot, now time.Time) *Gantt {
	type bar struct {
		tr   model.Trial
		spec string
	}
	lanes := map[string][]bar{}
	var first, last time.Time
	n := 0
	for _, t := range s.Tasks {
		for _, tr := range t.Trials {
			if tr.StartedAt.IsZero() {
				continue
			}
			n++
			end := tr.FinishedAt.Time
			if end.IsZero() {
				end = now
			}
			if first.IsZero() || tr.StartedAt.Before(first) {
				first = tr.StartedAt.Time
			}
			if end.After(last) {
				last = end
			}
			lanes[tr.Slave] = append(lanes[tr.Slave], bar{tr, t.SpecFile})
		}
	}
	if n == 0 {
		return nil
	}
	names := make([]string, 0, len(lanes))
	for k := range lanes {
		names = append(names, k)
	}
	sort.Strings(names)
	const left, width, lane, axis = 220, 1100, 18, 14
	g := &Gantt{Width: width, Left: left, Height: len(names)*lane + axis + 4}
	span := last.Sub(first)
	if span <= 0 {
		span = time.Millisecond
	}
	scale := float64(width-left-4) / float64(span)
	drawn := 0
	for i, name := range names {
		y := i * lane
		g.Rows = append(g.Rows, GanttRow{Name: shortSlave(name), TextY: y + 13, LineY: y + lane})
		for _, b := range lanes[name] {
			if drawn == ganttBars {
				break
			}
			drawn++
			end := b.tr.FinishedAt.Time
			if end.IsZero() {
				end = now
			}
			x := float64(left) + float64(b.tr.StartedAt.Sub(first))*scale
			w := max(1, float64(end.Sub(b.tr.StartedAt.Time))*scale)
			g.Bars = append(g.Bars, GanttBar{X: x, Y: float64(y + 2), W: w, H: lane - 4,
				Status: orWord(b.tr.Status, "running"), Title: b.spec + ": " + client.TrialLine(b.tr)})
		}
	}
	for i := 0; i <= 4; i++ {
		d := span * time.Duration(i) / 4
		x := float64(left) + float64(d)*scale
		if i == 4 {
			x -= 50 // the last label ends at the edge
		}
		g.Ticks = append(g.Ticks, GanttTick{X: x, Label: "+" + client.FormatDuration(d)})
	}
	if drawn < n {
		g.Note = fmt.Sprintf("%d of %d trials drawn.", drawn, n)
	}
	return g
}

// shortSlave is a slave key without its namespace: worker:W:slave:PID.
func shortSlave(key string) string {
	if key == "" {
		return "(no slave)"
	}
	for i := 0; i+8 <= len(key); i++ {
		if key[i:i+8] == ":worker:" {
			return key[i+8:]
		}
	}
	return key
}
