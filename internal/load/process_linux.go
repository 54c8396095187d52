package load

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel send SIGTERM to the child when this process
// dies, so a load run killed by a signal (or by SIGPIPE when its output is
// piped into head) leaves no operator or baseline server behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
