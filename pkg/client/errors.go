package client

import (
	"errors"

	"github.com/rrr-dev/rrr/schema"
)

// Errors a person gets from the client; each message says what to do.
var (
	// ErrBadKey: a KEY argument that is not a taskset key of the namespace.
	ErrBadKey = errors.New("bad taskset key")
	// ErrNotFound: the taskset is neither in Redis nor in the results store.
	ErrNotFound = errors.New("taskset not found")
	// ErrNoRemotePath: no --rsync-remote-path and no fleet default in Redis.
	ErrNoRemotePath = errors.New("no rsync remote path")
	// ErrRsyncMissing: the rsync program is not installed.
	ErrRsyncMissing = errors.New("rsync not found")
	// ErrUpload: rsync failed.
	ErrUpload = errors.New("upload failed")
	// ErrBadTrialCommand: a trial command that does not split into words.
	ErrBadTrialCommand = errors.New("bad trial command")
	// ErrBadRunner: a --runner that does not split into words.
	ErrBadRunner = errors.New("bad runner")
	// ErrInterrupted: a signal arrived before the taskset was created.
	ErrInterrupted = errors.New("interrupted")
)

// IsUsage reports whether err is the person's input being wrong (exit 2)
// rather than the system failing (exit 4).
func IsUsage(err error) bool {
	for _, e := range []error{ErrNoSpecMatched, ErrBadSpec, ErrBadDir, ErrBadKey, ErrNoRemotePath, ErrBadTrialCommand, ErrBadRunner, schema.ErrInvalid} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
