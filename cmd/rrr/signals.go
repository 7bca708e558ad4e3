package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// onSignals is the two-stage stop of every command that runs until it is
// told to stop: the first SIGINT or SIGTERM calls first, which stops in
// order (stop taking work, finish or hand back what is in hand); a second
// calls force (nil: it is ignored, as are any after it). The signals no
// longer end the process by themselves; stop releases them.
func onSignals(first, force func(os.Signal)) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for _, f := range []func(os.Signal){first, force} {
			select {
			case s := <-sigs:
				if f != nil {
					f(s)
				}
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
		})
	}
}
