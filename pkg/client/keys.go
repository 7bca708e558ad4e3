package client

import (
	"fmt"
	"strings"

	"github.com/rrr-dev/rrr/schema"
)

// ResolveKey accepts a full taskset key of the namespace of keys, or a bare
// taskset id, and returns the key.
func ResolveKey(keys schema.Keys, arg string) (string, error) {
	if _, ok := keys.TasksetID(arg); ok {
		return arg, nil
	}
	if strings.Contains(arg, ":") {
		return "", fmt.Errorf("%q: %w: not a taskset key of namespace %q (want %s or a bare taskset id; see --namespace)",
			arg, ErrBadKey, keys.Namespace(), keys.Taskset("ID"))
	}
	if arg == "" {
		return "", fmt.Errorf("%w: empty taskset key", ErrBadKey)
	}
	return keys.Taskset(arg), nil
}
