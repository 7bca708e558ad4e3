package schema_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/redistest"
	"github.com/rrr-dev/rrr/schema"
)

// The index of CI builds names the latest taskset of a build, per class
// and rsync name, and expires; the taskset carries its build id.
func TestBuildIndex(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		s := spec("a.rb")
		s.BuildID = "123-test"
		ts := e.create(t, "b1", s)
		require.Equal(t, "123-test", e.hget(t, ts, schema.FBuildID))

		got, err := e.c.BuildTaskset(ctx, "default", "alice", "123-test")
		require.NoError(t, err)
		require.Empty(t, got, "nothing recorded yet")
		require.NoError(t, e.c.RecordBuild(ctx, "default", "alice", "123-test", ts))
		require.NoError(t, e.c.RecordBuild(ctx, "default", "alice", "123-test", ts+"-retry"))
		got, err = e.c.BuildTaskset(ctx, "default", "alice", "123-test")
		require.NoError(t, err)
		require.Equal(t, ts+"-retry", got, "the latest of the build")
		for _, other := range [][3]string{{"other", "alice", "123-test"}, {"default", "bob", "123-test"}, {"default", "alice", "124-test"}} {
			got, err = e.c.BuildTaskset(ctx, other[0], other[1], other[2])
			require.NoError(t, err)
			require.Empty(t, got, "another class, rsync name or build: %v", other)
		}
		ttl, err := e.rd.TTL(ctx, e.k.Build("default", "alice", "123-test")).Result()
		require.NoError(t, err)
		require.Positive(t, ttl, "the index expires")
	})
}

func TestCheckBuildID(t *testing.T) {
	require.NoError(t, schema.CheckBuildID("12345-test job: unit"))
	for _, bad := range []string{"", "a\nb", strings.Repeat("x", 201)} {
		require.ErrorIs(t, schema.CheckBuildID(bad), schema.ErrInvalid, "%q", bad)
	}
	s := spec("a.rb")
	s.BuildID = "a\tb"
	require.ErrorIs(t, s.Validate(), schema.ErrInvalid)
}

// An ordered taskset (rrr bisect) keeps the given order over estimates.
func TestCreateTasksetOrdered(t *testing.T) {
	redistest.Each(t, func(t *testing.T, b redistest.Backend) {
		e := newEnv(b)
		require.NoError(t, e.rd.HSet(ctx, e.k.Estimate("default"), "b.rb", "5", "c.rb", "30").Err())
		s := spec("b.rb", "a.rb", "c.rb")
		s.Ordered = true
		ts := e.create(t, "o1", s)
		require.Equal(t, "1", e.hget(t, ts, schema.FOrdered))
		want := []string{schema.Task(ts, "b.rb"), schema.Task(ts, "a.rb"), schema.Task(ts, "c.rb")}
		require.Equal(t, want, e.list(t, schema.TaskQueue(ts)))
	})
}
