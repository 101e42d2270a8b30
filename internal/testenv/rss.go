package testenv

import (
	"os"
	"strconv"
	"strings"
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
