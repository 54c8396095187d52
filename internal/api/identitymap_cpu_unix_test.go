//go:build unix

package api_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the whole process has used,
// including GC workers, so benchmarks can report work per CPU-second even
// when the machine is shared.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
