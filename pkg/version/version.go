// Package version says which rrr this is: the release, the commit it was
// built from, and the protocol version it speaks (schema.ProtocolVersion).
package version

import (
	"fmt"
	"runtime/debug"

	"github.com/rrr-dev/rrr/schema"
)

// Version is the release; a release build sets it with
// -ldflags "-X github.com/rrr-dev/rrr/pkg/version.Version=v1.2.3".
var Version = "dev"

// Commit is the commit of the build when the toolchain did not stamp it
// (go run, -buildvcs=false): -ldflags "-X .../version.Commit=$(git rev-parse HEAD)".
var Commit = ""

// Info is what `rrr version` prints and every part logs at start.
type Info struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`          // "unknown" outside a git checkout
	Modified bool   `json:"modified"`        // built from a tree with uncommitted changes
	Go       string `json:"go"`              // the Go toolchain
	Protocol int    `json:"protocol"`        // the protocol version written and spoken
	Speaks   string `json:"speaks_protocol"` // the protocol versions this build accepts, "1" or "1-2"
}

// Get reads the build's information.
func Get() Info {
	i := Info{Version: Version, Commit: Commit, Go: "unknown", Protocol: schema.ProtocolVersion, Speaks: speaks()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if i.Commit == "" {
			i.Commit = "unknown"
		}
		return i
	}
	i.Go = bi.GoVersion
	if i.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version // go install module@version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if i.Commit == "" {
				i.Commit = s.Value
			}
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}

// String is the one-line form: "rrr dev (commit 1a2b3c4d5e6f, modified; protocol 1; go1.22.1)".
func (i Info) String() string {
	commit := i.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if i.Modified {
		commit += ", modified"
	}
	return fmt.Sprintf("rrr %s (commit %s; protocol %d; %s)", i.Version, commit, i.Protocol, i.Go)
}

func speaks() string {
	if schema.MinProtocolVersion == schema.ProtocolVersion {
		return fmt.Sprint(schema.ProtocolVersion)
	}
	return fmt.Sprintf("%d-%d", schema.MinProtocolVersion, schema.ProtocolVersion)
}
