package client

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// maxNameLen bounds an rsync name: it becomes a directory name on every
// worker and part of every key of the taskset.
const maxNameLen = 64

// SanitizeName makes an rsync name safe as a directory name and a key part:
// characters outside [A-Za-z0-9._-] become "-", and a name of dots only (or
// nothing) becomes "anonymous".
func SanitizeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := b.String()
	if len(s) > maxNameLen {
		s = s[:maxNameLen]
	}
	if strings.Trim(s, ".") == "" {
		return "anonymous"
	}
	return s
}

// NewTasksetID returns "<name>-<UTC yyyymmdd-hhmmss>-<4 hex digits>": sorted
// by time for one user, readable in a list, and unique enough when the same
// user starts two tasksets in one second. name must be sanitized.
func NewTasksetID(name string, now time.Time, rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [2]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("taskset id: read random bytes: %w", err)
	}
	return name + "-" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:]), nil
}
