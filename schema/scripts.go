package schema

import (
	"embed"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// ErrInvalid is returned when a script refuses malformed input; nothing was
// changed. The message after it says what was wrong.
var ErrInvalid = errors.New("invalid")

// script names, one per file in lua/.
var (
	scriptCreateTaskset   = load("create_taskset")
	scriptTakeTask        = load("take_task")
	scriptTakeTrial       = load("take_trial")
	scriptTakeBatch       = load("take_batch")
	scriptStartTrial      = load("start_trial")
	scriptFinishTrial     = load("finish_trial")
	scriptSettleTask      = load("settle_task")
	scriptRequeueTask     = load("requeue_task")
	scriptFinishTaskset   = load("finish_taskset")
	scriptStopTaskset     = load("stop_taskset")
	scriptDispatch        = load("dispatch")
	scriptReleaseWorker   = load("release_worker")
	scriptRegisterWorker  = load("register_worker")
	scriptRemoveWorker    = load("remove_worker")
	scriptRecoverConsumer = load("recover_consumer")
	scriptAppendCapped    = load("append_capped")
	scriptStamp           = load("stamp")
	scriptStartWorkerLog  = load("start_worker_log")
	scriptRegisterSlave   = load("register_slave")
	scriptRecordPersisted = load("record_persisted")
	scriptExpireTasks     = load("expire_tasks")
	scriptUntry           = load("untry")
	scriptTripBreaker     = load("trip_breaker")
)

// load builds a script from lua/lib.lua followed by lua/<name>.lua.
// The library is prepended instead of loaded as a function library so that
// scripts also run on Redis < 7 and on miniredis.
func load(name string) *redis.Script {
	lib, err := luaFiles.ReadFile("lua/lib.lua")
	if err != nil {
		panic(err)
	}
	body, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(fmt.Sprintf("schema: no script %s: %v", name, err))
	}
	return redis.NewScript(string(lib) + "\n" + string(body))
}

// scriptErr maps a script's refusal to ErrInvalid and names the script.
func scriptErr(name string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, "RRRINVALID "); i >= 0 {
		detail := msg[i+len("RRRINVALID "):]
		// Redis may add the script location after the message.
		if j := strings.Index(detail, " script:"); j >= 0 {
			detail = detail[:j]
		}
		return fmt.Errorf("%s: %w: %s", name, ErrInvalid, detail)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// pair returns the two strings of a {a, b} script reply.
func pair(name string, v any) (string, string, error) {
	list, ok := v.([]any)
	if !ok || len(list) != 2 {
		return "", "", fmt.Errorf("%s: unexpected reply %#v", name, v)
	}
	a, okA := list[0].(string)
	b, okB := list[1].(string)
	if !okA || !okB {
		return "", "", fmt.Errorf("%s: unexpected reply %#v", name, v)
	}
	return a, b, nil
}
