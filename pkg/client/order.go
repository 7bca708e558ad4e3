package client

import (
	"os"
	"path/filepath"
	"slices"
)

// OrderBySize orders specs largest first, by the size of the file (or of
// the files directly in a directory spec, such as a Go package), keeping
// the given order between equal sizes. create_taskset queues the specs
// without an estimate first and in the given order, so on a first run
// this is the order they run in: a big file usually holds more, or
// slower, cases than a small one (file size is what bktec and CircleCI
// split by without timings), and the longest ones should start first. A
// spec whose size cannot be read counts as 0. Specs with estimates are
// ordered by them; this order does not matter to them.
func OrderBySize(dir string, specs []string) {
	size := make(map[string]int64, len(specs))
	for _, s := range specs {
		size[s] = specSize(filepath.Join(dir, filepath.FromSlash(s)))
	}
	slices.SortStableFunc(specs, func(a, b string) int {
		switch {
		case size[a] > size[b]:
			return -1
		case size[a] < size[b]:
			return 1
		}
		return 0
	})
}

func specSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	if !st.IsDir() {
		return st.Size()
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}
