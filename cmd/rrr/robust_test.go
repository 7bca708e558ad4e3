package main

// Tests of bad values found in Redis or given on the command line (issue
// 19): each is named, set aside and reported, never looped on or echoed.

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMalformedRedisURLIsAUsageErrorWithoutItsPassword(t *testing.T) {
	code, _, stderr := rrr(t, "--redis", "redis://:s3c%ZZretPW@127.0.0.1:6393/0", "nodes")
	require.Equal(t, exitUsage, code, stderr)
	require.NotContains(t, stderr, "retPW")
	require.Contains(t, stderr, "redis URL")
}
