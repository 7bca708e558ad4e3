package client_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

type upload struct{ src, dst, options string }

// recorder is an Uploader that records its calls.
func recorder(calls *[]upload) client.Uploader {
	return func(_ context.Context, src, dst, options string) error {
		*calls = append(*calls, upload{src, dst, options})
		return nil
	}
}

func TestStartCreatesTheTaskset(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		var calls []upload
		f.cl.Upload = recorder(&calls)
		dir := tree(t, "spec/a_spec.rb", "spec/b_spec.rb")
		key, err := f.cl.Start(ctx, client.StartOptions{Dir: dir, Patterns: []string{"spec/*_spec.rb"},
			Taskset: schema.TasksetSpec{RsyncName: "ci-runner", TrialCommand: "rspec {file}", RsyncRemotePath: "box:/srv/rrr",
				RsyncOptions: "--exclude=tmp", WorkerType: "ruby"}})
		require.NoError(t, err)
		id, ok := f.sc.Keys.TasksetID(key)
		require.True(t, ok)
		require.Regexp(t, `^ci-runner-\d{8}-\d{6}-[0-9a-f]{4}$`, id)
		require.Equal(t, []upload{{dir + "/", "box:/srv/rrr/ci-runner", "--exclude=tmp"}}, calls)

		s, err := f.cl.Reader.Load(ctx, key, model.LoadOptions{})
		require.NoError(t, err)
		require.Equal(t, "ci-runner", s.RsyncName)
		require.Equal(t, "ruby", s.WorkerType)
		require.Equal(t, "box:/srv/rrr", s.RsyncRemotePath)
		require.Equal(t, schema.StatusRunning, s.Status)
		require.Equal(t, []string{"spec/a_spec.rb", "spec/b_spec.rb"}, []string{s.Tasks[0].SpecFile, s.Tasks[1].SpecFile})
		active, err := f.cl.Reader.Active(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{key}, active)
		tokens, err := b.RDB.LLen(ctx, f.sc.Keys.DispatcherQueue()).Result()
		require.NoError(t, err)
		require.EqualValues(t, 1, tokens, "the dispatcher is woken")
		require.Contains(t, f.stderr.String(), "created taskset "+key+": 2 specs")
	})
}

func TestStartUsesTheFleetDefaults(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		var calls []upload
		f.cl.Upload = recorder(&calls)
		dir := tree(t, "a_test.py")
		spec := schema.TasksetSpec{RsyncName: "bob", TrialCommand: "pytest {file}"}

		_, err := f.cl.Start(ctx, client.StartOptions{Dir: dir, Patterns: []string{"a_test.py"}, Taskset: spec})
		require.ErrorIs(t, err, client.ErrNoRemotePath)
		require.Contains(t, err.Error(), "--rsync-remote-path")
		require.True(t, client.IsUsage(err))
		require.Empty(t, calls)

		require.NoError(t, b.RDB.HSet(ctx, f.sc.Keys.RsyncInfo(), schema.FRsyncRemotePath, "/srv/up/",
			schema.FRsyncOptions, "--exclude=.git").Err())
		key, err := f.cl.Start(ctx, client.StartOptions{Dir: dir, Patterns: []string{"a_test.py"}, Taskset: spec})
		require.NoError(t, err)
		require.Equal(t, []upload{{dir + "/", "/srv/up/bob", "--exclude=.git"}}, calls)
		ts, err := f.cl.Reader.Taskset(ctx, key)
		require.NoError(t, err)
		require.Equal(t, "/srv/up/", ts.RsyncRemotePath, "workers fetch from where the client uploaded")
	})
}

func TestStartRefusesBeforeUploading(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		var calls []upload
		f.cl.Upload = recorder(&calls)
		dir := tree(t, "a_spec.rb")
		good := schema.TasksetSpec{RsyncName: "a", TrialCommand: "rspec {file}", RsyncRemotePath: "/x"}
		noCommand := good
		noCommand.TrialCommand = ""
		badFormat := good
		badFormat.ResultFormat = "xml"
		for name, tc := range map[string]struct {
			patterns []string
			spec     schema.TasksetSpec
			is       error
		}{
			"no spec matched":  {[]string{"b_spec.rb"}, good, client.ErrNoSpecMatched},
			"escaping spec":    {[]string{"../a_spec.rb"}, good, client.ErrBadSpec},
			"no trial command": {[]string{"a_spec.rb"}, noCommand, schema.ErrInvalid},
			"bad format":       {[]string{"a_spec.rb"}, badFormat, schema.ErrInvalid},
		} {
			_, err := f.cl.Start(ctx, client.StartOptions{Dir: dir, Patterns: tc.patterns, Taskset: tc.spec})
			require.ErrorIs(t, err, tc.is, name)
			require.True(t, client.IsUsage(err), name)
		}
		require.Empty(t, calls, "nothing was uploaded")
		active, err := f.cl.Reader.Active(ctx)
		require.NoError(t, err)
		require.Empty(t, active, "nothing was created")
	})
}

func TestStartUploadFailures(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		dir := tree(t, "a_spec.rb")
		opt := client.StartOptions{Dir: dir, Patterns: []string{"a_spec.rb"},
			Taskset: schema.TasksetSpec{RsyncName: "a", TrialCommand: "t {file}", RsyncRemotePath: "/x"}}

		f.cl.Upload = func(context.Context, string, string, string) error { return errors.New("permission denied") }
		_, err := f.cl.Start(ctx, opt)
		require.ErrorIs(t, err, client.ErrUpload)
		require.Contains(t, err.Error(), "permission denied")
		require.False(t, client.IsUsage(err))

		// a signal during the upload: nothing is created
		cctx, cancel := context.WithCancel(ctx)
		f.cl.Upload = func(ctx context.Context, _, _, _ string) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		_, err = f.cl.Start(cctx, opt)
		require.ErrorIs(t, err, client.ErrInterrupted)
		require.Contains(t, err.Error(), "nothing to cancel")
		active, err := f.cl.Reader.Active(ctx)
		require.NoError(t, err)
		require.Empty(t, active)
	})
}

func TestRsyncUploadCopiesTheProject(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("rsync is not installed")
	}
	dir := tree(t, "spec/a_spec.rb", "tmp/big.log")
	remote := t.TempDir()
	require.NoError(t, client.RsyncUpload(ctx, dir+"/", client.RemoteDir(remote, "alice"), "--exclude=tmp"))
	_, err := os.Stat(filepath.Join(remote, "alice", "spec", "a_spec.rb"))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(remote, "alice", "tmp"))
	require.True(t, os.IsNotExist(err), "--rsync-options excludes")

	t.Setenv("PATH", t.TempDir())
	err = client.RsyncUpload(ctx, dir+"/", remote, "")
	require.ErrorIs(t, err, client.ErrRsyncMissing)
	require.Contains(t, err.Error(), "install it")
}

func TestRemoteDir(t *testing.T) {
	require.Equal(t, "host:/srv/alice", client.RemoteDir("host:/srv", "alice"))
	require.Equal(t, "host:/srv/alice", client.RemoteDir("host:/srv/", "alice"))
	require.Equal(t, "host:alice", client.RemoteDir("host:", "alice"))
}

// A first run knows no estimate: the biggest spec files run first.
func TestStartQueuesAFirstRunLargestFirst(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		f := newFleet(t, b)
		f.cl.Upload = recorder(&[]upload{})
		dir := tree(t, "spec/a_spec.rb", "spec/b_spec.rb", "spec/c_spec.rb")
		require.NoError(t, os.WriteFile(filepath.Join(dir, "spec/b_spec.rb"), make([]byte, 900), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "spec/c_spec.rb"), make([]byte, 300), 0o644))
		key, err := f.cl.Start(ctx, client.StartOptions{Dir: dir, Patterns: []string{"spec/*_spec.rb"},
			Taskset: schema.TasksetSpec{RsyncName: "a", TrialCommand: "rspec {file}", RsyncRemotePath: "/x"}})
		require.NoError(t, err)
		queue, err := b.RDB.LRange(ctx, schema.TaskQueue(key), 0, -1).Result()
		require.NoError(t, err)
		require.Equal(t, []string{schema.Task(key, "spec/b_spec.rb"), schema.Task(key, "spec/c_spec.rb"),
			schema.Task(key, "spec/a_spec.rb")}, queue)
	})
}
