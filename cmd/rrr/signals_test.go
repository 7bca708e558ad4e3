package main

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Not parallel: the signals go to the whole test process.
func TestOnSignalsStopsThenForces(t *testing.T) {
	first, force := make(chan os.Signal, 4), make(chan os.Signal, 4)
	stop := onSignals(func(s os.Signal) { first <- s }, func(s os.Signal) { force <- s })
	defer stop()
	next := func(ch chan os.Signal) os.Signal {
		t.Helper()
		select {
		case s := <-ch:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("no signal handled")
			return nil
		}
	}
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	require.Equal(t, syscall.SIGTERM, next(first))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	require.Equal(t, syscall.SIGINT, next(force))
	require.Empty(t, first, "the second signal forces; it does not stop again")
	stop()
	stop() // twice is harmless
}
