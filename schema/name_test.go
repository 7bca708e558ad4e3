package schema_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/schema"
)

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"alice": true, "Bob.Smith_2-x": true, "ci-42": true, "logs": true, "9": true,
		strings.Repeat("a", schema.MaxNameLen): true,
		"":                                     false, ".": false, "..": false, "../x": false, "..-x": false, ".hidden": false,
		"-n": false, "_x": false, "a/b": false, "a:b": false, "a b": false, "élodie": false, "a\x00b": false,
		strings.Repeat("a", schema.MaxNameLen+1): false,
	} {
		err := schema.CheckName("rsync name", name)
		if ok {
			require.NoError(t, err, name)
			require.NoError(t, schema.CheckTasksetID(name+"-20260101-120000-abcd"), "an id made of a good name is good: %q", name)
			continue
		}
		require.ErrorIs(t, err, schema.ErrInvalid, name)
		require.Contains(t, err.Error(), "use letters, digits, '.', '_' and '-', starting with a letter or a digit, at most 64 characters")
	}
}
