package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/rrr-dev/rrr/schema"
)

// ErrNoSpecMatched is returned when a SPEC pattern matches nothing.
var ErrNoSpecMatched = errors.New("no spec matched")

// ErrBadSpec is returned for a SPEC that is absolute, leaves the project
// root, or is otherwise unusable.
var ErrBadSpec = errors.New("bad spec")

// ErrBadDir is returned when the project root is not a directory.
var ErrBadDir = errors.New("bad project directory")

// ResolveSpecs turns SPEC arguments into spec files relative to dir.
//
// A pattern without glob characters names a file or a directory and is kept
// as given (a directory is one spec: useful to shard Go packages). A glob
// (*, ?, [...], and ** for any number of directories) matches files, in
// lexical order; a glob ending in "/" matches directories instead. As in a
// shell, a wildcard does not match a name starting with "." unless the
// pattern's segment starts with "." too, so ** does not descend into .git.
// Results keep the order of the patterns, without repeats. Every pattern
// must match something: the error names those that did not.
func ResolveSpecs(dir string, patterns []string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("project directory %s: %w: %w", dir, ErrBadDir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("project directory %s: %w: not a directory (see --dir)", dir, ErrBadDir)
	}
	if len(patterns) == 0 {
		return nil, fmt.Errorf("%w: no SPEC given: name spec files or globs relative to --dir, or list them under specs: in .rrr.yml", ErrNoSpecMatched)
	}
	var out, unmatched []string
	seen := map[string]bool{}
	for _, p := range patterns {
		dirsOnly := strings.HasSuffix(p, "/")
		clean, err := schema.CleanSpec(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadSpec, err)
		}
		matches, err := match(dir, clean, dirsOnly)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			unmatched = append(unmatched, p)
		}
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	if len(unmatched) > 0 {
		abs, _ := filepath.Abs(dir)
		return nil, fmt.Errorf("%w: %s under --dir %s (SPECs are relative to --dir; quote globs so that rrr, not the shell, expands them)",
			ErrNoSpecMatched, quoteAll(unmatched), abs)
	}
	return out, nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// match returns the specs pattern (clean, slash-separated) names under dir.
func match(dir, pattern string, dirsOnly bool) ([]string, error) {
	literal := filepath.Join(dir, filepath.FromSlash(pattern))
	if !hasMeta(pattern) {
		st, err := os.Stat(literal)
		if err != nil || (dirsOnly && !st.IsDir()) {
			return nil, nil
		}
		return []string{pattern}, nil
	}
	// A file whose name holds glob characters is taken literally.
	if st, err := os.Stat(literal); err == nil && st.IsDir() == dirsOnly {
		return []string{pattern}, nil
	}
	segs := strings.Split(pattern, "/")
	for _, s := range segs {
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("spec %q: %w: malformed glob", pattern, ErrBadSpec)
		}
	}
	// Walk from the longest prefix without glob characters.
	base := 0
	for base < len(segs)-1 && !hasMeta(segs[base]) {
		base++
	}
	root := filepath.Join(dir, filepath.FromSlash(strings.Join(segs[:base], "/")))
	if _, err := os.Stat(root); err != nil {
		return nil, nil
	}
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // an unreadable corner of the tree matches nothing
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		names := strings.Split(rel, "/")
		isDir := d.IsDir()
		if d.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(p); err == nil {
				isDir = st.IsDir() // followed for matching, never walked into
			}
		}
		if isDir == dirsOnly && matchSegs(segs, names) {
			out = append(out, rel)
		}
		if d.IsDir() && !prefixCanMatch(segs, names) {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	return out, nil
}

// matchSeg matches one path segment; wildcards skip hidden names.
func matchSeg(pat, name string) bool {
	if strings.HasPrefix(name, ".") && !strings.HasPrefix(pat, ".") && hasMeta(pat) {
		return false
	}
	ok, _ := path.Match(pat, name)
	return ok
}

// matchSegs matches a whole path; "**" stands for zero or more segments
// that are not hidden.
func matchSegs(pat, names []string) bool {
	if len(pat) == 0 {
		return len(names) == 0
	}
	if pat[0] == "**" {
		if matchSegs(pat[1:], names) {
			return true
		}
		return len(names) > 0 && !strings.HasPrefix(names[0], ".") && matchSegs(pat, names[1:])
	}
	return len(names) > 0 && matchSeg(pat[0], names[0]) && matchSegs(pat[1:], names[1:])
}

// prefixCanMatch reports whether some path below the directory names could
// still match pat, so that the walk skips subtrees that cannot.
func prefixCanMatch(pat, names []string) bool {
	if len(names) == 0 {
		return len(pat) > 0
	}
	if len(pat) == 0 {
		return false
	}
	if pat[0] == "**" {
		if prefixCanMatch(pat[1:], names) {
			return true
		}
		return !strings.HasPrefix(names[0], ".") && prefixCanMatch(pat, names[1:])
	}
	return matchSeg(pat[0], names[0]) && prefixCanMatch(pat[1:], names[1:])
}
