package client_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/client"
)

func TestBuildFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	require.Empty(t, client.BuildFromEnv(env()), "outside CI")
	// every attempt of a run keeps its id and job; the attempt is not part of it
	require.Equal(t, "987-test", client.BuildFromEnv(env("GITHUB_RUN_ID", "987", "GITHUB_JOB", "test", "GITHUB_RUN_ATTEMPT", "2")))
	require.Equal(t, "987", client.BuildFromEnv(env("GITHUB_RUN_ID", "987")))
	// a retried GitLab job gets a new CI_JOB_ID, and keeps its pipeline and name
	require.Equal(t, "55-rspec 1/2", client.BuildFromEnv(env("CI_PIPELINE_ID", "55", "CI_JOB_NAME", "rspec 1/2", "CI_JOB_ID", "901")))
}
