package redisx

import "strings"

// ACLCommands are the Redis commands rrr uses, every part of it (the
// client commands, server loops, workers, slaves, the dashboard), with the
// Lua scripts' own: what an ACL user of the fleet needs, and nothing else.
// cmd/rrr's TestFleetUnderTLSAndARestrictedUser runs the fleet under a
// user that has just these, and README.md prints ACLRule("rrrspec").
var ACLCommands = []string{
	// connecting: HELLO (with its AUTH), AUTH for an older server, PING,
	// SELECT for a database other than 0
	"hello", "auth", "ping", "select",
	// the Lua scripts (schema/lua), and TIME, Redis's clock
	"eval", "evalsha", "time",
	"multi", "exec", "discard",
	"del", "exists", "type", "expire", "pexpire", "pttl",
	"get", "set", "setnx", "append", "strlen",
	"hget", "hset", "hdel", "hexists", "hgetall", "hmget", "hincrby",
	"rpush", "lpush", "lrange", "llen", "lrem", "ltrim", "lpos", "lindex", "lmove", "blmove", "blpop",
	"sadd", "srem", "smembers", "sismember", "scard",
	"publish", "subscribe", "unsubscribe", "psubscribe", "punsubscribe",
}

// ACLRule is the ACL rule of a fleet's user in namespace ns, for
// "ACL SETUSER name on >password RULE" or "user name on >password RULE" in
// redis.conf: its keys and channels (Redis 7 gives a new user none:
// acl-pubsub-default is resetchannels) under the namespace, and
// ACLCommands. Keys that a Lua script builds itself are under the
// namespace too, so the key pattern holds inside scripts. The dashboard's
// metrics subscribe to the pattern NS:taskset:*:events, and Redis allows a
// pattern subscription only to a user that has that very pattern.
func ACLRule(ns string) string {
	return "resetkeys ~" + ns + ":* resetchannels &" + ns + ":* &" + ns + ":taskset:*:events -@all +" + strings.Join(ACLCommands, " +")
}
