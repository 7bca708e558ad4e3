package client_test

import (
	"time"

	"github.com/rrr-dev/rrr/pkg/model"
)

// t0 is the start of the hand-made runs below.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) model.Time { return model.Time{Time: t0.Add(d)} }

// trial started at start and ran for d (d < 0: still running).
func trial(status string, start, d time.Duration, slave string) model.Trial {
	tr := model.Trial{Key: "trial", Status: status, Slave: slave, StartedAt: at(start)}
	if d >= 0 {
		tr.FinishedAt = at(start + d)
	}
	return tr
}

func est(sec int) *int { return &sec }

func task(spec, status string, estimate *int, trials ...model.Trial) model.Task {
	for i := range trials {
		trials[i].Key = "rrrspec:taskset:x:task:" + spec + ":trial:" + string(rune('1'+i))
	}
	if trials == nil {
		trials = []model.Trial{}
	}
	return model.Task{Key: "rrrspec:taskset:x:task:" + spec, SpecFile: spec, Status: status, EstimateSec: estimate, Trials: trials}
}

func snapshot(status string, tasks ...model.Task) *model.Snapshot {
	s := &model.Snapshot{Taskset: model.Taskset{Key: "rrrspec:taskset:x", ID: "x", Status: status, CreatedAt: at(0),
		WorkerType: "default", MaxTrials: 3, TaskCount: len(tasks)}, Tasks: tasks}
	for _, t := range tasks {
		switch t.Status {
		case "passed", "pending":
			s.SucceededCount++
		case "failed":
			s.FailedCount++
		}
	}
	return s
}
