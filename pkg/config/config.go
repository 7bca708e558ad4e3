package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Name is the project file's name, in the project root (--dir).
const Name = ".rrr.yml"

// SpecsKey lists default SPEC patterns.
const SpecsKey = "specs"

// ErrMalformed is returned for a project file that cannot be used.
var ErrMalformed = errors.New("malformed project file")

// File is a project file's settings.
type File struct {
	Path string
	// Values maps flag names (with hyphens) to their values as text.
	Values map[string]string
	// Specs are the default SPEC patterns.
	Specs []string
}

// Load reads dir/.rrr.yml. A missing file is an empty File.
func Load(dir string) (*File, error) {
	p := filepath.Join(dir, Name)
	f := &File{Path: p, Values: map[string]string{}}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w: %w (want a YAML mapping such as `trial-command: rspec {file}`)", p, ErrMalformed, err)
	}
	for k, v := range raw {
		name := Normalize(k)
		if _, dup := f.Values[name]; dup || (name == SpecsKey && f.Specs != nil) {
			return nil, fmt.Errorf("%s: %w: %q is given twice (as %q and another spelling)", p, ErrMalformed, name, k)
		}
		if name == SpecsKey {
			if f.Specs, err = stringList(v); err != nil {
				return nil, fmt.Errorf("%s: %w: specs: %w", p, ErrMalformed, err)
			}
			continue
		}
		s, err := scalar(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %s: %w", p, ErrMalformed, k, err)
		}
		f.Values[name] = s
	}
	return f, nil
}

// Normalize spells a key as a flag name: lower case, "-" for "_".
func Normalize(key string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(key)), "_", "-")
}

// Unknown returns the keys of f that are not in known, sorted.
func (f *File) Unknown(known []string) []string {
	ok := map[string]bool{}
	for _, k := range known {
		ok[k] = true
	}
	var out []string
	for k := range f.Values {
		if !ok[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func scalar(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("want a single value, got %T", v)
}

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want a list of paths or globs, got %T", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of paths or globs, got %T", v)
}
