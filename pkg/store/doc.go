// Package store is the results store: finished tasksets kept on disk for
// good, after their Redis keys expire. The persister writes it; `rrr show`
// reads it when a taskset is no longer in Redis. One folder per taskset:
//
//	<dir>/<taskset id>/taskset.json                    the model.Snapshot, with outputs and logs
//	<dir>/<taskset id>/log.txt                         the taskset's log
//	<dir>/<taskset id>/worker_logs/<worker id>.log     each worker's log (rsync, setup)
//	<dir>/<taskset id>/slaves/<worker id>/<pid>.log    each slave's log
//	<dir>/<taskset id>/trials/<spec>/<trial id>.stdout and .stderr  (when not empty)
//
// <spec> is the spec file's path with url.PathEscape ("spec%2Fa_spec.rb").
// A folder is written under a temporary name and renamed into place, so a
// reader sees a whole taskset or none, and writing one again is harmless.
package store
