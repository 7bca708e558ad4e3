package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Outcomes of a spec in a taskset, as $NS:history:<class> keeps them: one
// letter per taskset that gave the spec a verdict (record_persisted).
const (
	HistoryPassed = "P" // passed (or pending) at its first trial
	HistoryFlaky  = "F" // a trial failed or timed out, then one passed
	HistoryFailed = "X" // failed for good
	HistoryError  = "E" // failed by errors alone (FailureError): not the test
)

// HistoryRuns is how many outcomes the history keeps per spec: the newest.
const HistoryRuns = 50

// History returns the history of a taskset class: spec file -> its
// outcome letters, oldest first.
func (c *Client) History(ctx context.Context, class string) (map[string]string, error) {
	h, err := c.rdb.HGetAll(ctx, c.Keys.History(class)).Result()
	if err != nil {
		return nil, fmt.Errorf("read history %s: %w", c.Keys.History(class), err)
	}
	return h, nil
}

// QuarantineEntry is the value of a spec in $NS:quarantine:<class>, as JSON.
// A zero ExpiresAt never expires.
type QuarantineEntry struct {
	Reason    string    `json:"reason"`
	AddedAt   time.Time `json:"added_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	By        string    `json:"by,omitempty"`
}

// Expired reports whether the entry no longer applies at now (Redis time).
func (e QuarantineEntry) Expired(now time.Time) bool {
	return !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt)
}

// Quarantined is a spec file of a class with its quarantine entry.
type Quarantined struct {
	Spec  string `json:"spec_file"`
	Class string `json:"taskset_class"`
	QuarantineEntry
	Expired bool `json:"expired"`
}

// Now is the Redis server's time: every part measures quarantine expiry
// by one clock, as the scripts do.
func (c *Client) Now(ctx context.Context) (time.Time, error) {
	t, err := c.rdb.Time(ctx).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("read the redis time: %w", err)
	}
	return t.UTC(), nil
}

// AddQuarantine quarantines specs (clean spec files, CleanSpec) of class
// with reason, for ttl from now on the Redis clock (0: until removed); an
// entry that was there is replaced. It returns the entry written.
func (c *Client) AddQuarantine(ctx context.Context, class string, specs []string, reason, by string, ttl time.Duration) (QuarantineEntry, error) {
	if reason == "" {
		return QuarantineEntry{}, fmt.Errorf("quarantine: %w: a reason is required", ErrInvalid)
	}
	if len(specs) == 0 {
		return QuarantineEntry{}, fmt.Errorf("quarantine: %w: no spec files", ErrInvalid)
	}
	now, err := c.Now(ctx)
	if err != nil {
		return QuarantineEntry{}, err
	}
	e := QuarantineEntry{Reason: reason, AddedAt: now, By: by}
	if ttl > 0 {
		e.ExpiresAt = now.Add(ttl)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return QuarantineEntry{}, err
	}
	pairs := make([]any, 0, 2*len(specs))
	for _, s := range specs {
		pairs = append(pairs, s, string(b))
	}
	if err := c.rdb.HSet(ctx, c.Keys.Quarantine(class), pairs...).Err(); err != nil {
		return QuarantineEntry{}, fmt.Errorf("quarantine in %s: %w", c.Keys.Quarantine(class), err)
	}
	return e, nil
}

// RemoveQuarantine takes specs of class out of quarantine and returns those
// that were in it.
func (c *Client) RemoveQuarantine(ctx context.Context, class string, specs []string) ([]string, error) {
	key := c.Keys.Quarantine(class)
	var removed []string
	for _, s := range specs {
		n, err := c.rdb.HDel(ctx, key, s).Result()
		if err != nil {
			return removed, fmt.Errorf("remove %s from %s: %w", s, key, err)
		}
		if n == 1 {
			removed = append(removed, s)
		}
	}
	return removed, nil
}

// QuarantineOf lists the quarantine of class by spec file, with the expired
// entries marked, at the Redis time it returns. An entry that does not
// decode is an error naming it.
func (c *Client) QuarantineOf(ctx context.Context, class string) ([]Quarantined, time.Time, error) {
	now, err := c.Now(ctx)
	if err != nil {
		return nil, now, err
	}
	key := c.Keys.Quarantine(class)
	h, err := c.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, now, fmt.Errorf("read quarantine %s: %w", key, err)
	}
	out := make([]Quarantined, 0, len(h))
	for spec, v := range h {
		var e QuarantineEntry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, now, fmt.Errorf("quarantine %s field %q = %q: %w: want the JSON of a quarantine entry (remove it: rrr quarantine remove)", key, spec, v, ErrInvalid)
		}
		out = append(out, Quarantined{Spec: spec, Class: class, QuarantineEntry: e, Expired: e.Expired(now)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec < out[j].Spec })
	return out, now, nil
}

// ActiveQuarantine maps the quarantined spec files of class that have not
// expired to their reasons: what a new taskset of the class marks
// (TasksetSpec.Quarantined).
func (c *Client) ActiveQuarantine(ctx context.Context, class string) (map[string]string, error) {
	q, _, err := c.QuarantineOf(ctx, class)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range q {
		if !e.Expired {
			out[e.Spec] = e.Reason
		}
	}
	return out, nil
}
