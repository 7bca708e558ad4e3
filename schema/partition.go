package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Partitions (docs/partitions.md): a spec file longer than the client's
// target is split into tasks of some of its cases each. A partition's task
// is named <spec>#p<i>of<n> (its key stays unique) while its spec_file is
// the spec file itself, so create_taskset reads the spec file's estimate and
// quarantine for it, and every reader can group the partitions back.

// Case selection styles: how a trial command is told which cases to run.
const (
	StyleGo     = "go"     // go test -run '^(TestA|TestB)$' ./pkg; the rest: -skip
	StylePytest = "pytest" // node ids ./file::test; the rest: ./file --deselect file::test
	// RSpec example ids ./file[1:2,1:3]; the rest: ./file with a helper
	// (--require) that excludes the other partitions' examples
	StyleRSpec = "rspec"
)

// Partition is a task that runs some cases of a spec file.
type Partition struct {
	Spec  string   `json:"spec_file"`
	Style string   `json:"style"`
	Cases []string `json:"cases"`
	// Rest: it also runs every case of the spec file that is in no other
	// partition (one new since the cases were known), so that none is lost.
	Rest bool `json:"rest,omitempty"`
}

// PartitionName is the task name of partition i (from 1) of n of spec.
func PartitionName(spec string, i, n int) string {
	return spec + "#p" + strconv.Itoa(i) + "of" + strconv.Itoa(n)
}

// CaseTimes is the value of a spec file in $NS:case_estimate_sec:<class>:
// the style its case ids are in and the seconds of each case.
type CaseTimes struct {
	Style string             `json:"style"`
	Cases map[string]float64 `json:"cases"`
}

func checkPartitions(specs []string, parts map[string]Partition) error {
	names := map[string]bool{}
	for _, s := range specs {
		names[s] = true
	}
	for name, p := range parts {
		switch {
		case !names[name]:
			return fmt.Errorf("partition %s: %w: it is not one of the taskset's tasks", name, ErrInvalid)
		case !strings.HasPrefix(name, p.Spec+"#p") || p.Spec == "":
			return fmt.Errorf("partition %s: %w: its name must be its spec file %q and #p<i>of<n>", name, ErrInvalid, p.Spec)
		case p.Style != StyleGo && p.Style != StylePytest && p.Style != StyleRSpec:
			return fmt.Errorf("partition %s: %w: case style %q (want %s, %s or %s)", name, ErrInvalid, p.Style,
				StyleGo, StylePytest, StyleRSpec)
		case len(p.Cases) == 0 && !p.Rest:
			return fmt.Errorf("partition %s: %w: it has no case", name, ErrInvalid)
		}
	}
	return nil
}

// CaseEstimates reads the known cases of specs in class (absent: none).
func (c *Client) CaseEstimates(ctx context.Context, class string, specs []string) (map[string]CaseTimes, error) {
	out := map[string]CaseTimes{}
	if len(specs) == 0 {
		return out, nil
	}
	vals, err := c.rdb.HMGet(ctx, c.Keys.CaseEstimate(class), specs...).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Keys.CaseEstimate(class), err)
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var ct CaseTimes
		if json.Unmarshal([]byte(s), &ct) == nil && len(ct.Cases) > 0 {
			out[specs[i]] = ct
		}
	}
	return out, nil
}

// RecordCaseEstimates replaces the known cases of the spec files of times
// in class.
func (c *Client) RecordCaseEstimates(ctx context.Context, class string, times map[string]CaseTimes) error {
	if len(times) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(times))
	for spec, ct := range times {
		b, err := json.Marshal(ct)
		if err != nil {
			return fmt.Errorf("record the cases of %s: %w", spec, err)
		}
		args = append(args, spec, string(b))
	}
	if err := c.rdb.HSet(ctx, c.Keys.CaseEstimate(class), args...).Err(); err != nil && err != redis.Nil {
		return fmt.Errorf("record the cases in %s: %w", c.Keys.CaseEstimate(class), err)
	}
	return nil
}
