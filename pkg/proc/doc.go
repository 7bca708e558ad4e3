// Package proc runs a child process the way rrr runs trials and setup
// commands: in its own process group, with a soft timeout (SIGTERM to the
// group) and a hard timeout (SIGKILL to the group), with stdout and stderr
// captured under a cap (the first and last bytes, see Output) while the
// full text is streamed to files, and with an outcome that tells an exit
// code apart from a foreign signal, our timeouts and a cancellation.
//
// When the main process exits, whatever is left of its group is killed
// with SIGKILL before the process is reaped (the zombie leader keeps the
// group id reserved, so the kill cannot reach an unrelated group that
// reused the id). Output is read through pipes that rrr owns rather than
// through exec.Cmd's copying goroutines, so that the group can be killed
// between the exit and the end of the output; a process that left the
// group (setsid) and still holds a pipe is cut off after Spec.WaitDelay,
// the role exec.Cmd.WaitDelay plays for ordinary commands. Either way a
// grandchild holding the output pipe cannot hang the caller.
//
// On Linux the child also gets SIGKILL when the process that started it
// dies (Pdeathsig), so a trial does not outlive a slave killed with
// SIGKILL. Its own children are not covered by that: the worker kills the
// trial's group, whose id the slave records for it (Spec.OnStart).
//
// Split and Template turn a command template into an argument list the
// way a shell splits words (quotes, backslashes) without running a shell,
// so that a file name is always exactly one argument.
package proc
