package schema_test

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateModel = flag.Bool("update", false, "TestModelCoversScripts: rewrite the script hashes in schema/spin/taskset.pml (after re-checking the model)")

const modelFile = "spin/taskset.pml"

// modelLine is a line of the model's header: " * script NAME.lua SHA256"
// for a script it stands for (without the hash for one just added: -update
// writes it), " * not modelled NAME.lua: reason" for one it leaves out on
// purpose.
var modelLine = regexp.MustCompile(`^ \* (script|not modelled) ([a-z_]+\.lua)(?: ([0-9a-f]{64})|: (.+))?$`)

// TestModelCoversScripts fails when a Lua script changed since the SPIN
// model (schema/spin/taskset.pml, docs/model.md) was last checked against
// it, or when a script is new and the model neither stands for it nor says
// why not. After re-checking the model (scripts/spin.sh), refresh the
// hashes with: go test ./schema -run TestModelCoversScripts -update
func TestModelCoversScripts(t *testing.T) {
	model, err := os.ReadFile(modelFile)
	require.NoError(t, err)
	files, err := filepath.Glob("lua/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	sums := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		s := sha256.Sum256(b)
		sums[filepath.Base(f)] = hex.EncodeToString(s[:])
	}

	lines := strings.Split(string(model), "\n")
	listed := map[string]bool{}
	var problems []string
	for i, l := range lines {
		m := modelLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		kind, name, sum := m[1], m[2], m[3]
		require.False(t, kind == "not modelled" && m[4] == "", "%s: %q gives no reason", modelFile, l)
		require.False(t, listed[name], "%s lists %s twice", modelFile, name)
		listed[name] = true
		want, ok := sums[name]
		if !ok {
			problems = append(problems, name+": listed in the model, but schema/lua has no such script")
			continue
		}
		if kind == "script" && sum != want {
			problems = append(problems, name+": changed since the model was checked against it (sha256 "+want+", the model has "+sum+")")
			lines[i] = " * script " + name + " " + want
		}
	}
	var missing []string
	for name := range sums {
		if !listed[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		problems = append(problems, name+": a script the model neither stands for nor lists as not modelled; add ' * script "+name+"' (then -update writes its hash) or ' * not modelled "+name+": <reason>' to the header of "+modelFile)
	}
	if len(problems) == 0 {
		return
	}
	if *updateModel && len(missing) == 0 {
		require.NoError(t, os.WriteFile(modelFile, []byte(strings.Join(lines, "\n")), 0o644))
		t.Logf("rewrote the script hashes of %s:\n%s", modelFile, strings.Join(problems, "\n"))
		return
	}
	t.Fatalf("the SPIN model %s is not known to match the Lua scripts:\n  %s\n"+
		"Re-check the model against the changed scripts (docs/model.md says which transition stands for which script; "+
		"scripts/spin.sh runs the checker), then refresh the hashes: go test ./schema -run TestModelCoversScripts -update",
		modelFile, strings.Join(problems, "\n  "))
}
