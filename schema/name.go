package schema

import (
	"fmt"
	"strings"
)

// MaxNameLen bounds an rsync name: it names a folder on the upload host and
// on every worker, and starts the taskset id.
const MaxNameLen = 64

// maxIDLen bounds a taskset id: an rsync name and "-yyyymmdd-hhmmss-xxxx".
const maxIDLen = MaxNameLen + len("-20060102-150405-abcd")

// NameRule says in words what CheckName accepts.
const NameRule = "letters, digits, '.', '_' and '-', starting with a letter or a digit"

// CheckName is the one rule for names that become folder names and key
// parts: rsync names here, taskset ids through CheckTasksetID. It refuses
// what could leave a folder ('/', ".."), hide among temporary folders (a
// leading '.'), be read as an option by rsync or a shell tool (a leading
// '-'), or split a key (':'). what names the value in the error ("rsync
// name", "--rsync-name").
func CheckName(what, name string) error { return checkName(what, name, MaxNameLen) }

// CheckTasksetID applies the rule of CheckName to a taskset id: the client
// creates ids that pass it, and the worker and the results store accept
// every id that passes it.
func CheckTasksetID(id string) error { return checkName("taskset id", id, maxIDLen) }

func checkName(what, name string, maxLen int) error {
	ok := name != "" && len(name) <= maxLen && isAlnum(name[0])
	for i := 0; ok && i < len(name); i++ {
		ok = NameByte(name[i])
	}
	if !ok {
		return fmt.Errorf("%s %q: %w: use %s, at most %d characters", what, name, ErrInvalid, NameRule, maxLen)
	}
	return nil
}

// NameByte reports whether c may appear in a name (not only at its start).
func NameByte(c byte) bool { return isAlnum(c) || strings.IndexByte("._-", c) >= 0 }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
