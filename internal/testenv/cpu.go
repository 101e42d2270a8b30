package testenv

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time the process has used so far, user and system, in
// every thread (OpenCV's and dlib's workers too). Per operation, it is the
// cost a benchmark measures even when other processes share the cores and
// stretch its wall-clock time. 0 where getrusage fails.
func CPUTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
