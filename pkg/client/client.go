package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/logx"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/partition"
	"github.com/rrr-dev/rrr/pkg/proc"
	"github.com/rrr-dev/rrr/pkg/rsync"
	"github.com/rrr-dev/rrr/pkg/store"
	"github.com/rrr-dev/rrr/schema"
)

// Uploader copies the project directory src (ending in "/") to dst, with
// extra rsync options.
type Uploader func(ctx context.Context, src, dst, options string) error

// StoreReader reads a persisted taskset by id from the results store.
type StoreReader func(id string) (*model.Snapshot, error)

// Client is what the commands people run share: it creates tasksets, waits
// for them, cancels them and reads them.
type Client struct {
	Schema *schema.Client
	Reader *model.Reader
	// Stderr gets progress, warnings and summaries; stdout is the caller's.
	Stderr io.Writer
	Log    zerolog.Logger
	// Upload defaults to rsync; Store is optional (no results store).
	Upload Uploader
	Store  StoreReader
	// Now defaults to time.Now.
	Now func() time.Time
}

// New returns a client of the namespace of sc that writes to stderr.
func New(sc *schema.Client, stderr io.Writer, log zerolog.Logger) *Client {
	return &Client{
		Schema: sc, Reader: model.NewReader(sc), Stderr: stderr,
		Log: log.With().Str("component", "client").Logger(), Upload: RsyncUpload, Now: time.Now,
	}
}

func (c *Client) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Client) say(format string, args ...any) {
	fmt.Fprintln(c.Stderr, "rrr:", logx.Escape(fmt.Sprintf(format, args...)))
}

// RsyncUpload is the default Uploader: rsync -a --delete (pkg/rsync).
func RsyncUpload(ctx context.Context, src, dst, options string) error {
	err := rsync.Sync(ctx, src, dst, options)
	if errors.Is(err, rsync.ErrNotInstalled) {
		return fmt.Errorf("%w: %w", ErrRsyncMissing, err)
	}
	return err
}

// StartOptions describe a taskset to create from a project directory.
type StartOptions struct {
	Dir      string   // the project root to upload; SPEC patterns are relative to it
	Patterns []string // SPEC arguments: files, directories, globs
	// Taskset holds the settings; Specs is filled from Patterns. An empty
	// RsyncRemotePath or RsyncOptions falls back to $NS:rsync_info.
	Taskset schema.TasksetSpec
	// NoUpload skips rsync: the workers run the project where it is (rrr local).
	NoUpload bool
	// Slaves is how many slaves the taskset will run on, to size its
	// batches (0: the slaves of the live workers of its type).
	Slaves int
	// BatchTarget is the estimated time a batch is filled up to (0: from
	// the estimates and the slaves; docs/batches.md).
	BatchTarget time.Duration
	// PartitionTarget is how long a spec file may be estimated before it
	// is split into partitions, with {cases} (0: the known work over the
	// slaves; docs/partitions.md).
	PartitionTarget time.Duration
}

// Prepare checks what needs neither Redis nor an upload: the SPECs under
// the project root, the rsync name (default: DefaultName of $USER), the
// trial command and the settings. It returns the absolute project root and
// the taskset with its spec files. Start calls it first; the commands call
// it before they connect, so that a usage error never waits for Redis and
// nothing is uploaded or created.
func Prepare(opt StartOptions) (string, schema.TasksetSpec, error) {
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return "", schema.TasksetSpec{}, fmt.Errorf("project directory %s: %w: %w", opt.Dir, ErrBadDir, err)
	}
	specs, err := ResolveSpecs(dir, opt.Patterns)
	if err != nil {
		return "", schema.TasksetSpec{}, err
	}
	if !opt.Taskset.Ordered { // rrr bisect gives the order itself
		OrderBySize(dir, specs) // the order of a first run, before any estimate
	}
	ts := opt.Taskset
	ts.Specs = specs
	if ts.RsyncName == "" {
		ts.RsyncName = DefaultName(os.Getenv("USER"))
	}
	if err := schema.CheckName("rsync name (--rsync-name)", ts.RsyncName); err != nil {
		return "", schema.TasksetSpec{}, err
	}
	if err := CheckTrialCommand(ts.TrialCommand); err != nil {
		return "", schema.TasksetSpec{}, err
	}
	if err := CheckRunner(ts.Runner); err != nil {
		return "", schema.TasksetSpec{}, err
	}
	if Batches(ts) && (ts.ResultFormat == schema.FormatExitCode || ts.ResultFormat == schema.FormatTAP) {
		return "", schema.TasksetSpec{}, fmt.Errorf("--trial-command %q with --format %s: %w: {files} runs several spec files at once, "+
			"and only a report that names the file of each case (junit, rspec-json, go-test-json, or auto) tells them apart",
			ts.TrialCommand, ts.ResultFormat, ErrBadTrialCommand)
	}
	if strings.Contains(ts.TrialCommand, partition.Placeholder) && (ts.ResultFormat == schema.FormatExitCode || ts.ResultFormat == schema.FormatTAP) {
		return "", schema.TasksetSpec{}, fmt.Errorf("--trial-command %q with --format %s: %w: {cases} runs part of a spec file by its cases, "+
			"and only a report that names them (go-test-json, junit as pytest writes it, or auto) tells which ran", ts.TrialCommand, ts.ResultFormat, ErrBadTrialCommand)
	}
	ts = ts.WithDefaults()
	if err := ts.Validate(); err != nil {
		return "", schema.TasksetSpec{}, err
	}
	return dir, ts, nil
}

// CheckTrialCommand splits a trial command as the slave will (pkg/proc), so
// that one that cannot run is refused before anything is uploaded. A
// command without {file} is fine: the slave adds the spec as its last word.
func CheckTrialCommand(tpl string) error {
	if tpl == "" {
		return nil // a slave command, or a runner, runs the trials
	}
	words, err := proc.Template(tpl, nil)
	if err != nil {
		return fmt.Errorf("--trial-command %q: %w: %w (it is split into words as a shell would, with quotes and backslashes, but never run by one)",
			tpl, ErrBadTrialCommand, err)
	}
	if strings.Contains(tpl, "{cases}") {
		return checkCases(tpl, words)
	}
	if !strings.Contains(tpl, "{files}") {
		return nil
	}
	if strings.Contains(tpl, "{file}") {
		return fmt.Errorf("--trial-command %q: %w: give {file} (one spec file a trial) or {files} (several at once), not both", tpl, ErrBadTrialCommand)
	}
	for _, w := range words {
		if strings.Contains(w, "{files}") && w != "{files}" {
			return fmt.Errorf("--trial-command %q: %w: {files} must be a word of its own (it becomes one argument per spec file), not part of %q",
				tpl, ErrBadTrialCommand, w)
		}
	}
	return nil
}

// CheckRunner splits a runner as the slave will, so that one that cannot
// start is refused before anything is uploaded: "pytest [ARGS]", "rspec
// [ARGS]" or a command, never with {file} (the runner is given the spec
// files over its protocol, docs/runners.md).
func CheckRunner(runner string) error {
	if runner == "" {
		return nil
	}
	words, err := proc.Split(runner)
	switch {
	case err != nil:
		return fmt.Errorf("--runner %q: %w: %w (it is split into words as a shell would, with quotes and backslashes, but never run by one)",
			runner, ErrBadRunner, err)
	case len(words) == 0:
		return fmt.Errorf("--runner %q: %w: it is blank; give \"pytest [ARGS]\", \"rspec [ARGS]\" or a command speaking docs/runners.md", runner, ErrBadRunner)
	case strings.Contains(runner, "{file"):
		return fmt.Errorf("--runner %q: %w: a runner gets the spec files over its protocol (docs/runners.md), not as {file} or {files}", runner, ErrBadRunner)
	}
	return nil
}

// Start resolves the specs, uploads the project, and creates the taskset in
// one atomic step (which also wakes the dispatcher). It returns its key.
func (c *Client) Start(ctx context.Context, opt StartOptions) (string, error) {
	dir, ts, err := Prepare(opt)
	if err != nil {
		return "", err
	}
	if user := os.Getenv("USER"); opt.Taskset.RsyncName == "" && user != "" && user != ts.RsyncName {
		c.say("$USER %q is not a valid rsync name (%s); using %q (set --rsync-name)", user, schema.NameRule, ts.RsyncName)
	}
	specs, name := ts.Specs, ts.RsyncName

	if !opt.NoUpload {
		if err := c.fleetDefaults(ctx, &ts); err != nil {
			return "", err
		}
		dst := RemoteDir(ts.RsyncRemotePath, name)
		c.say("uploading %s to %s", dir, dst)
		started := c.now()
		upload := c.Upload
		if upload == nil {
			upload = RsyncUpload
		}
		if err := upload(ctx, dir+"/", dst, ts.RsyncOptions); err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("upload to %s: %w before the taskset was created; nothing to cancel", dst, ErrInterrupted)
			}
			if errors.Is(err, ErrRsyncMissing) {
				return "", err
			}
			return "", fmt.Errorf("%w: %s to %s: %w (check --rsync-remote-path and that you can write there)", ErrUpload, dir, dst, err)
		}
		c.say("uploaded in %s", round(c.now().Sub(started)))
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("%w before the taskset was created; nothing to cancel", ErrInterrupted)
	}

	// An ordered taskset (rrr bisect) runs its spec files whole, one a
	// trial, in its order.
	if Partitioned(ts) && !ts.Ordered {
		if err := c.planPartitions(ctx, &ts, opt.Slaves, opt.PartitionTarget); err != nil {
			return "", err
		}
	}
	if Batches(ts) && !ts.Ordered {
		if err := c.planBatches(ctx, &ts, opt.Slaves, opt.BatchTarget); err != nil {
			return "", err
		}
		if ts.BatchMax >= 2 {
			c.say("batches: up to %d spec files, %.1fs of estimates, over %d slaves", ts.BatchMax, ts.BatchTargetSec, ts.BatchSlaves)
		}
	}
	if err := c.quarantine(ctx, &ts); err != nil {
		return "", err
	}
	id, err := NewTasksetID(name, c.now(), nil)
	if err != nil {
		return "", err
	}
	// Creating is one short script: once the upload is done it runs to its
	// end, and a signal that arrives meanwhile cancels the taskset after.
	key, err := c.Schema.CreateTaskset(context.WithoutCancel(ctx), id, ts)
	if err != nil {
		return "", fmt.Errorf("create taskset %s: %w", id, err)
	}
	c.recordBuild(ctx, ts, key)
	c.say("created taskset %s: %d specs for workers of type %q", key, len(specs), ts.WorkerType)
	return key, nil
}

// quarantine marks the specs of ts that are in the quarantine of its class
// and have not expired: they run, but their failures do not fail it.
func (c *Client) quarantine(ctx context.Context, ts *schema.TasksetSpec) error {
	class := ts.TasksetClass
	if class == "" {
		class = schema.DefaultTasksetClass
	}
	q, err := c.Schema.ActiveQuarantine(ctx, class)
	if err != nil {
		return err
	}
	ts.Quarantined = map[string]string{}
	for _, spec := range ts.Specs {
		if reason, ok := q[spec]; ok {
			ts.Quarantined[spec] = reason
		}
	}
	if n := len(ts.Quarantined); n > 0 {
		c.say("quarantine: %d spec file(s) of class %q run in quarantine: their failures do not fail the taskset (rrr quarantine list)", n, class)
	}
	return nil
}

// fleetDefaults fills the rsync remote path and options from
// $NS:rsync_info where the taskset leaves them empty.
func (c *Client) fleetDefaults(ctx context.Context, ts *schema.TasksetSpec) error {
	if ts.RsyncRemotePath != "" && ts.RsyncOptions != "" {
		return nil
	}
	info, err := c.Schema.RsyncInfo(ctx)
	if err != nil {
		return err
	}
	if ts.RsyncRemotePath == "" {
		ts.RsyncRemotePath = info[schema.FRsyncRemotePath]
	}
	if ts.RsyncOptions == "" {
		ts.RsyncOptions = info[schema.FRsyncOptions]
	}
	if ts.RsyncRemotePath == "" {
		return fmt.Errorf("%w: give --rsync-remote-path (or RRR_RSYNC_REMOTE_PATH, or rsync-remote-path: in .rrr.yml), "+
			"or have the fleet's `rrr server --rsync-remote-path` set a default in %s", ErrNoRemotePath, c.Schema.Keys.RsyncInfo())
	}
	return nil
}

// RemoteDir is where a project of rsync name name goes under remote
// ("host:/path" or a local path): <remote>/<name>.
func RemoteDir(remote, name string) string {
	if strings.HasSuffix(remote, "/") || strings.HasSuffix(remote, ":") {
		return remote + name
	}
	return remote + "/" + name
}

// ResolveKey resolves a KEY argument in the client's namespace.
func (c *Client) ResolveKey(arg string) (string, error) { return ResolveKey(c.Schema.Keys, arg) }

// Load reads a taskset from Redis, or from the results store when it is no
// longer in Redis (persisted and expired).
func (c *Client) Load(ctx context.Context, key string, opt model.LoadOptions) (*model.Snapshot, error) {
	s, err := c.Reader.Load(ctx, key, opt)
	if err == nil || !errors.Is(err, model.ErrNotFound) {
		return s, err
	}
	id, _ := c.Schema.Keys.TasksetID(key)
	if c.Store == nil {
		return nil, fmt.Errorf("%w: %s is not in Redis (namespace %q): check the key, or give --results-dir to read it from the results store if it was persisted and expired",
			ErrNotFound, key, c.Schema.Keys.Namespace())
	}
	s, serr := c.Store(id)
	if serr != nil {
		if errors.Is(serr, store.ErrNotFound) || errors.Is(serr, fs.ErrNotExist) || errors.Is(serr, model.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s is neither in Redis (namespace %q) nor in the results store: check the key and --results-dir",
				ErrNotFound, key, c.Schema.Keys.Namespace())
		}
		return nil, fmt.Errorf("%s is not in Redis any more; the results store: %w", key, serr)
	}
	Trim(s, opt)
	return s, nil
}

// Trim drops from a stored snapshot what opt does not ask for, so that it
// reads as a snapshot loaded from Redis with opt.
func Trim(s *model.Snapshot, opt model.LoadOptions) {
	if !opt.Output {
		for i := range s.Tasks {
			for j := range s.Tasks[i].Trials {
				tr := &s.Tasks[i].Trials[j]
				tr.Stdout, tr.Stderr, tr.Report = "", "", nil
			}
		}
	}
	if !opt.Logs {
		s.Log = ""
		for i := range s.WorkerLogs {
			s.WorkerLogs[i].Log = ""
		}
		for i := range s.Slaves {
			s.Slaves[i].Log = ""
		}
	}
}

// round shortens a duration for people: whole seconds above ten seconds,
// tenths below.
func round(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
