package web

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

// Progress is the live part of a taskset: what the page shows at the top
// and what each live update carries.
type Progress struct {
	Status   string  `json:"status"`
	Verdict  string  `json:"verdict"`
	Total    int     `json:"total"`
	Done     int     `json:"done"`
	Failed   int     `json:"failed"`
	Retrying int     `json:"retrying"`
	Running  int     `json:"running"`
	Phase    string  `json:"phase"`
	Elapsed  float64 `json:"elapsed_sec"`
	// ETASec is null until rrr can estimate it (client.ComputeProgress).
	ETASec *float64 `json:"eta_sec"`
	Line   string   `json:"line"`
	Final  bool     `json:"final"`
}

func progressOf(s *model.Snapshot, now time.Time) Progress {
	p := client.ComputeProgress(s, now)
	out := Progress{Status: s.Status, Verdict: model.VerdictOf(s.Taskset).String(), Total: p.Total, Done: p.Done,
		Failed: p.Failed, Retrying: p.Retrying, Running: len(p.Running), Phase: p.Phase(), Elapsed: p.Elapsed.Seconds(),
		Line: p.String(), Final: schema.IsFinal(s.Status)}
	if out.Final && !s.FinishedAt.IsZero() && !s.CreatedAt.IsZero() {
		out.Elapsed = s.FinishedAt.Sub(s.CreatedAt.Time).Seconds()
	}
	if p.ETAKnown && !out.Final {
		eta := p.ETA.Seconds()
		out.ETASec = &eta
	}
	return out
}

// SpecTime is a spec with how long its final trial took.
type SpecTime struct {
	Spec    string  `json:"spec_file"`
	TookSec float64 `json:"took_sec"`
}

// BalanceView is client.Balance in seconds.
type BalanceView struct {
	WallSec       float64 `json:"wall_sec"`
	TrialsWallSec float64 `json:"trials_wall_sec"`
	WorkSec       float64 `json:"work_sec"`
	Slaves        int     `json:"slaves"`
	LowerBoundSec float64 `json:"lower_bound_sec"`
	LongestSpec   string  `json:"longest_spec,omitempty"`
	Efficiency    float64 `json:"efficiency"`
	Line          string  `json:"line"`
}

// TasksetView is the document of /api/v1/tasksets/{id}: the snapshot as
// `rrr show --json` prints it, and what the summary computes from it.
type TasksetView struct {
	*model.Snapshot
	Source   string      `json:"source"`
	Progress Progress    `json:"progress"`
	Balance  BalanceView `json:"balance"`
	// FailedSpecs and FlakySpecs are spec files; the tasks are in Tasks.
	FailedSpecs []string   `json:"failed_specs"`
	FlakySpecs  []string   `json:"flaky_specs"`
	Slowest     []SpecTime `json:"slowest"`
	RedisError  string     `json:"redis_error,omitempty"`
}

func (s *Server) tasksetView(l *loaded) *TasksetView {
	snap := l.Snap
	v := &TasksetView{Snapshot: snap, Source: l.Source, Progress: progressOf(snap, l.Now),
		FailedSpecs: []string{}, FlakySpecs: []string{}, Slowest: []SpecTime{}}
	if l.RedisErr != nil {
		v.RedisError = l.RedisErr.Error()
	}
	for _, t := range snap.Tasks {
		switch {
		case t.Status == schema.StatusFailed:
			v.FailedSpecs = append(v.FailedSpecs, t.SpecFile)
		case model.IsFlaky(t):
			v.FlakySpecs = append(v.FlakySpecs, t.SpecFile)
		}
	}
	for _, st := range client.Slowest(snap, 10) {
		v.Slowest = append(v.Slowest, SpecTime{st.Spec, st.Took.Seconds()})
	}
	b := client.ComputeBalance(snap, l.Now)
	v.Balance = BalanceView{WallSec: b.Wall.Seconds(), TrialsWallSec: b.TestWall.Seconds(), WorkSec: b.Work.Seconds(),
		Slaves: b.Slaves, LowerBoundSec: b.LowerBound.Seconds(), LongestSpec: b.LongestSpec, Efficiency: b.Efficiency()}
	if b.Work > 0 {
		v.Balance.Line = b.String()
	}
	return v
}

// SpecRun is one run of a spec.
type SpecRun struct {
	Taskset   string     `json:"taskset"`
	CreatedAt model.Time `json:"created_at"`
	Status    string     `json:"status"`
	TookSec   float64    `json:"took_sec"`
	Trials    int        `json:"trials"`
	Flaky     bool       `json:"flaky"`
}

// SpecHistory is the document of /api/v1/specs.
type SpecHistory struct {
	Spec  string `json:"spec_file"`
	Class string `json:"taskset_class"`
	// EstimateSec is the estimate of the class (nil: none, or Redis down).
	EstimateSec *float64  `json:"estimate_sec"`
	Runs        []SpecRun `json:"runs"`
	// FlakyRate is flaky runs over runs with a verdict.
	FlakyRate  float64 `json:"flaky_rate"`
	FailRate   float64 `json:"fail_rate"`
	Scanned    int     `json:"tasksets_scanned"`
	RedisError string  `json:"redis_error,omitempty"`
}

// specScan bounds how many persisted tasksets one spec page reads.
const specScan = 50

// specHistory reads the spec's runs in the newest persisted tasksets (of
// the class, when given) and its estimate.
func (s *Server) specHistory(ctx context.Context, spec, class string) (*SpecHistory, error) {
	if spec == "" || !validText(spec) || strings.Contains(class, ":") {
		return nil, fmt.Errorf("%w: want ?spec=FILE (and &class=CLASS), printable text", errBadQuery)
	}
	h := &SpecHistory{Spec: spec, Class: class, Runs: []SpecRun{}}
	if class != "" {
		est, err := s.sc.Estimates(ctx, class, []string{spec})
		if err != nil {
			h.RedisError = err.Error()
		} else {
			h.EstimateSec = est[0]
		}
	}
	rows, _, err := s.stored.list()
	if err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].CreatedAt.After(rows[j].CreatedAt.Time) })
	verdicts, flaky, failed := 0, 0, 0
	for _, r := range rows {
		if h.Scanned == specScan {
			break
		}
		if class != "" && r.Class != class {
			continue
		}
		h.Scanned++
		snap, err := store.Read(s.cfg.ResultsDir, r.ID)
		if err != nil {
			continue
		}
		for _, t := range snap.Tasks {
			if t.SpecFile != spec {
				continue
			}
			run := SpecRun{Taskset: snap.ID, CreatedAt: snap.CreatedAt, Status: client.TaskState(t), Trials: len(t.Trials),
				Flaky: model.IsFlaky(t)}
			if ft := model.FinalTrial(t); ft != nil {
				run.TookSec = ft.Duration().Seconds()
			}
			if t.Status != "" {
				verdicts++
				if run.Flaky {
					flaky++
				}
				if t.Status == schema.StatusFailed {
					failed++
				}
			}
			h.Runs = append(h.Runs, run)
			break
		}
	}
	if verdicts > 0 {
		h.FlakyRate = float64(flaky) / float64(verdicts)
		h.FailRate = float64(failed) / float64(verdicts)
	}
	return h, nil
}

// SlaveView is a live slave of a worker.
type SlaveView struct {
	Key     string `json:"key"`
	Number  int    `json:"number"`
	Pid     int    `json:"pid,omitempty"`
	Running string `json:"running,omitempty"` // the spec of its running trial
	Busy    bool   `json:"busy"`
	// HeartbeatAgeSec is how long ago the heartbeat was renewed (from its
	// TTL); nil when it cannot be told.
	HeartbeatAgeSec *float64 `json:"heartbeat_age_sec"`
}

// WorkerView is a worker of /api/v1/workers.
type WorkerView struct {
	model.Worker
	HeartbeatAgeSec *float64    `json:"heartbeat_age_sec"`
	Slaves          []SlaveView `json:"slaves_of_taskset"`
}

// Fleet is the document of /api/v1/workers.
type Fleet struct {
	Workers  []WorkerView `json:"workers"`
	Live     int          `json:"live"`
	Dead     int          `json:"dead"`
	Problems []string     `json:"problems,omitempty"`
}

// fleet reads every worker with its live slaves, what they run and how old
// their heartbeats are.
func (s *Server) fleet(ctx context.Context) (*Fleet, error) {
	ws, problems, err := s.cl.Reader.Workers(ctx)
	if err != nil {
		return nil, err
	}
	f := &Fleet{Workers: []WorkerView{}, Problems: problems}
	for _, w := range ws {
		if !w.Alive {
			f.Dead++
			continue
		}
		f.Live++
		v := WorkerView{Worker: w.Worker, Slaves: []SlaveView{}}
		v.HeartbeatAgeSec = s.heartbeatAge(ctx, w.Key)
		for _, sl := range w.ActiveSlaves {
			sv := SlaveView{Key: sl.Key, Number: sl.Number, Pid: sl.Pid, HeartbeatAgeSec: s.heartbeatAge(ctx, sl.Key)}
			if last, err := s.sc.LastTrialOf(ctx, sl.Key); err == nil && last != "" {
				st, err := s.sc.HashFields(ctx, []string{last}, schema.FStatus, schema.FTask)
				if err == nil && st[0] != nil && st[0][schema.FStatus] == "" {
					sv.Busy = true
					if task, ok := st[0][schema.FTask]; ok {
						sv.Running = specOfTask(task)
					}
				}
			}
			v.Slaves = append(v.Slaves, sv)
		}
		f.Workers = append(f.Workers, v)
	}
	return f, nil
}

// heartbeatAge is the configured TTL less what is left of it.
func (s *Server) heartbeatAge(ctx context.Context, owner string) *float64 {
	ttl, ok := s.sc.HeartbeatLeft(ctx, owner)
	if !ok {
		return nil
	}
	age := max(0, s.cfg.Heartbeat-ttl).Seconds()
	return &age
}

// specOfTask is the spec file of a task key.
func specOfTask(task string) string {
	if i := strings.Index(task, ":task:"); i >= 0 {
		return task[i+len(":task:"):]
	}
	return task
}

// validText refuses what no spec path holds: invalid UTF-8 and control
// characters.
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return len(s) <= 4096
}
