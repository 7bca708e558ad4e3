// Package host names the machine this process runs on: the default id of
// a worker, the host of a slave, the first part of a consumer id, and the
// "on <host>" of the reasons written when someone cancels a taskset.
package host

import "os"

// Name is the host name, or "localhost" when the system cannot tell.
func Name() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}
