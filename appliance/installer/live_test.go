package installer

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	xdraw "golang.org/x/image/draw"

	"joren/internal/testenv"
	"joren/vision/frame"
	"joren/vision/quality"
)

func decodeJPEG(t testing.TB, data []byte) image.Image {
	t.Helper()
	im, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	return im
}

func rgbAt(im image.Image, x, y int) (r, g, b uint8) {
	R, G, B, _ := im.At(x, y).RGBA()
	return uint8(R >> 8), uint8(G >> 8), uint8(B >> 8)
}

// TestLiveWants: the pipeline is asked for frames only while the page
// asks for them, one per Interval; when the page stops, the frame held is
// dropped from memory.
func TestLiveWants(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := NewLive(LiveOptions{Interval: 250 * time.Millisecond, Watch: 3 * time.Second})
	l.now = c.now
	// 15 frames a second for 2 s, nobody watching: nothing wanted.
	for i := 0; i < 30; i++ {
		if l.Wants() {
			t.Fatalf("frame %d wanted, nobody watches", i)
		}
		c.add(time.Second / 15)
	}
	if _, ok := l.Snapshot(); ok {
		t.Fatal("a snapshot before any frame")
	}
	// Watched (the page asks every 250 ms): about 4 frames a second.
	wanted := 0
	for i := 0; i < 45; i++ {
		if i%4 == 0 {
			l.Snapshot()
		}
		if l.Wants() {
			wanted++
			feed(l, 64, 48, c.now())
		}
		c.add(time.Second / 15)
	}
	if wanted < 11 || wanted > 13 {
		t.Errorf("%d frames wanted in 3 s of watching, want 12", wanted)
	}
	snap, ok := l.Snapshot()
	if !ok || snap.Seq != int64(wanted) || snap.Width != 64 {
		t.Fatalf("snapshot %v %+v after %d frames", ok, snap, wanted)
	}
	// The page closes: 3 s later nothing is wanted and the frame is gone.
	c.add(3*time.Second + time.Millisecond)
	if l.Wants() {
		t.Error("frame wanted after the page stopped watching")
	}
	if l.cur != nil || l.jpeg != nil || l.held.Load() {
		t.Error("the last frame is still held after the page stopped watching")
	}
}

// TestLiveEncodesOnce: a frame is encoded when first asked for, once for
// any number of viewers; a wide frame is shrunk, its boxes stay in frame
// pixels.
func TestLiveEncodesOnce(t *testing.T) {
	l := NewLive(LiveOptions{})
	l.Snapshot()
	feed(l, 1920, 1080, time.Now(), face(960, 540, 1160, 740, 0.5, quality.OK))
	a, ok := l.Snapshot()
	b, _ := l.Snapshot()
	if !ok || &a.JPEG[0] != &b.JPEG[0] {
		t.Error("the same frame encoded twice")
	}
	im := decodeJPEG(t, a.JPEG)
	if im.Bounds().Dx() != 640 || im.Bounds().Dy() != 360 || a.Width != 1920 || a.Height != 1080 {
		t.Errorf("JPEG %v for a %dx%d frame, want 640x360", im.Bounds(), a.Width, a.Height)
	}
	if a.Faces[0].Box != image.Rect(960, 540, 1160, 740) {
		t.Errorf("box %v: want frame pixels", a.Faces[0].Box)
	}
	if r, _, _ := rgbAt(im, 353, 213); r < 200 {
		t.Error("the shrunk JPEG does not show the face where the box is")
	}
}

func TestLiveIgnoresBadFrames(t *testing.T) {
	l := NewLive(LiveOptions{})
	l.Snapshot()
	l.Frame(frame.Image{Pix: make([]byte, 10), Rows: 10, Cols: 10, Step: 30}, time.Now(), nil, nil)
	if _, ok := l.Snapshot(); ok {
		t.Error("a frame too short for its size was kept")
	}
}

// BenchmarkWants is what a frame costs the pipeline while nobody watches
// the page (target: a few nanoseconds, nothing allocated). One op is a
// million frames, so that the short -benchtime of scripts/bench-table
// still measures it.
func BenchmarkWants(b *testing.B) {
	l := NewLive(LiveOptions{})
	const frames = 1000000
	b.ReportAllocs()
	for b.Loop() {
		for range frames {
			if l.Wants() {
				b.Fatal("wanted")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/frames, "ns/frame")
}

// BenchmarkSnapshot is the cost of encoding a live frame for the page
// (done at most once per frame shown, four times a second while
// watched), on a shared photo filling the frame as a camera's picture
// does.
func BenchmarkSnapshot(b *testing.B) {
	f, err := os.Open(filepath.Join(testenv.Faces(b), "jimin5.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	photo, err := jpeg.Decode(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	for _, sz := range []struct{ w, h int }{{640, 480}, {1280, 720}, {1920, 1080}} {
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			rgba := image.NewRGBA(image.Rect(0, 0, sz.w, sz.h))
			xdraw.ApproxBiLinear.Scale(rgba, rgba.Bounds(), photo, photo.Bounds(), xdraw.Src, nil)
			im := frame.New(sz.w, sz.h)
			for y := 0; y < sz.h; y++ {
				for x := 0; x < sz.w; x++ {
					p, q := rgba.PixOffset(x, y), y*im.Step+3*x
					im.Pix[q], im.Pix[q+1], im.Pix[q+2] = rgba.Pix[p+2], rgba.Pix[p+1], rgba.Pix[p]
				}
			}
			l := NewLive(LiveOptions{})
			var n int
			cpu := cpuTime()
			for b.Loop() {
				l.Frame(im, time.Now(), nil, nil)
				s, _ := l.Snapshot()
				n += len(s.JPEG)
			}
			b.ReportMetric(float64(n)/float64(b.N)/1024, "KB/frame")
			// CPU time, not wall time, is what the box pays, and what
			// other processes on a busy machine do not inflate.
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/frame")
		})
	}
}

// cpuTime is the CPU time the process used so far.
func cpuTime() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
