package format

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/schema"
)

// FuzzParse: no input makes Parse panic or break an Outcome's promises.
// The seeds (the real samples and a few edge cases) run in every go test;
// go test -fuzz=FuzzParse ./pkg/format explores further.
func FuzzParse(f *testing.F) {
	for _, s := range samples {
		b := readSample(f, s.file)
		f.Add(b, []byte(nil))
		f.Add([]byte(nil), b)
		f.Add(b[:len(b)/2], b[len(b)/2:]) // cut short
	}
	for _, s := range []string{
		goLines, rspecDoc, "", " ", "\xef\xbb\xbf", "<", "<a", "&#", "<testsuite>&#x", "{", "[", "null",
		`<testsuite><testcase name="a"><failure>x</failure></testcase></testsuite>`,
		`<testsuites><testsuite><testcase><skipped/><error/></testcase></testsuite>`,
		"1..2\nok 1\nnot ok 2 # TODO\n  ---\n  a: b\n  ...\nBail out!",
		"1..0 # skip\n", "not ok\nok\n# x\n",
		`{"examples":[{"status":"failed","exception":null}],"summary":{"errors_outside_of_examples_count":1}}`,
		`{"Action":"run","Package":"p","Test":"A/b"}` + "\n" + `{"Action":"fail","Package":"p"}`,
		`{"Action":"fail","Package":"p","Test":"A"}` + "\n" + `{"Action":"build-output","ImportPath":"x","Output":"\xff"}`,
	} {
		f.Add([]byte(s), []byte(s))
	}
	f.Fuzz(func(t *testing.T, report, stdout []byte) {
		for _, name := range schema.Formats {
			o, err := Parse(name, report, stdout)
			if err != nil {
				require.ErrorIs(t, err, ErrUnreadable, "format %s", name)
				continue
			}
			requireSane(t, o)
		}
		detected := Detect(report, stdout)
		o, err := Parse(schema.FormatAuto, report, stdout)
		if err != nil {
			require.ErrorContains(t, err, detected+": ")
		} else {
			require.Equal(t, detected, o.Format)
		}
	})
}
