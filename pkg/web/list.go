package web

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

// Row is one taskset of the list.
type Row struct {
	ID         string     `json:"id"`
	Key        string     `json:"key"`
	RsyncName  string     `json:"rsync_name"`
	Status     string     `json:"status"`
	Verdict    string     `json:"verdict"`
	Class      string     `json:"taskset_class"`
	WorkerType string     `json:"worker_type"`
	CreatedAt  model.Time `json:"created_at"`
	FinishedAt model.Time `json:"finished_at"`
	Total      int        `json:"total"`
	Done       int        `json:"done"`
	Failed     int        `json:"failed"`
	// DurationSec is created -> finished, or -> now while it runs.
	DurationSec float64 `json:"duration_sec"`
	// Efficiency is the lower bound of the run over its trials' wall time
	// (client.Balance); 0 when unknown (not computed for a running one).
	Efficiency float64 `json:"efficiency"`
	Active     bool    `json:"active"`
	Source     string  `json:"source"`
}

func rowOf(ts model.Taskset, now time.Time) Row {
	r := Row{ID: ts.ID, Key: ts.Key, RsyncName: ts.RsyncName, Status: ts.Status, Verdict: model.VerdictOf(ts).String(),
		Class: ts.TasksetClass, WorkerType: ts.WorkerType, CreatedAt: ts.CreatedAt, FinishedAt: ts.FinishedAt,
		Total: ts.TaskCount, Done: ts.SucceededCount + ts.FailedCount, Failed: ts.FailedCount}
	end := ts.FinishedAt.Time
	if end.IsZero() {
		end = now
	}
	if !ts.CreatedAt.IsZero() {
		r.DurationSec = max(0, end.Sub(ts.CreatedAt.Time)).Seconds()
	}
	return r
}

// storeCache keeps the rows of persisted tasksets, read once per document
// (by modification time): a list of the store reads no document twice.
type storeCache struct {
	dir  string
	mu   sync.Mutex
	rows map[string]cachedRow
}

type cachedRow struct {
	mod time.Time
	row Row
}

// list returns a row per persisted taskset; documents that cannot be read
// are named in problems.
func (c *storeCache) list() ([]Row, []string, error) {
	if c.dir == "" {
		return nil, nil, nil
	}
	ids, err := store.List(c.dir)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rows == nil {
		c.rows = map[string]cachedRow{}
	}
	var out []Row
	var problems []string
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
		fi, err := os.Stat(filepath.Join(store.Path(c.dir, id), store.Document))
		if err != nil {
			continue // replaced meanwhile
		}
		if cr, ok := c.rows[id]; ok && cr.mod.Equal(fi.ModTime()) {
			out = append(out, cr.row)
			continue
		}
		s, err := store.Read(c.dir, id)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		r := rowOf(s.Taskset, s.FinishedAt.Time)
		r.Total = max(r.Total, len(s.Tasks))
		r.Efficiency = client.ComputeBalance(s, s.FinishedAt.Time).Efficiency()
		r.Source = "results store"
		c.rows[id] = cachedRow{mod: fi.ModTime(), row: r}
		out = append(out, r)
	}
	for id := range c.rows {
		if !seen[id] {
			delete(c.rows, id)
		}
	}
	return out, problems, nil
}

// Filter chooses tasksets of the list.
type Filter struct {
	RsyncName, Status, Class string
	Page, PerPage            int
}

// filterOf reads a Filter from a query.
func (s *Server) filterOf(q url.Values) (Filter, error) {
	f := Filter{RsyncName: q.Get("rsync_name"), Status: q.Get("status"), Class: q.Get("class"), Page: 1, PerPage: s.cfg.PageSize}
	for _, p := range []struct {
		name string
		v    *int
		max  int
	}{{"page", &f.Page, 1 << 30}, {"per_page", &f.PerPage, 1000}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > p.max {
				return f, fmt.Errorf("%w: %s=%q: want a whole number from 1 to %d", errBadQuery, p.name, v, p.max)
			}
			*p.v = n
		}
	}
	return f, nil
}

func (f Filter) match(r Row) bool {
	st := r.Status
	if st == "" {
		st = "waiting"
	}
	return (f.RsyncName == "" || r.RsyncName == f.RsyncName) && (f.Status == "" || st == f.Status) &&
		(f.Class == "" || r.Class == f.Class)
}

// List is a page of the tasksets list.
type List struct {
	Tasksets []Row `json:"tasksets"`
	Page     int   `json:"page"`
	PerPage  int   `json:"per_page"`
	// Total is how many tasksets match the filter.
	Total int `json:"total"`
	// RedisError says why the active tasksets are missing, when they are.
	RedisError string   `json:"redis_error,omitempty"`
	Problems   []string `json:"problems,omitempty"`
}

// Pages is how many pages the list has.
func (l List) Pages() int { return max(1, (l.Total+l.PerPage-1)/l.PerPage) }

// tasksets lists active (Redis) and persisted (store) tasksets, newest
// first. Redis down is no error: the persisted ones are listed, and the
// list says why the rest are missing.
func (s *Server) tasksets(ctx context.Context, f Filter) (List, error) {
	out := List{Tasksets: []Row{}, Page: f.Page, PerPage: f.PerPage}
	byID := map[string]Row{}
	now := s.redisNow(ctx)
	keys, err := s.cl.Reader.Active(ctx)
	if err != nil {
		out.RedisError = err.Error()
	}
	for _, k := range keys {
		ts, err := s.cl.Reader.Taskset(ctx, k)
		if err != nil {
			out.Problems = append(out.Problems, err.Error())
			continue
		}
		r := rowOf(ts, now)
		r.Active, r.Source = true, "redis"
		byID[r.ID] = r
	}
	stored, problems, err := s.stored.list()
	if err != nil {
		return out, err
	}
	out.Problems = append(out.Problems, problems...)
	for _, r := range stored {
		if _, dup := byID[r.ID]; !dup {
			byID[r.ID] = r
		}
	}
	var rows []Row
	for _, r := range byID {
		if f.match(r) {
			rows = append(rows, r)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].CreatedAt.Equal(rows[j].CreatedAt.Time) {
			return rows[i].CreatedAt.After(rows[j].CreatedAt.Time)
		}
		return rows[i].ID > rows[j].ID
	})
	out.Total = len(rows)
	from := min(len(rows), (f.Page-1)*f.PerPage)
	out.Tasksets = append(out.Tasksets, rows[from:min(len(rows), from+f.PerPage)]...)
	return out, nil
}

// statuses are the values of the status filter.
var statuses = []string{"waiting", schema.StatusRunning, schema.StatusSucceeded, schema.StatusFailed, schema.StatusCancelled}
