package worker

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

func TestCasesArgv(t *testing.T) {
	parts := map[string]schema.Partition{
		"pkg#p1of2": {Spec: "pkg", Style: schema.StyleGo, Cases: []string{"TestA"}},
		"pkg#p2of2": {Spec: "pkg", Style: schema.StyleGo, Cases: []string{"TestB"}, Rest: true},
	}
	argv, err := casesArgv("go test -json {cases} -o {report}", parts, "pkg#p1of2", "pkg", "/r")
	require.NoError(t, err)
	require.Equal(t, []string{"go", "test", "-json", "-run", "^(TestA)$", "./pkg", "-o", "/r"}, argv)
	argv, err = casesArgv("go test -json {cases}", parts, "lib", "lib", "/r")
	require.NoError(t, err)
	require.Equal(t, []string{"go", "test", "-json", "./lib"}, argv, "a spec file that is not split runs whole")
}

func TestCheckPartition(t *testing.T) {
	parts := map[string]schema.Partition{"pkg#p1of2": {Spec: "pkg", Style: schema.StyleGo, Cases: []string{"TestA", "TestB"}}}
	outcome := func(status string, passed, failed int, cases ...model.Case) trialOutcome {
		o := trialOutcome{status: status, passed: passed, failed: failed, fields: map[string]string{}}
		if len(cases) > 0 {
			o.fields[schema.FReport] = reportJSON(cases)
		}
		return o
	}
	a := model.Case{Name: "TestA", Classname: "m/pkg", Status: schema.StatusPassed}
	b := model.Case{Name: "TestB", Classname: "m/pkg", Status: schema.StatusPassed}
	c := model.Case{Name: "TestC", Classname: "m/pkg", Status: schema.StatusPassed}
	build := model.Case{Name: "m/pkg", Classname: "m/pkg", Status: schema.StatusFailed}

	o := outcome(schema.StatusPassed, 2, 0, a, b)
	checkPartition(&o, parts, "pkg#p1of2", "pkg", "/out")
	require.Equal(t, schema.StatusPassed, o.status)
	require.Empty(t, o.fields[schema.FPartitionNote])

	o = outcome(schema.StatusPassed, 0, 0)
	checkPartition(&o, parts, "pkg#p1of2", "pkg", "/out")
	require.Equal(t, schema.StatusError, o.status, "a partition that ran no case is an error, not a pass")
	require.Contains(t, o.fields[schema.FError], "partition pkg#p1of2 matched no case of pkg")

	o = outcome(schema.StatusPassed, 2, 0, a, c)
	checkPartition(&o, parts, "pkg#p1of2", "pkg", "/out")
	require.Equal(t, schema.StatusPassed, o.status)
	require.Contains(t, o.fields[schema.FPartitionNote], "not in this partition (new since its cases were known): TestC")
	require.Contains(t, o.fields[schema.FPartitionNote], "did not run (renamed or removed?): TestB")

	o = outcome(schema.StatusFailed, 0, 1, build)
	checkPartition(&o, parts, "pkg#p1of2", "pkg", "/out")
	require.Equal(t, schema.StatusFailed, o.status, "a package that does not build fails, as it would whole")

	o = outcome(schema.StatusTimeout, 0, 0)
	checkPartition(&o, parts, "pkg#p1of2", "pkg", "/out")
	require.Equal(t, schema.StatusTimeout, o.status)
	require.Empty(t, o.fields[schema.FError])
}
