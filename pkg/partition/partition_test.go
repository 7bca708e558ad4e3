package partition_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/pkg/partition"
	"github.com/rrr-dev/rrr/schema"
)

func TestCaseID(t *testing.T) {
	for _, tc := range []struct {
		style, spec string
		c           model.Case
		want        string
	}{
		{schema.StyleGo, "pkg/a", model.Case{Name: "TestA", Classname: "example.com/m/pkg/a"}, "TestA"},
		{schema.StyleGo, "pkg/a", model.Case{Name: "TestA/sub_1", Classname: "example.com/m/pkg/a"}, "TestA"},
		{schema.StyleGo, "pkg/a", model.Case{Name: "example.com/m/pkg/a", Classname: "example.com/m/pkg/a"}, ""},
		{schema.StylePytest, "tests/test_x.py", model.Case{Name: "test_a", Classname: "tests.test_x"}, "tests/test_x.py::test_a"},
		{schema.StylePytest, "tests/test_x.py", model.Case{Name: "test_b[1]", Classname: "tests.test_x.TestK"}, "tests/test_x.py::TestK::test_b[1]"},
		{schema.StylePytest, "tests/test_x.py", model.Case{Name: "test_c", Classname: "other.mod"}, ""},
		{schema.StyleRSpec, "spec/a_spec.rb", model.Case{ID: "./spec/a_spec.rb[1:2:1]", Name: "A b c"}, "spec/a_spec.rb[1:2:1]"},
		{schema.StyleRSpec, "spec/a_spec.rb", model.Case{ID: "./spec/b_spec.rb[1:1]"}, ""},
		{schema.StyleRSpec, "spec/a_spec.rb", model.Case{ID: "./spec/a_spec.rb[1:x]"}, ""},
		{schema.StyleRSpec, "spec/a_spec.rb", model.Case{Name: "errors outside of examples"}, ""},
	} {
		require.Equal(t, tc.want, partition.CaseID(tc.style, tc.spec, tc.c), "%+v", tc)
	}
	require.Equal(t, []string{"TestA", "TestB"}, partition.CaseIDs(schema.StyleGo, "p", []model.Case{
		{Name: "TestA", Classname: "m/p"}, {Name: "TestA/x", Classname: "m/p"}, {Name: "TestB", Classname: "m/p"}}))
	require.Equal(t, schema.StyleGo, partition.StyleOf(schema.FormatGoTestJSON))
	require.Equal(t, schema.StylePytest, partition.StyleOf(schema.FormatJUnit))
	require.Equal(t, schema.StyleRSpec, partition.StyleOf(schema.FormatRSpecJSON))
	require.Empty(t, partition.StyleOf(schema.FormatTAP))
}

func TestPlan(t *testing.T) {
	ct := schema.CaseTimes{Style: schema.StyleGo, Cases: map[string]float64{"TestA": 4, "TestB": 3, "TestC": 2, "TestD": 2, "TestE": 1}}

	names, parts := partition.Plan("pkg", 12, ct, 6)
	require.Equal(t, []string{"pkg#p1of2", "pkg#p2of2"}, names)
	require.Equal(t, []string{"TestA", "TestD"}, parts["pkg#p1of2"].Cases, "longest first, each to the partition with the least time")
	require.Equal(t, []string{"TestB", "TestC", "TestE"}, parts["pkg#p2of2"].Cases)
	require.False(t, parts["pkg#p1of2"].Rest)
	require.True(t, parts["pkg#p2of2"].Rest, "the last one takes the cases in no partition")
	require.Equal(t, "pkg", parts["pkg#p1of2"].Spec)

	names, _ = partition.Plan("pkg", 100, ct, 1)
	require.Len(t, names, 5, "at most one partition per case")

	for _, tc := range []struct {
		name   string
		est    float64
		ct     schema.CaseTimes
		target float64
	}{
		{"not longer than the target", 6, ct, 6},
		{"one case", 12, schema.CaseTimes{Style: schema.StyleGo, Cases: map[string]float64{"TestA": 12}}, 6},
		{"no cases known", 12, schema.CaseTimes{}, 6},
		{"a style that cannot select", 12, schema.CaseTimes{Style: "tap", Cases: ct.Cases}, 6},
		{"no target", 12, ct, 0},
	} {
		names, parts := partition.Plan("pkg", tc.est, tc.ct, tc.target)
		require.Empty(t, names, tc.name)
		require.Empty(t, parts, tc.name)
	}
}

func TestArgs(t *testing.T) {
	goParts := map[string]schema.Partition{
		"pkg#p1of2": {Spec: "pkg", Style: schema.StyleGo, Cases: []string{"TestA", "Test.B"}},
		"pkg#p2of2": {Spec: "pkg", Style: schema.StyleGo, Cases: []string{"TestC"}, Rest: true},
	}
	args, _, err := partition.Args(goParts, "pkg#p1of2", "pkg", "")
	require.NoError(t, err)
	require.Equal(t, []string{"-run", `^(TestA|Test\.B)$`, "./pkg"}, args)
	args, _, err = partition.Args(goParts, "pkg#p2of2", "pkg", "")
	require.NoError(t, err)
	require.Equal(t, []string{"-skip", `^(Test\.B|TestA)$`, "./pkg"}, args, "the rest skips the others' cases, so a new case runs")
	args, _, err = partition.Args(goParts, "other", "other", "")
	require.NoError(t, err)
	require.Equal(t, []string{"./other"}, args, "a whole spec file is its path")

	py := map[string]schema.Partition{
		"t/test_x.py#p1of2": {Spec: "t/test_x.py", Style: schema.StylePytest, Cases: []string{"t/test_x.py::test_a"}},
		"t/test_x.py#p2of2": {Spec: "t/test_x.py", Style: schema.StylePytest, Cases: []string{"t/test_x.py::test_b"}, Rest: true},
	}
	args, _, err = partition.Args(py, "t/test_x.py#p1of2", "t/test_x.py", "")
	require.NoError(t, err)
	require.Equal(t, []string{"./t/test_x.py::test_a"}, args)
	args, _, err = partition.Args(py, "t/test_x.py#p2of2", "t/test_x.py", "")
	require.NoError(t, err)
	require.Equal(t, []string{"./t/test_x.py", "--deselect", "t/test_x.py::test_a"}, args)

	_, _, err = partition.Args(map[string]schema.Partition{"p#p1of2": {Spec: "p", Style: "tap"}}, "p#p1of2", "p", "")
	require.ErrorIs(t, err, schema.ErrInvalid)

	rb := map[string]schema.Partition{
		"spec/a_spec.rb#p1of2": {Spec: "spec/a_spec.rb", Style: schema.StyleRSpec, Cases: []string{"spec/a_spec.rb[1:1]", "spec/a_spec.rb[1:2:1]"}},
		"spec/a_spec.rb#p2of2": {Spec: "spec/a_spec.rb", Style: schema.StyleRSpec, Cases: []string{"spec/a_spec.rb[2:1]"}, Rest: true},
	}
	args, files, err := partition.Args(rb, "spec/a_spec.rb#p1of2", "spec/a_spec.rb", "/out")
	require.NoError(t, err)
	require.Equal(t, []string{"./spec/a_spec.rb[1:1,1:2:1]"}, args, "one argument: RSpec's example ids of the file")
	require.Empty(t, files)
	args, files, err = partition.Args(rb, "spec/a_spec.rb#p2of2", "spec/a_spec.rb", "/out")
	require.NoError(t, err)
	require.Equal(t, []string{"--require", "/out/" + partition.RSpecRestHelper, "./spec/a_spec.rb"}, args,
		"the rest runs the whole file, but for the others' examples, so that a new one runs")
	require.Len(t, files, 1)
	require.Contains(t, files["/out/"+partition.RSpecRestHelper], "skip = %w[1:1 1:2:1]")
	rb["spec/a_spec.rb#p1of2"] = schema.Partition{Spec: "spec/a_spec.rb", Style: schema.StyleRSpec, Cases: []string{"spec/a_spec.rb[1] ]; system('x') #"}}
	_, _, err = partition.Args(rb, "spec/a_spec.rb#p2of2", "spec/a_spec.rb", "/out")
	require.ErrorIs(t, err, schema.ErrInvalid, "a case that is not an example id never reaches the helper")
}

func TestCheck(t *testing.T) {
	parts := map[string]schema.Partition{"p#p1of2": {Spec: "p", Style: schema.StyleGo, Cases: []string{"TestA", "TestB"}}}
	require.Empty(t, partition.Check(parts, "p#p1of2", []string{"TestB", "TestA"}))
	note := partition.Check(parts, "p#p1of2", []string{"TestA", "TestNew"})
	require.Contains(t, note, "1 case(s) ran that are not in this partition (new since its cases were known): TestNew")
	require.Contains(t, note, "1 case(s) of this partition did not run (renamed or removed?): TestB")
}
