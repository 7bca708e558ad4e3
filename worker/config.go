package worker

import (
	"encoding/json"
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
	"github.com/rrr-dev/rrr/pkg/loopx"
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
	// DefaultMaxSlaveCrashes, unless FailOnFirstSlaveCrash.
	MaxSlaveCrashes int
	// FailOnFirstSlaveCrash allows no crash at all: the first one fails
	// the taskset (--max-slave-crashes 0). MaxSlaveCrashes must then be 0.
	FailOnFirstSlaveCrash bool
	LogCap                int // bytes of the worker log text per taskset in Redis
	// KeepLogs is how long full outputs are kept before they are removed;
	// 0 means DefaultKeepLogs, unless KeepAllLogs.
	KeepLogs time.Duration
	// KeepAllLogs keeps full outputs for good (--keep-logs 0); KeepLogs
	// must then be 0.
	KeepAllLogs bool
	// Breaker is how many trials in a row must fail fast (FastLimit) on
	// this worker in a taskset for it to leave the taskset, marked
	// unhealthy (docs/protocol.md, "The circuit breaker"); 0: off, the
	// default (a commit that breaks every spec fails fast on every box).
	Breaker int

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
	KillGrace        time.Duration `json:"kill_grace_ns,omitempty"`         // least time between soft and hard timeout
	UnknownHardExtra time.Duration `json:"unknown_hard_extra_ns,omitempty"` // hard - soft when the estimate is unknown
	Grace            time.Duration `json:"grace_ns,omitempty"`              // a stopped slave's trial: SIGTERM -> SIGKILL
	WaitDelay        time.Duration `json:"wait_delay_ns,omitempty"`         // output drain after the trial's group is gone
	IdleWait         time.Duration `json:"idle_wait_ns,omitempty"`          // longest wait for work before looking again
	LogCap           int           `json:"log_cap,omitempty"`               // bytes of the slave log in Redis
}

// withDefaults fills the zero values.
func (t TrialConfig) withDefaults() TrialConfig {
	loopx.Default(&t.KillGrace, DefaultKillGrace)
	loopx.Default(&t.UnknownHardExtra, DefaultUnknownHardExtra)
	loopx.Default(&t.Grace, DefaultTrialGrace)
	loopx.Default(&t.WaitDelay, DefaultTrialWaitDelay)
	loopx.Default(&t.IdleWait, DefaultIdleWait)
	loopx.Default(&t.LogCap, DefaultSlaveLogCap)
	return t
}

// validate checks filled values.
func (t TrialConfig) validate() error {
	if err := allPositive(setting{"kill grace", t.KillGrace}, setting{"unknown hard extra", t.UnknownHardExtra},
		setting{"trial grace", t.Grace}, setting{"trial wait delay", t.WaitDelay}, setting{"idle wait", t.IdleWait}); err != nil {
		return err
	}
	if t.LogCap <= 0 {
		return fmt.Errorf("%w: slave log cap %d: must be more than zero", ErrConfig, t.LogCap)
	}
	return nil
}

// setting is a time of a configuration, with its name for messages.
type setting struct {
	name string
	d    time.Duration
}

// allPositive refuses the first setting that is not more than zero.
func allPositive(settings ...setting) error {
	for _, s := range settings {
		if s.d <= 0 {
			return fmt.Errorf("%w: %s %s: must be more than zero", ErrConfig, s.name, s.d)
		}
	}
	return nil
}

// WithDefaults returns c with its zero values filled and its paths made
// absolute; New calls it, then Validate.
func (c Config) WithDefaults() Config {
	loopx.Default(&c.ID, host.Name())
	loopx.Default(&c.Host, host.Name())
	loopx.Default(&c.WorkerType, schema.DefaultWorkerType)
	loopx.Default(&c.Slaves, runtime.NumCPU())
	loopx.Default(&c.SetupTimeout, DefaultSetupTimeout)
	loopx.Default(&c.HeartbeatTTL, DefaultHeartbeatTTL)
	loopx.Default(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	loopx.Default(&c.PopTimeout, DefaultPopTimeout)
	loopx.Default(&c.PollInterval, DefaultPollInterval)
	loopx.Default(&c.StopGrace, DefaultStopGrace)
	if c.MaxSlaveCrashes == 0 && !c.FailOnFirstSlaveCrash {
		c.MaxSlaveCrashes = DefaultMaxSlaveCrashes
	}
	loopx.Default(&c.LogCap, DefaultLogCap)
	if c.KeepLogs == 0 && !c.KeepAllLogs {
		c.KeepLogs = DefaultKeepLogs
	}
	if c.SlaveOutput == nil {
		c.SlaveOutput = os.Stderr
	}
	c.Trial = c.Trial.withDefaults()
	if len(c.SlaveCommand) == 0 {
		if exe, err := os.Executable(); err == nil { // else Validate says so
			c.SlaveCommand = []string{exe, "slave"}
		}
	}
	// Slaves run in their working copy: relative paths would not name the
	// same files there. Abs fails only without a current directory, which
	// Validate then reports.
	if abs, err := filepath.Abs(c.WorkingDir); err == nil && c.WorkingDir != "" {
		c.WorkingDir = abs
	}
	if abs, err := filepath.Abs(c.InPlaceDir); err == nil && c.InPlaceDir != "" {
		c.InPlaceDir = abs
	}
	if tls, err := c.RedisTLS.Absolute(); err == nil {
		c.RedisTLS = tls
	}
	return c
}

// Validate checks a configuration filled by WithDefaults; it changes
// nothing.
func (c Config) Validate() error {
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
	case c.MaxSlaveCrashes < 0:
		return fmt.Errorf("%w: %d slave crashes: give 0 or more (FailOnFirstSlaveCrash for none)", ErrConfig, c.MaxSlaveCrashes)
	case c.FailOnFirstSlaveCrash && c.MaxSlaveCrashes != 0:
		return fmt.Errorf("%w: %d slave crashes allowed, and none (FailOnFirstSlaveCrash): give one of them", ErrConfig, c.MaxSlaveCrashes)
	case c.Breaker < 0:
		return fmt.Errorf("%w: breaker %d: give 0 (off) or more", ErrConfig, c.Breaker)
	case c.KeepLogs < 0:
		return fmt.Errorf("%w: keep logs %s: must not be negative (KeepAllLogs keeps them for good)", ErrConfig, c.KeepLogs)
	case c.KeepAllLogs && c.KeepLogs != 0:
		return fmt.Errorf("%w: keep logs %s, and for good (KeepAllLogs): give one of them", ErrConfig, c.KeepLogs)
	case len(c.SlaveCommand) == 0:
		_, err := os.Executable()
		return fmt.Errorf("%w: cannot find this executable to start slaves: %v", ErrConfig, err)
	}
	if err := allPositive(setting{"setup timeout", c.SetupTimeout}, setting{"heartbeat TTL", c.HeartbeatTTL},
		setting{"heartbeat interval", c.HeartbeatInterval}, setting{"pop timeout", c.PopTimeout},
		setting{"poll interval", c.PollInterval}, setting{"stop grace", c.StopGrace}); err != nil {
		return err
	}
	for _, p := range []struct{ what, path string }{{"working directory", c.WorkingDir}, {"project directory", c.InPlaceDir}} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			_, err := os.Getwd()
			return fmt.Errorf("%w: %s %q: cannot make it absolute: %v", ErrConfig, p.what, p.path, err)
		}
	}
	if _, err := c.RedisTLS.Absolute(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.LogCap <= 0 {
		return fmt.Errorf("%w: log cap %d: must be more than zero", ErrConfig, c.LogCap)
	}
	return c.Trial.validate()
}

// Environment variables of slaves and trials.
const (
	// a slave's own configuration
	EnvRedis       = "RRR_REDIS"
	EnvNamespace   = "RRR_NAMESPACE"
	EnvSlaveConfig = "RRR_SLAVE_CONFIG" // the whole SlaveConfig as JSON, see SlaveConfig.Env

	// Also in RRR_SLAVE_CONFIG; set on their own for custom slaves
	// (README.md, "Custom slaves"), which read them.
	EnvWorker      = "RRR_WORKER"          // worker key
	EnvSlave       = "RRR_SLAVE"           // slave key
	EnvWorkingCopy = "RRR_WORKING_COPY"    // the project's working copy
	EnvOutputDir   = "RRR_OUTPUT_DIR"      // full trial outputs go below it
	EnvPgidFile    = "RRR_TRIAL_PGID_FILE" // the slave writes its trial's process group id here

	// shared by slaves and trials
	EnvTaskset     = "RRR_TASKSET" // taskset key
	EnvSlaveNumber = "SLAVE_NUMBER"
	EnvNumSlaves   = "NUM_SLAVES"

	// a trial's own
	EnvSpecFile = "RRR_SPEC_FILE"
	EnvReport   = "RRR_REPORT"
)

// SlaveConfig configures one slave. The worker hands it over in the
// environment (Env, SlaveConfigFromEnv); durations are in nanoseconds in
// its JSON.
type SlaveConfig struct {
	Taskset           string        `json:"taskset"` // keys
	Worker            string        `json:"worker"`
	Slave             string        `json:"slave"`
	Number            int           `json:"number"`
	NumSlaves         int           `json:"num_slaves"`
	WorkingCopy       string        `json:"working_copy"`
	OutputDir         string        `json:"output_dir"`
	PgidFile          string        `json:"pgid_file,omitempty"`
	Host              string        `json:"host,omitempty"` // "" means the host name
	HeartbeatTTL      time.Duration `json:"heartbeat_ttl_ns,omitempty"`
	HeartbeatInterval time.Duration `json:"heartbeat_interval_ns,omitempty"`
	Trial             TrialConfig   `json:"trial"`
	// Breaker is the worker's circuit breaker threshold (Config.Breaker);
	// 0: off.
	Breaker int `json:"breaker,omitempty"`
}

// WithDefaults returns c with its zero values filled; NewSlave calls it,
// then Validate.
func (c SlaveConfig) WithDefaults() SlaveConfig {
	loopx.Default(&c.HeartbeatTTL, DefaultHeartbeatTTL)
	loopx.Default(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	c.Trial = c.Trial.withDefaults()
	loopx.Default(&c.Host, host.Name())
	return c
}

// Validate checks a configuration filled by WithDefaults.
func (c SlaveConfig) Validate() error {
	if c.Taskset == "" || c.Slave == "" || c.Worker == "" || c.WorkingCopy == "" || c.OutputDir == "" {
		return fmt.Errorf("%w: a slave needs its taskset, slave and worker keys, working copy and output directory", ErrConfig)
	}
	if err := allPositive(setting{"slave heartbeat TTL", c.HeartbeatTTL}, setting{"slave heartbeat interval", c.HeartbeatInterval}); err != nil {
		return err
	}
	return c.Trial.validate()
}

// sharedEnv are the variables of c that custom slaves read (and that
// SlaveConfigFromEnv checks against RRR_SLAVE_CONFIG), in order.
func (c SlaveConfig) sharedEnv() [][2]string {
	return [][2]string{
		{EnvTaskset, c.Taskset},
		{EnvWorker, c.Worker},
		{EnvSlave, c.Slave},
		{EnvSlaveNumber, strconv.Itoa(c.Number)},
		{EnvNumSlaves, strconv.Itoa(c.NumSlaves)},
		{EnvWorkingCopy, c.WorkingCopy},
		{EnvOutputDir, c.OutputDir},
		{EnvPgidFile, c.PgidFile},
	}
}

// Env is the slave's configuration as environment variables: all of it
// in RRR_SLAVE_CONFIG, and the variables custom slaves read.
func (c SlaveConfig) Env() []string {
	b, _ := json.Marshal(c) // strings, numbers and durations only
	env := []string{EnvSlaveConfig + "=" + string(b)}
	for _, kv := range c.sharedEnv() {
		env = append(env, kv[0]+"="+kv[1])
	}
	return env
}

// SlaveConfigFromEnv reads what Env wrote: RRR_SLAVE_CONFIG, which the
// variables beside it must agree with (they are what custom code sees).
// It fills no defaults: NewSlave does.
func SlaveConfigFromEnv(getenv func(string) string) (SlaveConfig, error) {
	var c SlaveConfig
	// A person who runs `rrr slave` by hand learns what it is for from the
	// first variable missing.
	for _, name := range []string{EnvTaskset, EnvWorker, EnvSlave, EnvSlaveNumber, EnvNumSlaves, EnvWorkingCopy, EnvOutputDir, EnvSlaveConfig} {
		if getenv(name) == "" {
			return c, fmt.Errorf("%w: %s is not set: `rrr slave` is started by `rrr worker`, which sets it", ErrConfig, name)
		}
	}
	dec := json.NewDecoder(strings.NewReader(getenv(EnvSlaveConfig)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%w: %s: want the JSON object `rrr worker` writes (the same rrr release on both sides?): %v",
			ErrConfig, EnvSlaveConfig, err)
	}
	for _, kv := range c.sharedEnv() {
		if got := getenv(kv[0]); got != kv[1] {
			return c, fmt.Errorf("%w: %s=%q but %s says %q: the environment was changed after `rrr worker` set it",
				ErrConfig, kv[0], got, EnvSlaveConfig, kv[1])
		}
	}
	return c, c.WithDefaults().Validate()
}

// logger returns l with the component field.
func component(l zerolog.Logger, name string) zerolog.Logger {
	return l.With().Str("component", name).Logger()
}
