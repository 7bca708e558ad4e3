package client

import (
	"context"
	"os"

	"github.com/rrr-dev/rrr/schema"
)

// BuildFromEnv is the CI build a taskset is created for, from the CI's
// own variables, "" outside CI: a job of a GitHub Actions run
// (GITHUB_RUN_ID-GITHUB_JOB: every attempt of the run keeps both) or of a
// GitLab pipeline (CI_PIPELINE_ID-CI_JOB_NAME: a retried job gets a new
// CI_JOB_ID, but keeps these). rrr start --build-id (RRR_BUILD_ID) wins.
func BuildFromEnv(getenv func(string) string) string {
	if run := getenv("GITHUB_RUN_ID"); run != "" {
		return join(run, getenv("GITHUB_JOB"))
	}
	if p := getenv("CI_PIPELINE_ID"); p != "" {
		return join(p, getenv("CI_JOB_NAME"))
	}
	return ""
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + "-" + b
}

// BuildTaskset is the latest taskset created for CI build id with the
// class and rsync name of ts (defaults filled as Start fills them), ""
// when there is none.
func (c *Client) BuildTaskset(ctx context.Context, ts schema.TasksetSpec, id string) (string, error) {
	if err := schema.CheckBuildID(id); err != nil {
		return "", err // schema.ErrInvalid: a usage error
	}
	class, name := buildScope(ts)
	return c.Schema.BuildTaskset(ctx, class, name, id)
}

// recordBuild indexes a new taskset under its build, so that a retry of
// the build finds it; a failure is a warning: the retry then runs every
// spec again.
func (c *Client) recordBuild(ctx context.Context, ts schema.TasksetSpec, key string) {
	if ts.BuildID == "" {
		return
	}
	class, name := buildScope(ts)
	if err := c.Schema.RecordBuild(context.WithoutCancel(ctx), class, name, ts.BuildID, key); err != nil {
		c.say("warning: %v: a retry of build %s will not find this taskset", err, ts.BuildID)
	}
}

func buildScope(ts schema.TasksetSpec) (class, name string) {
	class, name = ts.TasksetClass, ts.RsyncName
	if class == "" {
		class = schema.DefaultTasksetClass
	}
	if name == "" {
		name = DefaultName(os.Getenv("USER"))
	}
	return class, name
}
