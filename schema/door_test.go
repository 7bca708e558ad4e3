package schema_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// redisCommands are go-redis methods that send a command; none of them has
// a namesake among the methods of rrr's own types.
var redisCommands = map[string]bool{}

func init() {
	for _, m := range strings.Fields(`HGet HGetAll HMGet HSet HMSet HDel HIncrBy HExists HLen
		LRange LLen LIndex LPush RPush LRem LPop RPop BLPop BRPop BLMove LMove LTrim
		SMembers SIsMember SAdd SRem SCard ZAdd ZRange ZRem Incr IncrBy Decr Append SetNX
		Del Unlink Expire PExpire PTTL TTL Persist Publish PubSubNumPat PubSubChannels
		Pipelined TxPipelined Pipeline TxPipeline Eval EvalSha ScriptLoad Watch FlushDB`) {
		redisCommands[m] = true
	}
}

// Only schema talks to Redis (docs/architecture.md): a command sent from
// anywhere else, outside tests and the connection helpers, breaks the rule
// that every key and field rrr touches is named in schema.
func TestOnlySchemaSendsRedisCommands(t *testing.T) {
	allowed := []string{"schema/", "pkg/redisx/", "pkg/redistest/"}
	fset := token.NewFileSet()
	var found []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		for _, a := range allowed {
			if strings.HasPrefix(rel, a) {
				return nil
			}
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && redisCommands[sel.Sel.Name] {
					found = append(found, fset.Position(call.Pos()).String()+": "+sel.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Empty(t, found, "Redis commands sent outside schema: add a read or a script to schema and call it")
}
