package schema

import (
	"fmt"
	"strings"
)

// Verbs of arbiter commands: "<verb>\t<key>" on the arbiter queue.
const (
	CmdCancel = "cancel" // key: a taskset
	CmdCheck  = "check"  // key: a taskset
	CmdFail   = "fail"   // key: a taskset
	CmdTrial  = "trial"  // key: a trial
)

// Command is one entry of the arbiter queue.
type Command struct {
	Verb string
	Key  string
}

// String is the wire form of c.
func (c Command) String() string { return c.Verb + "\t" + c.Key }

// ParseCommand reads the wire form of an arbiter command.
func ParseCommand(s string) (Command, error) {
	verb, key, ok := strings.Cut(s, "\t")
	if !ok || key == "" {
		return Command{}, fmt.Errorf("arbiter command %q: %w: want <verb>\\t<key>", s, ErrInvalid)
	}
	switch verb {
	case CmdCancel, CmdCheck, CmdFail, CmdTrial:
		return Command{Verb: verb, Key: key}, nil
	}
	return Command{}, fmt.Errorf("arbiter command %q: %w: unknown verb %q", s, ErrInvalid, verb)
}

// Events published on Events(taskset), as "<kind>\t<args>".
const (
	EventStarted  = "started"  // \t<trial key>: a trial started
	EventQueued   = "queued"   // \t<task key>: a task was queued again
	EventSettled  = "settled"  // \t<task key>\t<status>: a task got its verdict
	EventFinished = "finished" // \t<taskset status>: the taskset ended
)

// Event is one message of a taskset's events channel.
type Event struct {
	Kind string
	Args []string
}

// ParseEvent reads an events-channel message.
func ParseEvent(s string) Event {
	parts := strings.Split(s, "\t")
	return Event{Kind: parts[0], Args: parts[1:]}
}
