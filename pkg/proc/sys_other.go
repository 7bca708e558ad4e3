//go:build unix && !linux

package proc

import "syscall"

func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// waitExited returns false at once where waitid(WNOWAIT) is not
// dependable: the leftovers of the group are then killed just after the
// reaping instead.
func waitExited(int) bool { return false }
