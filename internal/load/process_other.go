//go:build !linux

package load

import "os/exec"

// dieWithParent is a no-op where the kernel has no parent-death signal; Stop
// still ends the children when load exits normally.
func dieWithParent(*exec.Cmd) {}
