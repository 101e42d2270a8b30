package testenv

import "github.com/prometheus/procfs"

// PeakRSSMB is the process's peak resident memory so far (VmHWM, in MB):
// the memory figure that matters on a device, and the only one that sees
// dlib's and OpenCV's C++ allocations. make bench runs each benchmark in
// its own process, so it is that benchmark's peak. 0 where /proc is absent.
//
// Not getrusage's ru_maxrss: Linux carries the high-water mark of the
// process that exec'd us over into it, so under `go test` it never reads
// below the go command's own peak (measured: 24 MB for a benchmark whose
// VmHWM was 4.6 MB; cluster's 675-descriptor benchmark peaks at 10 MB).
func PeakRSSMB() float64 {
	p, err := procfs.Self()
	if err != nil {
		return 0
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0
	}
	return float64(st.VmHWM) / (1 << 20)
}
