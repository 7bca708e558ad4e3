package worker

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/pkg/host"
	"github.com/rrr-dev/rrr/pkg/redisx"
	"github.com/rrr-dev/rrr/schema"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("bad worker configuration")

// Defaults of Config and SlaveConfig.
const (
	// A heartbeat survives a stall of its process of up to TTL - interval
	// (3 s) and is gone at most TTL (4 s) after its process died; the
	// arbiter then recovers its work within its watch interval (0.5 s).
	DefaultHeartbeatTTL      = 4 * time.Second
	DefaultHeartbeatInterval = 1 * time.Second
	DefaultPopTimeout        = time.Second
	DefaultPollInterval      = time.Second
	DefaultSetupTimeout      = 30 * time.Minute
	DefaultStopGrace         = 10 * time.Second
	DefaultMaxSlaveCrashes   = 3
	DefaultLogCap            = 1 << 20   // worker log text of one taskset in Redis
	DefaultSlaveLogCap       = 256 << 10 // slave log in Redis
	DefaultKeepLogs          = 72 * time.Hour
	DefaultKillGrace         = 5 * time.Second  // least time between soft and hard timeout
	DefaultUnknownHardExtra  = 30 * time.Second // hard = soft + this, estimate unknown
	DefaultTrialGrace        = 5 * time.Second  // a stopped slave's trial: SIGTERM -> SIGKILL
	DefaultTrialWaitDelay    = 2 * time.Second
	DefaultIdleWait          = time.Second
	// DefaultBreaker is the run of fast failures (FastLimit) on one
	// worker in one taskset that trips its circuit breaker.
	DefaultBreaker = 5
)

// Config configures a worker.
type Config struct {
	ID         string // worker id; "" means the host name
	WorkerType string // "" means schema.DefaultWorkerType
	Slaves     int    // slaves per taskset; 0 means runtime.NumCPU()
	Host       string // for output paths (host:path); "" means the host name

	// WorkingDir holds the working copies (<WorkingDir>/copies/<rsync_name>)
	// and the full outputs (<WorkingDir>/logs/<taskset id>/...). Required.
	WorkingDir string
	// InPlaceDir, when set, is the project itself: no rsync, the trials
	// run there (rrr local).
	InPlaceDir string
	// RsyncRemotePath and RsyncOptions override the taskset's remote path
	// and $NS:rsync_info.
	RsyncRemotePath string
	RsyncOptions    string

	SetupTimeout      time.Duration
	HeartbeatTTL      time.Duration // of the worker and of its slaves
	HeartbeatInterval time.Duration
	PopTimeout        time.Duration // blocking pop of the worker queue
	PollInterval      time.Duration // taskset status poll, beside the events channel
	StopGrace         time.Duration // slaves: SIGTERM, then SIGKILL after this
	// MaxSlaveCrashes is how often one slave slot may crash during a
	// taskset; one more crash fails the taskset. 0 means
	// DefaultMaxSlaveCrashes, a negative number none (the first crash
	// fails the taskset).
	MaxSlaveCrashes int
	// Breaker is how many trials in a row must fail fast (FastLimit) on
	// this worker in a taskset for it to leave the taskset, marked
	// unhealthy (docs/protocol.md, "The circuit breaker"). 0 means
	// DefaultBreaker, a negative number turns the breaker off.
	Breaker  int
	LogCap   int           // bytes of the worker log text per taskset in Redis
	KeepLogs time.Duration // full outputs older than this are removed; <0 keeps all

	// RedisURL and Namespace are handed to the slaves (RRR_REDIS,
	// RRR_NAMESPACE), which open their own connection.
	RedisURL  string
	Namespace string
	// RedisTLS are the TLS files of the connection, handed to the slaves
	// with the URL; relative paths are made absolute (slaves run in
	// their working copy).
	RedisTLS redisx.TLSFiles
	// SlaveCommand starts a default slave; nil means this executable with
	// the argument "slave". A taskset's slave_command replaces it.
	SlaveCommand []string
	// SlaveEnv is added to the environment of every slave (log flags).
	SlaveEnv []string
	// SlaveOutput receives the slaves' stdout and stderr; nil means
	// os.Stderr.
	SlaveOutput io.Writer

	// Trial tunes the slaves' trials.
	Trial TrialConfig
}

// TrialConfig tunes how slaves run trials; zero values mean the defaults.
type TrialConfig struct {
	KillGrace        time.Duration // least time between soft and hard timeout
	UnknownHardExtra time.Duration // hard - soft when the estimate is unknown
	Grace            time.Duration // a stopped slave's trial: SIGTERM -> SIGKILL
	WaitDelay        time.Duration // output drain after the trial's group is gone
	IdleWait         time.Duration // longest wait for work before looking again
	LogCap           int           // bytes of the slave log in Redis
}

func (t *TrialConfig) defaults() {
	setDur(&t.KillGrace, DefaultKillGrace)
	setDur(&t.UnknownHardExtra, DefaultUnknownHardExtra)
	setDur(&t.Grace, DefaultTrialGrace)
	setDur(&t.WaitDelay, DefaultTrialWaitDelay)
	setDur(&t.IdleWait, DefaultIdleWait)
	if t.LogCap <= 0 {
		t.LogCap = DefaultSlaveLogCap
	}
}

func setDur(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Validate fills defaults and checks values; New calls it.
func (c *Config) Validate() error {
	if c.ID == "" {
		c.ID = host.Name()
	}
	if c.Host == "" {
		c.Host = host.Name()
	}
	if c.WorkerType == "" {
		c.WorkerType = schema.DefaultWorkerType
	}
	if c.Slaves == 0 {
		c.Slaves = runtime.NumCPU()
	}
	setDur(&c.SetupTimeout, DefaultSetupTimeout)
	setDur(&c.HeartbeatTTL, DefaultHeartbeatTTL)
	setDur(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	setDur(&c.PopTimeout, DefaultPopTimeout)
	setDur(&c.PollInterval, DefaultPollInterval)
	setDur(&c.StopGrace, DefaultStopGrace)
	if c.MaxSlaveCrashes == 0 { // negative: none (see Breaker below)
		c.MaxSlaveCrashes = DefaultMaxSlaveCrashes
	}
	// Negative stays negative: Validate may run twice (rrr worker checks
	// its flags before New does), and must not turn "off" into the default.
	if c.Breaker == 0 {
		c.Breaker = DefaultBreaker
	}
	if c.LogCap <= 0 {
		c.LogCap = DefaultLogCap
	}
	if c.KeepLogs == 0 {
		c.KeepLogs = DefaultKeepLogs
	}
	if c.SlaveOutput == nil {
		c.SlaveOutput = os.Stderr
	}
	c.Trial.defaults()
	if len(c.SlaveCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("%w: cannot find this executable to start slaves: %w", ErrConfig, err)
		}
		c.SlaveCommand = []string{exe, "slave"}
	}
	switch {
	case strings.ContainsAny(c.ID, ": \t\n/"):
		return fmt.Errorf("%w: worker id %q: use letters, digits, '.', '-' and '_' (no ':', '/' or blanks)", ErrConfig, c.ID)
	case c.Slaves < 0:
		return fmt.Errorf("%w: %d slaves: give 1 or more (0 means one per CPU)", ErrConfig, c.Slaves)
	case c.WorkingDir == "":
		return fmt.Errorf("%w: no working directory: set --working-dir", ErrConfig)
	case c.HeartbeatInterval >= c.HeartbeatTTL:
		return fmt.Errorf("%w: heartbeat interval %s must be shorter than its TTL %s", ErrConfig, c.HeartbeatInterval, c.HeartbeatTTL)
	case c.RedisURL == "":
		return fmt.Errorf("%w: no Redis URL to hand to the slaves", ErrConfig)
	}
	var err error
	if c.WorkingDir, err = filepath.Abs(c.WorkingDir); err != nil {
		return fmt.Errorf("%w: working directory %q: %w", ErrConfig, c.WorkingDir, err)
	}
	if c.RedisTLS, err = c.RedisTLS.Absolute(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.InPlaceDir != "" {
		if c.InPlaceDir, err = filepath.Abs(c.InPlaceDir); err != nil {
			return fmt.Errorf("%w: project directory %q: %w", ErrConfig, c.InPlaceDir, err)
		}
	}
	return nil
}

// Environment variables of slaves and trials.
const (
	// a slave's own configuration
	EnvRedis        = "RRR_REDIS"
	EnvNamespace    = "RRR_NAMESPACE"
	EnvWorker       = "RRR_WORKER"          // worker key
	EnvSlave        = "RRR_SLAVE"           // slave key
	EnvWorkingCopy  = "RRR_WORKING_COPY"    // the project's working copy
	EnvOutputDir    = "RRR_OUTPUT_DIR"      // full trial outputs go below it
	EnvPgidFile     = "RRR_TRIAL_PGID_FILE" // the slave writes its trial's process group id here
	EnvHost         = "RRR_HOST"
	EnvSlaveTimings = "RRR_SLAVE_TIMINGS" // heartbeat and trial tunables, see SlaveConfig.Env

	// shared by slaves and trials
	EnvTaskset     = "RRR_TASKSET" // taskset key
	EnvSlaveNumber = "SLAVE_NUMBER"
	EnvNumSlaves   = "NUM_SLAVES"

	// a trial's own
	EnvSpecFile = "RRR_SPEC_FILE"
	EnvReport   = "RRR_REPORT"
)

// SlaveConfig configures one slave. The worker hands it over in the
// environment (Env, SlaveConfigFromEnv).
type SlaveConfig struct {
	Taskset, Worker, Slave string // keys
	Number, NumSlaves      int
	WorkingCopy            string
	OutputDir              string
	PgidFile               string
	Host                   string
	HeartbeatTTL           time.Duration
	HeartbeatInterval      time.Duration
	Trial                  TrialConfig
	// Breaker is the worker's circuit breaker threshold (Config.Breaker);
	// 0: off.
	Breaker int
}

// Env is the slave's configuration as environment variables.
func (c SlaveConfig) Env() []string {
	t := c.Trial
	timings := fmt.Sprintf("ttl=%s,interval=%s,kill_grace=%s,unknown_hard_extra=%s,grace=%s,wait_delay=%s,idle_wait=%s,log_cap=%d,breaker=%d",
		c.HeartbeatTTL, c.HeartbeatInterval, t.KillGrace, t.UnknownHardExtra, t.Grace, t.WaitDelay, t.IdleWait, t.LogCap, c.Breaker)
	return []string{
		EnvTaskset + "=" + c.Taskset,
		EnvWorker + "=" + c.Worker,
		EnvSlave + "=" + c.Slave,
		EnvSlaveNumber + "=" + strconv.Itoa(c.Number),
		EnvNumSlaves + "=" + strconv.Itoa(c.NumSlaves),
		EnvWorkingCopy + "=" + c.WorkingCopy,
		EnvOutputDir + "=" + c.OutputDir,
		EnvPgidFile + "=" + c.PgidFile,
		EnvHost + "=" + c.Host,
		EnvSlaveTimings + "=" + timings,
	}
}

// SlaveConfigFromEnv reads what Env wrote. Missing timings take defaults.
func SlaveConfigFromEnv(getenv func(string) string) (SlaveConfig, error) {
	c := SlaveConfig{
		Taskset: getenv(EnvTaskset), Worker: getenv(EnvWorker), Slave: getenv(EnvSlave),
		WorkingCopy: getenv(EnvWorkingCopy), OutputDir: getenv(EnvOutputDir),
		PgidFile: getenv(EnvPgidFile), Host: getenv(EnvHost),
	}
	for _, v := range []struct{ name, val string }{
		{EnvTaskset, c.Taskset}, {EnvWorker, c.Worker}, {EnvSlave, c.Slave},
		{EnvWorkingCopy, c.WorkingCopy}, {EnvOutputDir, c.OutputDir},
	} {
		if v.val == "" {
			return c, fmt.Errorf("%w: %s is not set: `rrr slave` is started by `rrr worker`, which sets it", ErrConfig, v.name)
		}
	}
	var err error
	if c.Number, err = strconv.Atoi(getenv(EnvSlaveNumber)); err != nil {
		return c, fmt.Errorf("%w: %s=%q: want a number", ErrConfig, EnvSlaveNumber, getenv(EnvSlaveNumber))
	}
	if c.NumSlaves, err = strconv.Atoi(getenv(EnvNumSlaves)); err != nil {
		return c, fmt.Errorf("%w: %s=%q: want a number", ErrConfig, EnvNumSlaves, getenv(EnvNumSlaves))
	}
	if c.Host == "" {
		c.Host = host.Name()
	}
	if s := getenv(EnvSlaveTimings); s != "" {
		for _, kv := range strings.Split(s, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if k == "log_cap" || k == "breaker" {
				n, err := strconv.Atoi(v)
				if err != nil {
					return c, fmt.Errorf("%w: %s: %s=%q: want a number", ErrConfig, EnvSlaveTimings, k, v)
				}
				if k == "log_cap" {
					c.Trial.LogCap = n
				} else {
					c.Breaker = max(n, 0)
				}
				continue
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("%w: %s: %s=%q: want a duration", ErrConfig, EnvSlaveTimings, k, v)
			}
			switch k {
			case "ttl":
				c.HeartbeatTTL = d
			case "interval":
				c.HeartbeatInterval = d
			case "kill_grace":
				c.Trial.KillGrace = d
			case "unknown_hard_extra":
				c.Trial.UnknownHardExtra = d
			case "grace":
				c.Trial.Grace = d
			case "wait_delay":
				c.Trial.WaitDelay = d
			case "idle_wait":
				c.Trial.IdleWait = d
			default:
				return c, fmt.Errorf("%w: %s: unknown setting %q", ErrConfig, EnvSlaveTimings, k)
			}
		}
	}
	setDur(&c.HeartbeatTTL, DefaultHeartbeatTTL)
	setDur(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	c.Trial.defaults()
	return c, nil
}

// logger returns l with the component field.
func component(l zerolog.Logger, name string) zerolog.Logger {
	return l.With().Str("component", name).Logger()
}
