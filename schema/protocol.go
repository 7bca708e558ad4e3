package schema

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ProtocolVersion is the version of the protocol (the keys, fields and
// scripts of this package) that this build writes. A change that an older
// part would misread raises it; see docs/protocol.md, "Versions and
// upgrades".
const ProtocolVersion = 1

// MinProtocolVersion is the oldest version this build still speaks. A
// release that raises ProtocolVersion keeps this at the old version, so
// that it can join a fleet that still runs the old one.
const MinProtocolVersion = 1

// ErrProtocol is returned when the fleet's Redis holds a protocol version
// this build does not speak.
var ErrProtocol = errors.New("protocol version not spoken")

// CheckProtocol reads the fleet's protocol version ($NS:protocol_version),
// setting it to ProtocolVersion when no part has yet, and returns it. A
// version outside [MinProtocolVersion, ProtocolVersion], or one that is not
// a number, is an ErrProtocol that says what to do.
func (c *Client) CheckProtocol(ctx context.Context) (int, error) {
	key := c.Keys.Protocol()
	var get *redis.StringCmd
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, key, ProtocolVersion, 0)
		get = p.Get(ctx, key)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", key, c.NameWrongType(ctx, err, KeyType{key, "string"}))
	}
	raw := get.Val()
	v, perr := strconv.Atoi(strings.TrimSpace(raw))
	if perr != nil {
		return 0, fmt.Errorf("%w: %s holds %q, not a protocol version; this rrr speaks %s (delete the key if nothing else uses this namespace)",
			ErrProtocol, key, raw, speaks())
	}
	if v < MinProtocolVersion || v > ProtocolVersion {
		what := "an older release"
		if v > ProtocolVersion {
			what = "a newer release"
		}
		return v, fmt.Errorf("%w: the fleet on this Redis speaks protocol %d (%s); this rrr speaks %s: run a release that speaks %d (`rrr version` says which protocols a build speaks)",
			ErrProtocol, v, what, speaks(), v)
	}
	return v, nil
}

func speaks() string {
	if MinProtocolVersion == ProtocolVersion {
		return strconv.Itoa(ProtocolVersion)
	}
	return fmt.Sprintf("%d to %d", MinProtocolVersion, ProtocolVersion)
}
