package testenv

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PeakRSSMB is the process's peak resident memory so far (VmHWM, in MB):
// the memory figure that matters on a device, and the only one that sees
// dlib's and OpenCV's C++ allocations. make bench runs each benchmark in
// its own process, so it is that benchmark's peak. 0 where /proc is absent.
func PeakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// CPU is the CPU time the process has used so far, user and system, all
// threads: a benchmark's cost that other processes on a shared machine do
// not inflate as they inflate wall-clock time (OpenCV and dlib run on
// several threads, so it can exceed the wall-clock time).
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
