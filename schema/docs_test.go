package schema_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rrr-dev/rrr/schema"
)

// docs/protocol.md is the protocol in words: a script, a global key or a
// field that it does not name is missing from it.
func TestProtocolDocNamesEveryScriptKeyAndField(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	require.NoError(t, err)
	text := string(doc)

	scripts, err := filepath.Glob("lua/*.lua")
	require.NoError(t, err)
	require.NotEmpty(t, scripts)
	for _, f := range scripts {
		name := strings.TrimSuffix(filepath.Base(f), ".lua")
		if name == "lib" {
			continue
		}
		require.True(t, strings.Contains(text, "| "+name+" |"), "docs/protocol.md's script table lacks %s", name)
	}

	k := schema.NewKeys("")
	for _, g := range k.Globals() {
		name := strings.Replace(g.Key, k.Namespace(), "$NS", 1)
		require.True(t, strings.Contains(text, "`"+name+"`"), "docs/protocol.md lacks the key %s", name)
	}

	// Every field constant of fields.go, by its value.
	src, err := os.ReadFile("fields.go")
	require.NoError(t, err)
	fields := regexp.MustCompile(`(?m)^\s+F\w+\s+= "(\w+)"`).FindAllStringSubmatch(string(src), -1)
	require.NotEmpty(t, fields)
	for _, m := range fields {
		require.True(t, strings.Contains(text, "`"+m[1]+"`"), "docs/protocol.md lacks the field %s", m[1])
	}
}

// Comments and docs point to files of the repository, not to design notes
// kept elsewhere.
func TestNoReferencesOutsideTheRepository(t *testing.T) {
	bad := regexp.MustCompile(`\b(CONTRACTS|DESIGN|PROTOCOL|CONVENTIONS)\.md\b|\.\./shared`)
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".sh", ".lua", ".js", ".html", ".pml":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if bad.MatchString(line) && !strings.Contains(path, "docs_test.go") {
				t.Errorf("%s:%d points outside the repository: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	require.NoError(t, err)
}
