// Package rsync copies a directory tree with the rsync program, as the
// client does to upload a project and the worker does to fetch it. Either
// side may be a local path or anything rsync reaches (host:path over ssh,
// rsync://host/module/path). It runs `rsync -a --delete`, so the
// destination ends up an exact copy of the source; a missing rsync binary
// and a failing rsync are errors that say what to do and carry rsync's own
// message.
package rsync
