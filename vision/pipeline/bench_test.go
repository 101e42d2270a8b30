//go:build cgo

package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"joren/internal/testenv"
	"joren/vision/camera"
	"joren/vision/capture"
	"joren/vision/doorsim"
	"joren/vision/pipeline"
	"joren/vision/track"
)

// Benchmarks run the whole pipeline on synthesised videos: capture
// (FFmpeg decoding MJPG), the motion gate, the face detector, the quality
// gate, descriptors and tracking, with the real models. Each runs with
// both detectors, YuNet (the default: five landmarks with each face, dlib's
// ResNet on five-point chips with the mirror image) first, then HOG (dlib's
// HOG and shape predictor). The videos are the same for both (the cast is
// cut from the photos with HOG). make bench runs each in its own process
// (scripts/bench-table); models load before the timer starts, and the
// peak RSS counts both detectors' models, as the fixture loads HOG's for
// the cast.

// cpuTime is the CPU time the process used so far, every thread counted.
func cpuTime() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

func benchVideo(b *testing.B, scenario doorsim.Scenario, w, h int, d time.Duration) *video {
	b.Helper()
	o := doorsim.Options{Scenario: scenario, Width: w, Height: h, Seed: 5, Duration: d, NoBlur: true}
	return synth(b, fmt.Sprintf("bench-%s-%dx%d-%v", scenario, w, h, d), o)
}

// detector is one of the face detectors the benchmarks compare.
type detector struct {
	name string
	open func(testing.TB) camera.Faces
}

// detectors are the detectors, the default first.
var detectors = []detector{
	{"yunet", func(t testing.TB) camera.Faces { return yunetSetup(t) }},
	{"hog", func(t testing.TB) camera.Faces { return setup(t).faces }},
}

// BenchmarkFPS is the pipeline's throughput: a recording read as fast as
// the pipeline takes its frames, none dropped. "face": one person in view
// in every frame, drifting across the door (detection, landmarks: YuNet's
// five or the shape predictor's, and the quality gate on every frame,
// descriptors for the best few); "empty": the
// empty doorway (the motion gate only). Issue 14's target: at least 30
// frames/s at 640x480 with a face in view, with the default detector.
func BenchmarkFPS(b *testing.B) {
	for _, det := range detectors {
		for _, size := range []struct{ w, h int }{{640, 480}, {1280, 720}} {
			for _, sc := range []doorsim.Scenario{doorsim.Steady, doorsim.Empty} {
				name := "face"
				if sc == doorsim.Empty {
					name = "empty"
				}
				b.Run(fmt.Sprintf("%s/%dx%d/%s", det.name, size.w, size.h, name), func(b *testing.B) {
					faces := det.open(b)
					v := benchVideo(b, sc, size.w, size.h, 6*time.Second)
					b.ResetTimer()
					frames := 0
					var busy time.Duration
					for i := 0; i < b.N; i++ {
						vs, p, err := runFaces(b, faces, fileSource(b, v, capture.Options{}), pipeline.Config{})
						if err != nil {
							b.Fatal(err)
						}
						st := p.Stats()
						if sc == doorsim.Steady {
							checkSteady(b, vs, st)
						}
						frames += int(st.Frames)
						busy += st.DetectBusy
					}
					b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
					b.ReportMetric(float64(busy.Microseconds())/1000/float64(frames), "detect-ms/frame")
					b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
				})
			}
		}
	}
}

// checkSteady fails the benchmark unless one person in view all along
// made exactly one visit with descriptors, and says what the pipeline saw
// if not (a quality gate tuned for one detector's boxes may refuse
// another's faces; a stall may cut a track in two).
func checkSteady(b *testing.B, vs []track.Visit, st pipeline.Stats) {
	b.Helper()
	if len(vs) == 1 && vs[0].Usable() {
		return
	}
	var desc []string
	for _, v := range vs {
		desc = append(desc, fmt.Sprintf("%s to %s, faces %d-%d px, %d descriptors, rejected %+v",
			v.Start.Format("15:04:05.000"), v.End.Format("15:04:05.000"), v.MinFace, v.MaxFace, len(v.Descriptors), v.Rejected))
	}
	b.Fatalf("%d visits for one person in view: %d frames (%d dropped), %d searched, %d faces, %d worth a descriptor, %d described, %d tracks discarded; visits: %s",
		len(vs), st.Frames, st.Dropped, st.Searched, st.Faces, st.Worth, st.Described, st.Discarded, strings.Join(desc, "; "))
}

// realtime plays v at its frame rate, as a camera delivers frames, and
// returns the visits with the wall-clock time each arrived, the CPU time
// used and the wall time taken.
func realtime(b *testing.B, faces camera.Faces, v *video) (vs []track.Visit, arrived []time.Time, cpu, wall time.Duration, p *pipeline.Pipeline, src *capture.Source) {
	b.Helper()
	src = fileSource(b, v, capture.Options{Realtime: true, Start: time.Now()})
	p = pipeline.New(faces, faces, pipeline.Config{Track: track.Config{Entropy: deterministic()}})
	out := make(chan track.Visit)
	done := make(chan error, 1)
	c0, w0 := cpuTime(), time.Now()
	go func() { done <- p.Run(context.Background(), src, out) }()
	for x := range out {
		vs = append(vs, x)
		arrived = append(arrived, time.Now())
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return vs, arrived, cpuTime() - c0, time.Since(w0), p, src
}

// BenchmarkRealtime plays videos at 15 frames a second as a camera would,
// and reports the process's CPU use (CPU time over wall time, both cores
// counted: 100% is one core) and the share of frames dropped because the
// pipeline was busy, and with a face in view the visits a run gave (one
// person: 1). Targets: under 5% CPU for the empty doorway; no frame
// dropped at 640x480 with a face in view (15 fps sustained).
func BenchmarkRealtime(b *testing.B) {
	for _, det := range detectors {
		for _, tc := range []struct {
			name string
			sc   doorsim.Scenario
		}{{"640x480/empty", doorsim.Empty}, {"640x480/face", doorsim.Steady}} {
			b.Run(det.name+"/"+tc.name, func(b *testing.B) {
				faces := det.open(b)
				v := benchVideo(b, tc.sc, 640, 480, 8*time.Second)
				b.ResetTimer()
				var cpu, wall time.Duration
				var frames, dropped, visits int64
				for i := 0; i < b.N; i++ {
					vs, _, c, w, p, src := realtime(b, faces, v)
					cpu += c
					wall += w
					frames += p.Stats().Frames
					dropped += src.Stats().Dropped
					visits += int64(len(vs))
				}
				b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "CPU-%")
				b.ReportMetric(100*float64(dropped)/float64(frames+dropped), "dropped-%")
				b.ReportMetric(float64(frames)/wall.Seconds(), "frames/s")
				if tc.sc == doorsim.Steady {
					// Reported, not checked: frames dropped under load
					// may cut the one passage in two (BenchmarkFPS
					// checks the visit without drops).
					b.ReportMetric(float64(visits)/float64(b.N), "visits/run")
				}
				b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
			})
		}
	}
}

// BenchmarkVisitLatency plays a video of one passage at its frame rate and
// measures, on the wall clock, the time from the first frame showing the
// face to the visit's arrival (it includes the passage itself, about
// 1.5 s), and from the last frame showing it (the tracker's Gap and
// Linger, 1.5 s by default, and the last descriptors).
func BenchmarkVisitLatency(b *testing.B) {
	for _, det := range detectors {
		b.Run(det.name, func(b *testing.B) {
			faces := det.open(b)
			o := doorsim.Options{Seed: 8, People: 1, Again: -1, Together: -1}
			v := synth(b, "bench-latency", o)
			b.ResetTimer()
			var first, last time.Duration
			for i := 0; i < b.N; i++ {
				vs, arrived, _, _, p, _ := realtime(b, faces, v)
				checkSteady(b, vs, p.Stats())
				first += arrived[0].Sub(vs[0].Start)
				last += arrived[0].Sub(vs[0].End)
			}
			b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "ms-from-first-face")
			b.ReportMetric(float64(last.Milliseconds())/float64(b.N), "ms-from-last-face")
			b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
		})
	}
}
