// Package loopx holds what the server loops (dispatcher, arbiter, persister)
// share: backoff on errors with one log line per interval instead of one
// per attempt, the line between a transient failure (Redis is away: retry)
// and a permanent one (a malformed value: log it and skip it), and the
// consumer loop of a reliable queue.
package loopx
