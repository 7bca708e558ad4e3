package client

import (
	"time"

	"github.com/rrr-dev/rrr/pkg/model"
)

// FormatDuration writes a duration for people, as the progress line and
// the summary do (850ms, 4.2s, 1m05s, 2h03m); pkg/web shows the same.
func FormatDuration(d time.Duration) string { return fmtDuration(d) }

// TaskState is a task's state in a listing: passed, pending, failed,
// flaky, running, retrying or queued.
func TaskState(t model.Task) string { return taskWord(t) }
