// Package web is rrr's dashboard: server-rendered pages (they work without
// JavaScript; a small script adds live updates over Server-Sent Events),
// the JSON API under /api/v1/, and /metrics in the Prometheus text format.
//
// It only reads: Redis through pkg/model and pkg/client, persisted tasksets
// from the results store (pkg/store). The one write is cancel, through the
// client's cancel path (schema.CancelTaskset, then the arbiter command).
// It never coordinates anything, so any number of copies may run.
//
// Routes (every one but /healthz needs a token when tokens are configured):
//
//	GET  /                                  tasksets (active and persisted, newest first)
//	GET  /tasksets/{id}                     one taskset
//	POST /tasksets/{id}/cancel              cancel from the page (a form)
//	GET  /specs?spec=FILE&class=CLASS       one spec across runs
//	GET  /workers                           workers and slaves
//	GET  /login, POST /login, POST /logout  the token cookie of the pages
//	GET  /api/v1/tasksets                   ?rsync_name= &status= &class= &page= &per_page=
//	GET  /api/v1/tasksets/{id}              the snapshot with progress, balance, flaky, slowest
//	GET  /api/v1/tasksets/{id}/events       Server-Sent Events: progress after each change
//	POST /api/v1/tasksets/{id}/cancel
//	GET  /api/v1/specs?spec=FILE&class=CLASS
//	GET  /api/v1/workers
//	GET  /metrics
//	GET  /healthz
//
// Live updates: one watcher per watched taskset subscribes to its events
// channel (schema.Events), reads the taskset after changes (no more often
// than twice the time a read takes, as `rrr waitfor` does) and hands the
// progress to every stream of that taskset without ever waiting on one: a
// stream whose client does not keep up loses intermediate updates, never
// the last one, and a client that stops reading is dropped after a write
// deadline.
package web
