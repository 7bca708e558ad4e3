package client

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rrr-dev/rrr/schema"
)

// DefaultName is the rsync name of a person who gave none: their login
// name ($USER) made to pass schema.CheckName (other characters become "-",
// what cannot start a name is dropped from its start, "anonymous" when
// nothing is left). A name given on purpose is checked, never changed.
func DefaultName(user string) string {
	b := []byte(user)
	for i, c := range b {
		if !schema.NameByte(c) {
			b[i] = '-'
		}
	}
	s := strings.TrimLeft(string(b), "._-")
	if len(s) > schema.MaxNameLen {
		s = s[:schema.MaxNameLen]
	}
	if s == "" {
		return "anonymous"
	}
	return s
}

// NewTasksetID returns "<name>-<UTC yyyymmdd-hhmmss>-<4 hex digits>": sorted
// by time for one user, readable in a list, and unique enough when the same
// user starts two tasksets in one second. name must pass schema.CheckName.
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
