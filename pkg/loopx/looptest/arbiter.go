package looptest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rrr-dev/rrr/schema"
)

// Arbiter plays the arbiter for tests of the parts that talk to it (the
// worker, the slave, the commands), without importing package arbiter: it
// settles the task of each `trial` command, finishes a taskset on `check`,
// and remembers every command it took.
type Arbiter struct {
	mu   sync.Mutex
	cmds []schema.Command
}

// StartArbiter runs an Arbiter on c's arbiter queue until the test ends.
func StartArbiter(t *testing.T, c *schema.Client) *Arbiter {
	a := &Arbiter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	q := c.Queue(c.Keys.ArbiterQueue(), "looptest")
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			v, err := q.Take(ctx, time.Second)
			if err != nil || v == "" {
				continue
			}
			_ = q.Ack(ctx, v)
			cmd, err := schema.ParseCommand(v)
			if err != nil {
				continue
			}
			a.mu.Lock()
			a.cmds = append(a.cmds, cmd)
			a.mu.Unlock()
			switch cmd.Verb {
			case schema.CmdTrial:
				if task, err := c.Field(ctx, cmd.Key, schema.FTask); err == nil && task != "" {
					_, _, _ = c.SettleTask(ctx, task)
				}
			case schema.CmdCheck:
				_, _ = c.FinishTaskset(ctx, cmd.Key)
			}
		}
	}()
	return a
}

// Count is how many commands of verb for key the arbiter took.
func (a *Arbiter) Count(verb, key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.cmds {
		if c.Verb == verb && c.Key == key {
			n++
		}
	}
	return n
}
