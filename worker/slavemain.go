package worker

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/rrr-dev/rrr/schema"
)

// RunSlaveFromEnv runs the slave that a worker described in the
// environment (see SlaveConfig.Env): `rrr slave` and tests that re-execute
// their binary as a slave call it.
func RunSlaveFromEnv(ctx context.Context, c *schema.Client, log zerolog.Logger, getenv func(string) string) error {
	cfg, err := SlaveConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	s, err := NewSlave(cfg, SlaveDeps{Client: c, Logger: log})
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
