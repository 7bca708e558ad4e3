package model

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/rrr-dev/rrr/schema"
)

// Snapshot is a taskset with everything below it. Its JSON is the document
// of `rrr show --json` and of the results store.
type Snapshot struct {
	Taskset
	Tasks      []Task      `json:"tasks"`
	WorkerLogs []WorkerLog `json:"worker_logs"`
	Slaves     []Slave     `json:"slaves"`
	Log        string      `json:"log,omitempty"`
	// Problems lists the objects that could not be decoded and were left out.
	Problems []string `json:"problems,omitempty"`
	// Unreadable is the first field of the taskset hash itself that does
	// not decode (also in Problems); that field reads as zero.
	Unreadable *FieldError `json:"-"`
}

// LoadOptions choose what Load reads beyond the structure.
type LoadOptions struct {
	Output bool // trial stdout, stderr and report
	Logs   bool // the taskset log, worker logs' and slaves' texts
}

// Reader decodes protocol objects read through schema's reads.
type Reader struct {
	sc   *schema.Client
	Keys schema.Keys
}

// NewReader reads through sc, in its namespace.
func NewReader(sc *schema.Client) *Reader {
	return &Reader{sc: sc, Keys: sc.Keys}
}

// list reads one list whole; a key of another type is a problem, and an
// empty list.
func (r *Reader) list(ctx context.Context, key string, problems *[]string) ([]string, error) {
	l, err := r.sc.Lists(ctx, []string{key}, problems)
	if err != nil {
		return nil, err
	}
	return l[0], nil
}

// Taskset reads the taskset hash alone.
func (r *Reader) Taskset(ctx context.Context, key string) (Taskset, error) {
	h, err := r.sc.Hash(ctx, key)
	if err != nil {
		return Taskset{}, fmt.Errorf("read taskset %s: %w", key, err)
	}
	ts, err := DecodeTaskset(r.Keys, key, h)
	if _, has := h[schema.FTaskCount]; err == nil && !has {
		// The original client writes no task_count: count the tasks.
		n, lerr := r.sc.ListLen(ctx, schema.Tasks(key))
		if lerr != nil {
			return Taskset{}, fmt.Errorf("read tasks of %s: %w", key, lerr)
		}
		ts.TaskCount = int(n)
	}
	return ts, err
}

// Load reads a taskset with its tasks and their trials, its worker logs
// and slaves. Objects that do not decode are left out and named in
// Problems; a field of the taskset hash that does not decode reads as zero
// and is named in Unreadable and Problems, so that a taskset set aside for
// it (status_reason) can still be shown and stored. A missing taskset is
// an error.
func (r *Reader) Load(ctx context.Context, key string, opt LoadOptions) (*Snapshot, error) {
	ts, err := r.Taskset(ctx, key)
	var bad *FieldError
	if err != nil && !errors.As(err, &bad) {
		return nil, err
	}
	s := &Snapshot{Taskset: ts, Tasks: []Task{}, WorkerLogs: []WorkerLog{}, Slaves: []Slave{}, Unreadable: bad}
	if bad != nil {
		s.Problems = append(s.Problems, bad.Error())
	}

	taskKeys, err := r.list(ctx, schema.Tasks(key), &s.Problems)
	if err != nil {
		return nil, fmt.Errorf("read tasks of %s: %w", key, err)
	}
	taskHashes, err := r.sc.Hashes(ctx, taskKeys, &s.Problems)
	if err != nil {
		return nil, fmt.Errorf("read tasks of %s: %w", key, err)
	}
	trialLists := make([]string, len(taskKeys))
	for i, k := range taskKeys {
		trialLists[i] = schema.TaskTrials(k)
	}
	trialKeys, err := r.sc.Lists(ctx, trialLists, &s.Problems)
	if err != nil {
		return nil, fmt.Errorf("read trial lists of %s: %w", key, err)
	}
	var allTrials []string
	for _, l := range trialKeys {
		allTrials = append(allTrials, l...)
	}
	trialHashes, err := r.sc.Hashes(ctx, allTrials, &s.Problems)
	if err != nil {
		return nil, fmt.Errorf("read trials of %s: %w", key, err)
	}
	next := 0
	for i, k := range taskKeys {
		task, err := DecodeTask(k, taskHashes[i])
		hs := trialHashes[next : next+len(trialKeys[i])]
		next += len(trialKeys[i])
		if err != nil {
			s.Problems = append(s.Problems, err.Error())
			continue
		}
		task.Trials = []Trial{}
		for j, tk := range trialKeys[i] {
			tr, err := DecodeTrial(tk, hs[j])
			if err != nil {
				s.Problems = append(s.Problems, err.Error())
				continue
			}
			if !opt.Output {
				tr.Stdout, tr.Stderr, tr.Report = "", "", nil
			}
			task.Trials = append(task.Trials, tr)
		}
		s.Tasks = append(s.Tasks, task)
	}

	logKeys, err := r.list(ctx, schema.WorkerLogs(key), &s.Problems)
	if err != nil {
		return nil, fmt.Errorf("read worker logs of %s: %w", key, err)
	}
	logHashes, err := r.sc.Hashes(ctx, logKeys, &s.Problems)
	if err != nil {
		return nil, fmt.Errorf("read worker logs of %s: %w", key, err)
	}
	var logTexts []string
	if opt.Logs {
		texts := make([]string, len(logKeys))
		for i, k := range logKeys {
			texts[i] = schema.WorkerLogText(k)
		}
		if logTexts, err = r.sc.Strings(ctx, texts, &s.Problems); err != nil {
			return nil, fmt.Errorf("read worker logs of %s: %w", key, err)
		}
	}
	for i, k := range logKeys {
		l, err := DecodeWorkerLog(k, logHashes[i])
		if err != nil {
			s.Problems = append(s.Problems, err.Error())
			continue
		}
		if opt.Logs {
			l.Log = logTexts[i]
		}
		s.WorkerLogs = append(s.WorkerLogs, l)
	}

	slaveKeys, err := r.list(ctx, schema.TasksetSlaves(key), &s.Problems)
	if err != nil {
		return nil, fmt.Errorf("read slaves of %s: %w", key, err)
	}
	slaves, err := r.slaves(ctx, slaveKeys, opt.Logs, &s.Problems)
	if err != nil {
		return nil, fmt.Errorf("read slaves of %s: %w", key, err)
	}
	for _, sl := range slaves {
		if sl.err != nil {
			s.Problems = append(s.Problems, sl.err.Error())
			continue
		}
		s.Slaves = append(s.Slaves, sl.Slave)
	}

	if opt.Logs {
		log, err := r.sc.Strings(ctx, []string{schema.TasksetLog(key)}, &s.Problems)
		if err != nil {
			return nil, fmt.Errorf("read log of %s: %w", key, err)
		}
		s.Log = log[0]
	}
	return s, nil
}

type slaveOrErr struct {
	Slave
	err error
}

func (r *Reader) slaves(ctx context.Context, keys []string, logs bool, problems *[]string) ([]slaveOrErr, error) {
	hs, err := r.sc.Hashes(ctx, keys, problems)
	if err != nil {
		return nil, err
	}
	alive, err := r.sc.AliveMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	var texts []string
	if logs {
		logKeys := make([]string, len(keys))
		for i, k := range keys {
			logKeys[i] = schema.SlaveLog(k)
		}
		if texts, err = r.sc.Strings(ctx, logKeys, problems); err != nil {
			return nil, err
		}
	}
	out := make([]slaveOrErr, len(keys))
	for i, k := range keys {
		s, err := DecodeSlave(k, hs[i], alive[i])
		if logs {
			s.Log = texts[i]
		}
		out[i] = slaveOrErr{s, err}
	}
	return out, nil
}

// WorkerState is a worker with the slaves of the taskset it works on.
type WorkerState struct {
	Worker
	ActiveSlaves []Slave `json:"slaves_of_taskset,omitempty"`
}

// Workers reads every known worker, sorted by id, with its liveness and the
// live slaves it runs for its taskset. Malformed workers are returned as
// problems.
func (r *Reader) Workers(ctx context.Context) ([]WorkerState, []string, error) {
	keys, err := r.sc.WorkerKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(keys)
	var problems []string
	hs, err := r.sc.Hashes(ctx, keys, &problems)
	if err != nil {
		return nil, nil, fmt.Errorf("read workers: %w", err)
	}
	alive, err := r.sc.AliveMany(ctx, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("read workers: %w", err)
	}
	var out []WorkerState
	slaveLists := map[string][]string{}
	for i, k := range keys {
		w, err := DecodeWorker(r.Keys, k, hs[i], alive[i])
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				problems = append(problems, err.Error())
			}
			continue
		}
		out = append(out, WorkerState{Worker: w})
		if w.Taskset != "" {
			if _, ok := slaveLists[w.Taskset]; !ok {
				l, err := r.list(ctx, schema.TasksetSlaves(w.Taskset), &problems)
				if err != nil {
					return nil, nil, fmt.Errorf("read slaves of %s: %w", w.Taskset, err)
				}
				slaveLists[w.Taskset] = l
			}
		}
	}
	for i := range out {
		w := &out[i]
		var mine []string
		for _, s := range slaveLists[w.Taskset] {
			if len(s) > len(w.Key) && s[:len(w.Key)+1] == w.Key+":" {
				mine = append(mine, s)
			}
		}
		slaves, err := r.slaves(ctx, mine, false, &problems)
		if err != nil {
			return nil, nil, fmt.Errorf("read slaves of %s: %w", w.Key, err)
		}
		for _, s := range slaves {
			if s.err == nil && s.Alive {
				w.ActiveSlaves = append(w.ActiveSlaves, s.Slave)
			}
		}
	}
	return out, problems, nil
}

// Active returns the keys of the active tasksets, oldest first.
func (r *Reader) Active(ctx context.Context) ([]string, error) {
	return r.sc.ActiveTasksets(ctx)
}
