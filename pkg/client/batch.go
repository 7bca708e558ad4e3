package client

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rrr-dev/rrr/schema"
)

// Batches (docs/batches.md): a trial command with {files} runs several
// spec files at once; the client decides how big a batch may be.

// BatchesPerSlave is how many batches of short specs each slave should
// get: more than one, so that the end of the run is shared between slaves.
const BatchesPerSlave = 3

// Batches reports whether the taskset's trials can run several spec files
// at once: its trial command takes {files}.
func Batches(ts schema.TasksetSpec) bool {
	return strings.Contains(ts.TrialCommand, "{files}")
}

// PlanBatches sets the batch fields of ts from the estimates of its specs
// (nil: unknown), the slaves it will run on, and target (0: pick it).
// The target is the known work over BatchesPerSlave batches per slave (so
// a spec longer than that runs alone); a batch holds at most as many specs
// as an even share of BatchesPerSlave batches per slave would. A taskset
// with fewer specs than that gets no batches.
func PlanBatches(ts *schema.TasksetSpec, estimates []*float64, slaves int, target time.Duration) {
	slaves = max(slaves, 1)
	var work float64
	for _, e := range estimates {
		if e != nil {
			work += *e
		}
	}
	sec := target.Seconds()
	if sec <= 0 {
		sec = max(work/float64(slaves*BatchesPerSlave), 0.5)
	}
	most := int(math.Ceil(float64(len(estimates)) / float64(slaves*BatchesPerSlave)))
	if most < 2 {
		return
	}
	ts.BatchMax, ts.BatchTargetSec, ts.BatchSlaves = most, sec, slaves
}

// planBatches reads the estimates of ts's specs and plans its batches
// (slaves 0: count the slaves of the live workers of its type).
func (c *Client) planBatches(ctx context.Context, ts *schema.TasksetSpec, slaves int, target time.Duration) error {
	est, err := c.Schema.Estimates(ctx, ts.TasksetClass, ts.Specs)
	if err != nil {
		return err
	}
	if slaves <= 0 {
		if slaves, err = c.fleetSlaves(ctx, ts.WorkerType, ts.MaxWorkers); err != nil {
			return err
		}
	}
	PlanBatches(ts, est, slaves, target)
	return nil
}

// fleetSlaves counts the slaves of the live workers of a type (at most
// maxWorkers of them; 0: all), at least 1.
func (c *Client) fleetSlaves(ctx context.Context, workerType string, maxWorkers int) (int, error) {
	workers, err := c.Schema.WorkerKeys(ctx)
	if err != nil {
		return 0, err
	}
	hashes, err := c.Schema.HashFields(ctx, workers, schema.FWorkerType, schema.FSlaves)
	if err != nil {
		return 0, fmt.Errorf("read the workers: %w", err)
	}
	alive, err := c.Schema.AliveMany(ctx, workers)
	if err != nil {
		return 0, fmt.Errorf("read the workers: %w", err)
	}
	total, n := 0, 0
	for i := range workers {
		if !alive[i] || hashes[i] == nil || hashes[i][schema.FWorkerType] != workerType {
			continue
		}
		if maxWorkers > 0 && n >= maxWorkers {
			break
		}
		k, _ := strconv.Atoi(hashes[i][schema.FSlaves])
		total += max(k, 1)
		n++
	}
	return max(total, 1), nil
}
