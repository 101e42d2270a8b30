package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"gocv.io/x/gocv"

	"joren/internal/logtest"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
)

func TestMatProfileOn(t *testing.T) {
	matleak.Required(t)
}

// numbered draws frame n: a gray background with n written in binary as
// eight black or white 24-pixel squares along the top, which survive JPEG.
func numbered(w, h, n int) gocv.Mat {
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 110, 130, 0), h, w, gocv.MatTypeCV8UC3)
	for bit := 0; bit < 8; bit++ {
		c := color.RGBA{0, 0, 0, 0}
		if n>>bit&1 == 1 {
			c = color.RGBA{255, 255, 255, 0}
		}
		gocv.Rectangle(&m, image.Rect(bit*24, 0, bit*24+24, 24), c, -1)
	}
	return m
}

// number reads the frame number back.
func number(im frame.Image) int {
	n := 0
	for bit := 0; bit < 8; bit++ {
		if _, g, _ := im.At(bit*24+12, 12); g > 128 {
			n |= 1 << bit
		}
	}
	return n
}

// writeVideo writes an MJPG AVI of n numbered frames.
func writeVideo(t testing.TB, path string, n int, fps float64) {
	t.Helper()
	vw, err := gocv.VideoWriterFile(path, "MJPG", fps, 320, 240, true)
	if err != nil || !vw.IsOpened() {
		t.Fatalf("writing %s: %v", path, err)
	}
	for i := 0; i < n; i++ {
		m := numbered(320, 240, i)
		vw.Write(m)
		m.Close()
	}
	vw.Close()
}

// writeFolder writes n numbered PNG frames named frame1.png ... frameN.png
// (natural order differs from byte order from frame10 on).
func writeFolder(t testing.TB, dir string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		m := numbered(320, 240, i)
		if ok := gocv.IMWrite(filepath.Join(dir, fmt.Sprintf("frame%d.png", i+1)), m); !ok {
			t.Fatal("writing a PNG failed")
		}
		m.Close()
	}
}

// collect runs src and gathers frame numbers and times; each frame is
// held for hold before being released (a busy pipeline). In a synctest
// bubble the hold, like the source's own timers, is on the fake clock.
func collect(t testing.TB, src *Source, capacity int, hold time.Duration) (nums []int, seqs []int64, times []time.Time, err error) {
	t.Helper()
	out := make(chan *frame.Frame, capacity)
	done := make(chan error, 1)
	go func() { done <- src.Run(context.Background(), out) }()
	for f := range out {
		nums = append(nums, number(f.Image))
		seqs = append(seqs, f.Seq)
		times = append(times, f.Time)
		time.Sleep(hold)
		f.Release()
	}
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after closing its channel")
	}
	return
}

func TestParse(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		in    string
		kind  Kind
		path  string
		index int
		err   string
	}{
		{"/dev/video0", Device, "/dev/video0", 0, ""},
		{"0", Device, "/dev/video0", 0, ""},
		{"2", Device, "/dev/video2", 0, ""},
		{"v4l2:///dev/video1", Device, "/dev/video1", 0, ""},
		{"rtsp://cam.local:554/stream1", Stream, "rtsp://cam.local:554/stream1", 0, ""},
		{"HTTP://cam/video.mjpg", Stream, "HTTP://cam/video.mjpg", 0, ""},
		{"door.avi", File, "door.avi", 0, ""},
		{"file:///tmp/door.avi", File, "/tmp/door.avi", 0, ""},
		{dir, Folder, dir, 0, ""},
		{"frames/", Folder, "frames/", 0, ""},
		{"", 0, "", 0, "empty source"},
		{"ftp://x/y.avi", 0, "", 0, `unknown scheme "ftp"`},
		{"csi", CSI, "csi", 0, ""},
		{"csi:0", CSI, "csi:0", 0, ""},
		{"csi:1", CSI, "csi:1", 1, ""},
		{" CSI:2 ", CSI, "csi:2", 2, ""},
		{"csi:", 0, "", 0, "want csi (the first camera"},
		{"csi:front", 0, "", 0, "want csi (the first camera"},
		{"csi:100", 0, "", 0, "want csi (the first camera"},
		{"gst:videotestsrc is-live=true", Pipeline, "videotestsrc is-live=true", 0, ""},
		{"GST: videotestsrc ! videoflip method=rotate-180 ", Pipeline, "videotestsrc ! videoflip method=rotate-180", 0, ""},
		{"gst:rtspsrc location=rtsp://cam/live ! decodebin", Pipeline, "rtspsrc location=rtsp://cam/live ! decodebin", 0, ""},
		{"gst:", 0, "", 0, "the pipeline is missing"},
		{"gst:   ", 0, "", 0, "the pipeline is missing"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, err := Parse(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || s.Kind != tc.kind || s.Path != tc.path || s.Index != tc.index {
				t.Fatalf("%+v, %v", s, err)
			}
			if live := tc.kind == Device || tc.kind == Stream || tc.kind == CSI || tc.kind == Pipeline; s.Kind.Live() != live {
				t.Errorf("%v: live %v", s.Kind, s.Kind.Live())
			}
		})
	}
	s, _ := Parse("rtsp://admin:secret@cam/live")
	if strings.Contains(s.String(), "secret") {
		t.Errorf("password in %q", s.String())
	}
}

func TestOptionsChecked(t *testing.T) {
	for _, o := range []Options{
		{Width: 640},
		{FPS: -1},
		{Timeline: frame.Timeline{{Frame: 10}, {Frame: 5}}},
	} {
		if _, err := Open("door.avi", o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestFileLossless(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		matleak.Check(t)
		path := filepath.Join(t.TempDir(), "n.avi")
		writeVideo(t, path, 40, 10)
		start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		src, err := Open(path, Options{Start: start})
		if err != nil {
			t.Fatal(err)
		}
		// A slow consumer: a recording waits for it and loses nothing.
		nums, seqs, times, err := collect(t, src, 1, 20*time.Millisecond)
		if err != nil {
			t.Fatalf("natural end gave %v", err)
		}
		if len(nums) != 40 {
			t.Fatalf("%d frames, want 40", len(nums))
		}
		for i := range nums {
			if nums[i] != i || seqs[i] != int64(i) || !times[i].Equal(start.Add(time.Duration(i)*100*time.Millisecond)) {
				t.Fatalf("frame %d: number %d seq %d time %v", i, nums[i], seqs[i], times[i])
			}
		}
		if st := src.Stats(); st.Frames != 40 || st.Dropped != 0 || st.Reconnects != 0 {
			t.Errorf("%+v", st)
		}
	})
}

func TestTimeline(t *testing.T) {
	matleak.Check(t)
	path := filepath.Join(t.TempDir(), "n.avi")
	writeVideo(t, path, 30, 10)
	day1 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	src, _ := Open(path, Options{Timeline: frame.Timeline{{Frame: 0, Time: day1}, {Frame: 20, Time: day2}}})
	_, _, times, err := collect(t, src, 4, 0)
	if err != nil || len(times) != 30 {
		t.Fatalf("%d frames, %v", len(times), err)
	}
	for i, want := range map[int]time.Time{0: day1, 19: day1.Add(1900 * time.Millisecond), 20: day2, 29: day2.Add(900 * time.Millisecond)} {
		if !times[i].Equal(want) {
			t.Errorf("frame %d at %v, want %v", i, times[i], want)
		}
	}
}

// TestRealtimeDropsWithoutBlocking plays a recording at its frame rate to
// a consumer that needs 100 ms a frame. In a synctest bubble the pacing and
// the consumer's work are on the fake clock, so the timing is checked
// exactly, whatever the machine's load.
func TestRealtimeDropsWithoutBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		matleak.Check(t)
		path := filepath.Join(t.TempDir(), "n.avi")
		writeVideo(t, path, 45, 30) // 1.5 s
		src, _ := Open(path, Options{Realtime: true})
		begin := time.Now()
		nums, _, times, err := collect(t, src, 1, 100*time.Millisecond)
		took := time.Since(begin)
		if err != nil {
			t.Fatal(err)
		}
		st := src.Stats()
		if int(st.Frames) != len(nums) || int(st.Frames+st.Dropped) != 45 {
			t.Errorf("%+v, %d frames received; want every frame received or dropped", st, len(nums))
		}
		// The consumer takes one frame per 100 ms and one waits in the
		// channel: about a third of the frames fit.
		if len(nums) < 14 || len(nums) > 17 {
			t.Errorf("%d frames received, want 15 or so", len(nums))
		}
		// Capture kept the video's pace instead of waiting for the
		// consumer (45 frames x 100 ms would take 4.5 s): the last frame
		// is due at 44/30 s, and the consumer may finish the frame before
		// it, then holds it 100 ms (observed: 1.6 s, 16 frames).
		if took < 1466*time.Millisecond || took > 1667*time.Millisecond {
			t.Errorf("1.5 s of video took %v", took)
		}
		for i := 1; i < len(nums); i++ {
			if nums[i] <= nums[i-1] {
				t.Fatalf("frames out of order: %v", nums)
			}
			if !times[i].After(times[i-1]) {
				t.Fatalf("frame times out of order: %v", times)
			}
		}
	})
}

func TestFolder(t *testing.T) {
	matleak.Check(t)
	dir := t.TempDir()
	writeFolder(t, dir, 12)
	os.WriteFile(filepath.Join(dir, "frame5.png"), []byte("not a png"), 0o644) // frame 4 is corrupt
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	var logs logtest.Buffer
	start := time.Unix(1000, 0)
	src, _ := Open(dir, Options{FPS: 4, Start: start, Log: logs.Logger()})
	nums, seqs, times, err := collect(t, src, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11}
	if fmt.Sprint(nums) != fmt.Sprint(want) {
		t.Fatalf("frames %v, want %v (natural order, corrupt one skipped)", nums, want)
	}
	if seqs[4] != 5 || !times[4].Equal(start.Add(1250*time.Millisecond)) {
		t.Errorf("frame after the corrupt one: seq %d time %v", seqs[4], times[4])
	}
	if st := src.Stats(); st.Unreadable != 1 || !strings.Contains(logs.String(), "frame5.png: not an image") {
		t.Errorf("%+v; log %s", st, logs.String())
	}
}

func TestRecordingErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.avi")
	writeVideo(t, good, 60, 15)
	data, _ := os.ReadFile(good)
	truncated := filepath.Join(dir, "truncated.avi")
	os.WriteFile(truncated, data[:len(data)/2], 0o644)
	garbage := filepath.Join(dir, "garbage.avi")
	os.WriteFile(garbage, []byte("RIFF but not really a video, just text"), 0o644)
	empty := filepath.Join(dir, "empty.avi")
	os.WriteFile(empty, nil, 0o644)
	emptyDir := t.TempDir()
	for _, tc := range []struct {
		name, src string
		frames    int // at least
		want      []string
		maxPixels int64
	}{
		{"truncated", truncated, 25, []string{truncated, "stops at frame", "of 60: truncated or corrupt", "gave up after 3"}, 0},
		{"frames over the pixel limit", good, 0, []string{good, "frames of 320x240 (76800 pixels) are over the pixel limit of 76799 pixels"}, 320*240 - 1},
		{"not a video", garbage, 0, []string{garbage, "not a video OpenCV can read"}, 0},
		{"empty", empty, 0, []string{empty, "is empty"}, 0},
		{"missing", filepath.Join(dir, "nope.avi"), 0, []string{"nope.avi: no such file"}, 0},
		{"folder without images", emptyDir, 0, []string{emptyDir, "has no images"}, 0},
		{"missing folder", filepath.Join(dir, "nope") + "/", 0, []string{"nope/: no such file"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			matleak.Check(t)
			var logs logtest.Buffer
			src, err := Open(tc.src, Options{Retry: Retry{Min: 10 * time.Millisecond}, MaxPixels: tc.maxPixels, Log: logs.Logger()})
			if err != nil {
				t.Fatal(err)
			}
			nums, _, _, err := collect(t, src, 4, 0)
			if err == nil {
				t.Fatalf("no error after %d frames", len(nums))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if len(nums) < tc.frames {
				t.Errorf("%d frames before the error, want %d", len(nums), tc.frames)
			}
			if tc.frames > 0 && !strings.Contains(logs.String(), "source lost, reopening") {
				t.Errorf("no reconnection logged: %s", logs.String())
			}
		})
	}
}

// TestVanishingRecordings: a video file truncated and an image folder
// removed while they are being read (what a camera unplugged mid-stream
// looks like to a reader) end in a clear error after logged reconnection
// attempts, never a crash or a hang.
func TestVanishingRecordings(t *testing.T) {
	t.Run("file truncated while read", func(t *testing.T) {
		matleak.Check(t)
		path := filepath.Join(t.TempDir(), "n.avi")
		writeVideo(t, path, 200, 15)
		var logs logtest.Buffer
		src, _ := Open(path, Options{Retry: Retry{Min: 10 * time.Millisecond}, Log: logs.Logger()})
		out := make(chan *frame.Frame)
		done := make(chan error, 1)
		go func() { done <- src.Run(context.Background(), out) }()
		n := 0
		for f := range out {
			if n == 10 {
				if err := os.Truncate(path, 20000); err != nil {
					t.Fatal(err)
				}
			}
			n++
			f.Release()
		}
		err := <-done
		if err == nil || !strings.Contains(err.Error(), "truncated or corrupt") || !strings.Contains(err.Error(), path) {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if n >= 200 || !strings.Contains(logs.String(), "source lost, reopening") {
			t.Errorf("%d frames; log %s", n, logs.String())
		}
	})
	t.Run("folder removed while read", func(t *testing.T) {
		matleak.Check(t)
		dir := filepath.Join(t.TempDir(), "frames")
		os.Mkdir(dir, 0o755)
		writeFolder(t, dir, 30)
		var logs logtest.Buffer
		src, _ := Open(dir, Options{Retry: Retry{Min: 10 * time.Millisecond}, Log: logs.Logger()})
		out := make(chan *frame.Frame)
		done := make(chan error, 1)
		go func() { done <- src.Run(context.Background(), out) }()
		n := 0
		for f := range out {
			if n == 5 {
				os.RemoveAll(dir)
			}
			n++
			f.Release()
		}
		err := <-done
		if err == nil || !strings.Contains(err.Error(), "gave up after 3") || !strings.Contains(err.Error(), dir) {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if !strings.Contains(logs.String(), "vanished while being read") {
			t.Errorf("log %s", logs.String())
		}
	})
}

func TestDevices(t *testing.T) {
	dir := t.TempDir()
	// A character device that is no camera (same numbers as /dev/null),
	// which then disappears: the camera was unplugged.
	node := filepath.Join(dir, "video7")
	if err := syscall.Mknod(node, syscall.S_IFCHR|0o600, 1<<8|3); err != nil {
		t.Fatalf("making a device node (tests run as root): %v", err)
	}
	regular := filepath.Join(dir, "video8")
	os.WriteFile(regular, []byte("x"), 0o644)
	for _, tc := range []struct {
		name, src string
		onLine    func(string)
		want      []string
		logged    string
	}{
		{"missing", "/dev/video9", nil, []string{"/dev/video9 does not exist", "gave up after 3"}, ""},
		{"not a device", regular, nil, []string{regular + " is not a video device"}, ""},
		{"not a camera, then gone", node, func(line string) {
			// Unplugged when the first failed attempt is logged, before
			// the second.
			if strings.Contains(line, "cannot be opened as a V4L2 camera") {
				os.Remove(node)
			}
		}, []string{node + " does not exist", "gave up after 3"}, "cannot be opened as a V4L2 camera"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				matleak.Check(t)
				logs := logtest.Buffer{OnLine: tc.onLine}
				src, err := Open("v4l2://"+tc.src, Options{Retry: Retry{Min: 50 * time.Millisecond, Attempts: 3}, Log: logs.Logger()})
				if err != nil {
					t.Fatal(err)
				}
				begin := time.Now()
				_, _, _, err = collect(t, src, 2, 0)
				for _, w := range tc.want {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("error %v lacks %q", err, w)
					}
				}
				if strings.Count(logs.String(), "source lost, reopening") != 2 || !strings.Contains(logs.String(), tc.logged) ||
					!strings.Contains(logs.String(), "retry_in=50ms") || !strings.Contains(logs.String(), "retry_in=100ms") {
					t.Errorf("want two logged retries, in 50 and 100 ms (%q): %s", tc.logged, logs.String())
				}
				// Three attempts, 50 and 100 ms apart (fake time: opening
				// takes none).
				if took := time.Since(begin); took != 150*time.Millisecond {
					t.Errorf("giving up took %v, want 150ms", took)
				}
			})
		})
	}
	// A live device retries for ever by default: only ctx ends it. The
	// delays double from Min to Max: attempts at 0, 10, 30, 50, ... ms.
	synctest.Test(t, func(t *testing.T) {
		src, _ := Open("/dev/video9", Options{Retry: Retry{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}})
		ctx, cancel := context.WithTimeout(context.Background(), 305*time.Millisecond)
		defer cancel()
		out := make(chan *frame.Frame, 1)
		if err := src.Run(ctx, out); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("device retried for ever: %v", err)
		}
		if st := src.Stats(); st.Reconnects != 16 {
			t.Errorf("%+v; want 16 reconnections in 305 ms (after 10 ms, then every 20 ms)", st)
		}
	})
}

// streamServer serves a video file over HTTP: the first requests are
// served whole, the request numbered stall gets a third of the file and
// then nothing (until release), and requests after last get 404.
type streamServer struct {
	data        []byte
	stall, last int
	mu          sync.Mutex
	n           int
	release     chan struct{}
	url         string
	ln          net.Listener
}

func newStreamServer(t *testing.T, data []byte, stall, last int) *streamServer {
	s := &streamServer{data: data, stall: stall, last: last, release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String() + "/door.avi"
	go http.Serve(ln, s)
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *streamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	// FFmpeg makes several requests per connection (ranges for the index):
	// count connections by their first, open-ended request.
	if r.Header.Get("Range") == "" || r.Header.Get("Range") == "bytes=0-" {
		s.n++
	}
	n := s.n
	s.mu.Unlock()
	switch {
	case n > s.last:
		http.NotFound(w, r)
	case n == s.stall:
		w.Header().Set("Content-Type", "video/x-msvideo")
		w.Header().Set("Content-Length", fmt.Sprint(len(s.data)))
		w.Write(s.data[:len(s.data)/3])
		w.(http.Flusher).Flush()
		<-s.release
	default:
		http.ServeContent(w, r, "door.avi", time.Time{}, bytes.NewReader(s.data))
	}
}

// count is 0, 1, ... n-1.
func count(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestStream(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.avi")
	writeVideo(t, path, 60, 15)
	data, _ := os.ReadFile(path)

	// The consumer's channel holds more than both playbacks, so that the
	// live source, which drops frames while the consumer is busy, drops
	// none however loaded the machine: every frame can be checked.
	const room = 160
	t.Run("ends and comes back", func(t *testing.T) {
		matleak.Check(t)
		srv := newStreamServer(t, data, 0, 2)
		var logs logtest.Buffer
		src, _ := Open(srv.url, Options{Retry: Retry{Min: 20 * time.Millisecond, Attempts: 2}, Log: logs.Logger()})
		nums, _, _, err := collect(t, src, room, 0)
		if err == nil || !strings.Contains(err.Error(), "cannot be opened") || !strings.Contains(err.Error(), "gave up after 2") {
			t.Fatalf("error %v", err)
		}
		// Both playbacks, whole and in order; then the stream was gone.
		if want := append(count(60), count(60)...); fmt.Sprint(nums) != fmt.Sprint(want) {
			t.Errorf("frames %v, want 0-59 twice", nums)
		}
		if st := src.Stats(); st.Reconnects != 2 || st.Dropped != 0 || st.Frames != 120 || !strings.Contains(st.Problem, "cannot be opened") {
			t.Errorf("%+v: want 120 frames, 2 reconnections, the last loss's reason", st)
		}
		if l := logs.String(); strings.Count(l, "the stream ended") != 2 || strings.Count(l, "source open") != 2 {
			t.Errorf("want two sessions, each ended: %s", l)
		}
		src.Wait()
	})
	t.Run("stalls", func(t *testing.T) {
		matleak.Check(t)
		srv := newStreamServer(t, data, 1, 2)
		var logs logtest.Buffer
		src, _ := Open(srv.url, Options{Stall: 700 * time.Millisecond, Retry: Retry{Min: 20 * time.Millisecond, Attempts: 2}, Log: logs.Logger()})
		begin := time.Now()
		nums, _, _, err := collect(t, src, room, 0)
		took := time.Since(begin)
		if err == nil || !strings.Contains(err.Error(), "gave up") {
			t.Fatalf("error %v", err)
		}
		// The start of the first playback, in order, until the stream
		// stalled; then the second whole.
		if n := len(nums) - 60; n <= 0 || fmt.Sprint(nums[:n]) != fmt.Sprint(count(n)) || fmt.Sprint(nums[n:]) != fmt.Sprint(count(60)) {
			t.Errorf("frames %v, want 0, 1, ... then 0-59", nums)
		}
		if !strings.Contains(logs.String(), "stalled") {
			t.Errorf("log %s", logs.String())
		}
		// FFmpeg alone would wait 30 s in the stalled read.
		if took > 10*time.Second {
			t.Errorf("took %v", took)
		}
		// The stalled connection's goroutine closes its Mats once the
		// server lets go.
		close(srv.release)
		src.Wait()
	})
}
