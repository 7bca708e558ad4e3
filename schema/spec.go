package schema

import (
	"fmt"
	"path"
	"strings"
)

// CleanSpec checks that a spec file path is relative and stays inside the
// project, and returns it in clean slash form. It is the one check every
// part applies: the client before creating a taskset, the slave before
// running a trial.
func CleanSpec(spec string) (string, error) {
	if spec == "" {
		return "", fmt.Errorf("spec file: %w: empty path", ErrInvalid)
	}
	if strings.ContainsRune(spec, 0) || strings.ContainsAny(spec, "\n\r\t") {
		return "", fmt.Errorf("spec file %q: %w: control characters in path", spec, ErrInvalid)
	}
	if strings.HasPrefix(spec, "/") {
		return "", fmt.Errorf("spec file %q: %w: absolute path; give it relative to the project root", spec, ErrInvalid)
	}
	c := path.Clean(spec)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("spec file %q: %w: it leaves the project root", spec, ErrInvalid)
	}
	return c, nil
}

// SpecArg is the path a trial command gets for a spec file (clean, as
// CleanSpec returns it, and as the task id keeps it): "./" and the path.
// It means the same file to every tool: `go test ./cases` is the package
// of the project, not a standard library package named "cases", and
// `sh ./-n.sh` runs a file where `sh -n.sh` reads an option.
func SpecArg(clean string) string { return "./" + clean }
