package schema

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrWrongType marks a key that holds another type of value than the
// protocol gives it (something else wrote it): Redis answers WRONGTYPE to
// every command on it. It is not an outage, and waiting does not help.
var ErrWrongType = errors.New("a key holds the wrong type of value")

// IsWrongType reports whether Redis refused a command because the key holds
// another type of value: a corrupt key, not an outage.
func IsWrongType(err error) bool {
	var reply redis.Error
	return errors.Is(err, ErrWrongType) || (errors.As(err, &reply) && strings.HasPrefix(reply.Error(), "WRONGTYPE"))
}

// KeyType is a key with the Redis type the protocol gives it.
type KeyType struct{ Key, Type string }

// Globals are the namespace's keys that are not below a taskset or worker,
// with their types.
func (k Keys) Globals() []KeyType {
	return []KeyType{
		{k.RsyncInfo(), "hash"}, {k.Workers(), "set"}, {k.ActiveTaskset(), "list"},
		{k.DispatcherQueue(), "list"}, {k.ArbiterQueue(), "list"}, {k.PersisterQueue(), "list"},
		{k.Protocol(), "string"},
	}
}

// NameWrongType turns a WRONGTYPE reply into an error that names the keys
// of keys holding another type and says what to do; any other err, or one
// whose key it cannot find among keys, is returned as it is.
func (c *Client) NameWrongType(ctx context.Context, err error, keys ...KeyType) error {
	if err == nil || errors.Is(err, ErrWrongType) || !IsWrongType(err) {
		return err
	}
	var wrong []string
	for _, k := range keys {
		got, terr := c.rdb.Type(ctx, k.Key).Result()
		if terr == nil && got != k.Type && got != "none" {
			wrong = append(wrong, fmt.Sprintf("%s holds a %s, not a %s", k.Key, got, k.Type))
		}
	}
	if len(wrong) == 0 {
		return err
	}
	return fmt.Errorf("%w: %s (not an outage: delete the key with redis-cli DEL, or stop what writes it): %w",
		ErrWrongType, strings.Join(wrong, "; "), err)
}
