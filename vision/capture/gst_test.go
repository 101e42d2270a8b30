package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"joren/internal/logtest"
	"joren/vision/frame"
	"joren/vision/internal/matleak"
)

var (
	pi4 = Machine{Model: "Raspberry Pi 4 Model B Rev 1.5", Compatible: []string{"raspberrypi,4-model-b", "brcm,bcm2711"}}
	// A Pi 5 whose compatible strings could not be read: the model decides.
	pi5    = Machine{Model: "Raspberry Pi 5 Model B Rev 1.0"}
	orin   = Machine{Model: "NVIDIA Jetson Orin Nano Developer Kit", Compatible: []string{"nvidia,p3768-0000+p3767-0005", "nvidia,p3767-0005", "nvidia,tegra234"}}
	carrer = Machine{Model: "reComputer J4012", Compatible: []string{"nvidia,p3509-0000+p3767-0000", "nvidia,tegra234"}}
)

func machine(m Machine) func() (Machine, error) { return func() (Machine, error) { return m, nil } }

func TestPipelinePasswordsMasked(t *testing.T) {
	s, err := Parse(`gst:rtspsrc location=rtsp://admin:s3cret@cam.local/live user-id=admin user-pw=hunter2 proxy-pw = "pass word" ! decodebin`)
	if err != nil {
		t.Fatal(err)
	}
	got := s.String()
	for _, secret := range []string{"s3cret", "hunter2", "pass word"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q shows %q", got, secret)
		}
	}
	for _, kept := range []string{"rtsp://admin:xxxxx@cam.local/live", "user-id=admin", "user-pw=xxxxx", "decodebin"} {
		if !strings.Contains(got, kept) {
			t.Errorf("%q lacks %q", got, kept)
		}
	}
}

func TestCSIStackByBoard(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Machine
		want cameraStack
	}{
		{"Pi 4", pi4, libcamera},
		{"Pi 5 by its model", pi5, libcamera},
		{"Pi 3 by its compatible", Machine{Model: "custom", Compatible: []string{"raspberrypi,3-model-b", "brcm,bcm2837"}}, libcamera},
		{"CM4 on a carrier board", Machine{Model: "Acme door board", Compatible: []string{"acme,door", "brcm,bcm2711"}}, libcamera},
		{"Jetson Orin Nano", orin, argus},
		{"Jetson on a carrier board", carrer, argus},
		{"Jetson Nano by its model", Machine{Model: "NVIDIA Jetson Nano Developer Kit"}, argus},
		{"another arm board", Machine{Model: "Radxa ROCK 5B", Compatible: []string{"radxa,rock-5b", "rockchip,rk3588"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.m.csiStack()
			if tc.want == 0 {
				if err == nil || !errors.Is(err, errNoCSI) || !strings.Contains(err.Error(), tc.m.Model) {
					t.Fatalf("%v, %v", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// csi and csi:N make the pipeline of the board's camera stack, with the
// configured size and rate, and GStreamer's own parser accepts it.
func TestCSIPipelines(t *testing.T) {
	const (
		cam0 = "/base/axi/pcie@120000/rp1/i2c@88000/imx477@1a" // Pi 5, CAM0 connector: HQ camera
		cam1 = "/base/axi/pcie@120000/rp1/i2c@80000/imx708@1a" // CAM1: Camera Module 3
		usb  = "/base/axi/pcie@120000/rp1/usb@200000-1:1.0-046d:0825"
	)
	ids := []string{cam1, usb, cam0}
	for n, want := range []string{cam0, cam1} {
		if got, err := csiCamera(ids, n); err != nil || got != want {
			t.Errorf("camera %d: %q, %v; want %q", n, got, err, want)
		}
	}
	if _, err := csiCamera(ids, 2); err == nil || !strings.Contains(err.Error(), "there is no camera 2: libcamera finds 2") {
		t.Errorf("camera 2: %v", err)
	}
	if _, err := csiCamera([]string{usb}, 0); err == nil || !strings.Contains(err.Error(), "finds no camera on the camera connector") {
		t.Errorf("USB only: %v", err)
	}

	tail := " ! videoconvert ! video/x-raw,format=BGR ! appsink name=joren drop=true max-buffers=1 sync=false"
	for _, tc := range []struct {
		name, got, want string
	}{
		{"libcamera, configured", libcameraPipeline(cam1, true, Options{Width: 1280, Height: 720, FPS: 7.5}),
			`libcamerasrc camera-name="` + cam1 + `" af-mode=continuous ! video/x-raw,width=1280,height=720,framerate=15/2` + tail},
		{"libcamera, defaults", libcameraPipeline(cam0, false, Options{}),
			`libcamerasrc camera-name="` + cam0 + `" ! video/x-raw,width=640,height=480` + tail},
		{"Argus, second camera", argusPipeline(1, Options{Width: 800, Height: 600, FPS: 30}),
			`nvarguscamerasrc sensor-id=1 ! video/x-raw(memory:NVMM),framerate=30/1 ! nvvidconv ! video/x-raw,format=BGRx,width=800,height=600` + tail},
		{"Argus, defaults", argusPipeline(0, Options{}),
			`nvarguscamerasrc sensor-id=0 ! video/x-raw(memory:NVMM) ! nvvidconv ! video/x-raw,format=BGRx,width=640,height=480` + tail},
		{"gst: with OpenCV's appsink", userPipeline("videotestsrc ! video/x-raw,format=BGR ! appsink drop=1"),
			"videotestsrc ! video/x-raw,format=BGR" + tail},
		{"gst: ending in !", userPipeline("videotestsrc !"), "videotestsrc" + tail},
	} {
		if tc.got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
	for fps, want := range map[float64]string{15: "15/1", 7.5: "15/2", 29.97: "2997/100", 0.5: "1/2"} {
		if n, d := fraction(fps); fmt.Sprintf("%d/%d", n, d) != want {
			t.Errorf("fraction(%v) = %d/%d, want %s", fps, n, d, want)
		}
	}

	// GStreamer parses them: the libcamera one as it is (Debian's
	// gstreamer1.0-libcamera is installed here), the Argus one with its
	// NVIDIA elements stood in for by ones that exist here.
	if err := checkPipeline(libcameraPipeline(cam1+`"quoted\`, false, Options{FPS: 15})); err != nil {
		t.Errorf("libcamera pipeline: %v", err)
	}
	// Debian 12's libcamerasrc (0.0.3) predates its control properties:
	// autofocus is asked only of one that has them.
	if hasProperty("libcamerasrc", "af-mode") || !hasProperty("libcamerasrc", "camera-name") || hasProperty("nosuchelement", "name") {
		t.Error("hasProperty is wrong about libcamerasrc")
	}
	nv := strings.NewReplacer("nvarguscamerasrc sensor-id=1", "videotestsrc", "(memory:NVMM)", "", "nvvidconv", "identity")
	if err := checkPipeline(nv.Replace(argusPipeline(1, Options{FPS: 30}))); err != nil {
		t.Errorf("Argus pipeline: %v", err)
	}
}

// The short name resolves by board through an injected probe; a board
// without a camera stack, a probe that fails and a missing element are
// errors when the source is made.
func TestCSIOpen(t *testing.T) {
	matleak.Check(t)
	for _, tc := range []struct {
		name, src string
		probe     func() (Machine, error)
		want      string
	}{
		{"PC", "csi", machine(Machine{Model: "QEMU Virtual Machine"}), `supported on a Raspberry Pi (libcamera) or an NVIDIA Jetson (Argus); this board is "QEMU Virtual Machine": use a USB camera (/dev/video0) or a gst:PIPELINE source`},
		{"no device tree", "csi", func() (Machine, error) { return Machine{}, os.ErrNotExist }, "supported on a Raspberry Pi"},
		{"Jetson without JetPack", "csi:1", machine(orin), "CSI camera csi:1: GStreamer element nvarguscamerasrc not found: it comes with NVIDIA JetPack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.src, Options{Machine: tc.probe})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}

	// On a Raspberry Pi without a camera, libcamera itself says so, at
	// every attempt.
	var logs logtest.Buffer
	src, err := Open("csi", Options{Machine: machine(pi5), Retry: Retry{Min: 10 * time.Millisecond, Attempts: 2}, Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = collect(t, src, 1, 0)
	if err == nil || !strings.Contains(err.Error(), "CSI camera csi: gave up after 2 failed attempt(s): libcamera finds no camera on the camera connector") {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(logs.String(), "camera_stack=libcamera") || src.Stats().Reconnects != 1 {
		t.Errorf("%+v; log %s", src.Stats(), logs.String())
	}
}

func TestPipelineErrors(t *testing.T) {
	matleak.Check(t)
	for _, tc := range []struct{ src, want string }{
		{"gst:nosuchelement ! videoconvert", "GStreamer pipeline nosuchelement ! videoconvert: GStreamer element nosuchelement not found: a typo, or its plugin is not installed (gst-inspect-1.0 nosuchelement says which)"},
		{"gst:videotestsrc ! nvvidconv ! rtspsrc", "GStreamer element nvvidconv not found: it comes with NVIDIA JetPack (nvidia-l4t-gstreamer); it exists on Jetson boards only (also missing: rtspsrc)"},
		{"gst:videotestsrc patern=ball", `no property "patern" in element`},
		{"gst:videotestsrc ! audio/x-raw", "could not link"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			_, err := Open(tc.src, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// runLive runs src until cancel is called.
func runLive(src *Source) (out chan *frame.Frame, cancel context.CancelFunc, done chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	out = make(chan *frame.Frame, 4)
	done = make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()
	return out, cancel, done
}

// A live test pattern: its size, frame rate and colours arrive as the
// pipeline says, at the pipeline's pace.
func TestPipelineFrames(t *testing.T) {
	matleak.Check(t)
	var logs logtest.Buffer
	// foreground-color is ARGB: red 0x20, green 0x40, blue 0xc0.
	src, err := Open("gst:videotestsrc is-live=true pattern=solid-color foreground-color=0xff2040c0 ! video/x-raw,width=322,height=181,framerate=30/1", Options{Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	out, cancel, done := runLive(src)
	defer cancel()
	var times []time.Time
	for f := range out {
		im := f.Image
		if im.Cols != 322 || im.Rows != 181 || len(im.Pix) != 322*181*3 || im.Step != 322*3 {
			t.Fatalf("frame %dx%d step %d, %d bytes", im.Cols, im.Rows, im.Step, len(im.Pix))
		}
		// Every pixel, including the last of each row (rows of 966
		// bytes are padded to 968 in GStreamer's buffers).
		if want := bytes.Repeat([]byte{0xc0, 0x40, 0x20}, 322*181); !bytes.Equal(im.Pix, want) {
			b, g, r := im.At(321, 180)
			t.Fatalf("frame %d is not BGR (0xc0, 0x40, 0x20): bottom right %x %x %x", len(times), b, g, r)
		}
		if !f.Live {
			t.Error("a pipeline's frames are not marked live")
		}
		times = append(times, f.Time)
		f.Release()
		if len(times) == 31 {
			cancel()
		}
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	src.Wait()
	if len(times) < 31 {
		t.Fatalf("%d frames", len(times))
	}
	// A live source cannot run ahead of its rate: 30 frame intervals at
	// 30 fps take a second (less a little jitter), however idle the
	// machine.
	if took := times[30].Sub(times[0]); took < 900*time.Millisecond {
		t.Errorf("30 frames at 30 fps came in %v", took)
	}
	if !strings.Contains(logs.String(), "322x181 at 30 fps: videotestsrc") {
		t.Errorf("log %s", logs.String())
	}
}

// rawFrame is frame n of a raw BGR stream as rawvideoparse reads it (rows
// padded to 4 bytes) and as joren delivers it (rows packed): numbered as
// numbered() draws it, with a different byte in every column so that a
// row shifted by a byte shows.
func rawFrame(w, h, n int) (padded, packed []byte) {
	stride := (3*w + 3) &^ 3
	padded = make([]byte, stride*h)
	packed = make([]byte, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			px := []byte{byte(x), byte(y), byte(x + y + n)}
			if bit := x / 24; y < 24 && bit < 8 {
				v := byte(0)
				if n>>bit&1 == 1 {
					v = 255
				}
				px = []byte{v, v, v}
			}
			copy(padded[y*stride+3*x:], px)
			copy(packed[(y*w+x)*3:], px)
		}
	}
	return padded, packed
}

// waitLog waits until the log says want.
func waitLog(t *testing.T, logs *logtest.Buffer, want string) {
	t.Helper()
	if !logs.WaitFor(20*time.Second, func(log string) bool { return strings.Contains(log, want) }) {
		t.Fatalf("the log never said %q: %s", want, logs.String())
	}
}

// A pipeline fed by the test through a pipe: frames arrive exactly as
// written; when the writer pauses the pipeline stalls, is given up and
// reopened, and resumes when the writer does; when the writer closes the
// pipe the pipeline ends, is reopened, ends again at once, and the source
// gives up.
func TestPipelineStallsEndsComesBack(t *testing.T) {
	matleak.Check(t)
	const w, h = 322, 240 // rows padded from 966 to 968 bytes
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	var logs logtest.Buffer
	src, err := Open(fmt.Sprintf("gst:fdsrc fd=%d ! rawvideoparse format=bgr width=%d height=%d framerate=10/1", pr.Fd(), w, h),
		Options{Stall: 400 * time.Millisecond, Retry: Retry{Min: 20 * time.Millisecond, Attempts: 2},
			Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan *frame.Frame, 4)
	done := make(chan error, 1)
	go func() { done <- src.Run(context.Background(), out) }()
	var seqs []int64
	// send writes frame n and checks it arrives intact (one at a time: the
	// appsink keeps only the newest frame, as a camera's should).
	send := func(n int) {
		t.Helper()
		padded, packed := rawFrame(w, h, n)
		if _, err := pw.Write(padded); err != nil {
			t.Fatal(err)
		}
		f, ok := <-out
		if !ok {
			t.Fatalf("frame %d: the source closed: %v", n, <-done)
		}
		defer f.Release()
		if got := number(f.Image); got != n || !bytes.Equal(f.Image.Pix, packed) {
			t.Fatalf("frame %d arrived as frame %d (%dx%d), or altered", n, got, f.Image.Cols, f.Image.Rows)
		}
		seqs = append(seqs, f.Seq)
	}
	for n := range 5 {
		send(n)
	}
	// The writer pauses: the stall is noticed and the connection closed
	// (it must not read the frames meant for the next one).
	waitLog(t, &logs, "stalled")
	waitLog(t, &logs, "connection closed")
	for n := 5; n < 10; n++ {
		send(n)
	}
	pw.Close()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not give up")
	}
	for f := range out {
		f.Release()
	}
	src.Wait()
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 failed attempt(s): the pipeline ended before its first frame") {
		t.Fatalf("error %v", err)
	}
	if fmt.Sprint(seqs) != "[0 1 2 3 4 5 6 7 8 9]" {
		t.Errorf("seqs %v", seqs)
	}
	if st := src.Stats(); st.Frames != 10 || st.Reconnects != 2 {
		t.Errorf("%+v", st)
	}
	for _, want := range []string{"no frame for", "the pipeline ended (end of stream)"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q: %s", want, logs.String())
		}
	}
}

// An element that fails mid-stream is a lost source: logged with the
// element's own words and reopened; a URL's password never shows.
func TestPipelineFailures(t *testing.T) {
	matleak.Check(t)
	var logs logtest.Buffer
	src, err := Open("gst:videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=100/1 ! identity error-after=3", Options{Retry: Retry{Min: 10 * time.Millisecond}, Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	out, cancel, done := runLive(src)
	defer cancel()
	n := 0
	for f := range out {
		n++
		f.Release()
		if src.Stats().Reconnects >= 2 {
			cancel()
		}
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	src.Wait()
	if n < 3 || !strings.Contains(logs.String(), "source lost, reopening") || !strings.Contains(logs.String(), "identity: ") {
		t.Errorf("%d frames; log %s", n, logs.String())
	}

	// A pipeline that never delivers a frame is given up after Stall, and
	// its connection closed at once.
	logs = logtest.Buffer{}
	src, err = Open("gst:videotestsrc is-live=true ! identity drop-probability=1", Options{Stall: 300 * time.Millisecond, Retry: Retry{Attempts: 1}, Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = collect(t, src, 1, 0)
	if err == nil || !strings.Contains(err.Error(), "opening took more than 300ms: no answer") {
		t.Errorf("error %v", err)
	}
	waited := make(chan struct{})
	go func() { src.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Error("the stalled pipeline was not closed")
	}

	logs = logtest.Buffer{}
	src, err = Open("gst:uridecodebin uri=rtsp://admin:s3cret@127.0.0.1:9/live", Options{Retry: Retry{Min: 10 * time.Millisecond, Attempts: 2}, Log: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = collect(t, src, 1, 0)
	if err == nil || strings.Contains(err.Error()+logs.String(), "s3cret") || !strings.Contains(logs.String(), "admin:xxxxx@127.0.0.1") {
		t.Errorf("error %v; log %s", err, logs.String())
	}
}

// Source strings come from configuration files and command lines.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"csi", "csi:1", "gst:videotestsrc ! appsink", "gst:rtspsrc location=rtsp://a:b@c/d user-pw=x", "/dev/video0", "rtsp://u:p@h/", "frames/", "csi:", "gst:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := Parse(s)
		if err != nil {
			return
		}
		if spec.String() == "" {
			t.Errorf("%q: empty description", s)
		}
		if spec.Kind == Pipeline {
			once := redactPipeline(spec.Path)
			if redactPipeline(once) != once {
				t.Errorf("%q: redacting twice changes %q", s, once)
			}
			if userPipeline(spec.Path) == "" {
				t.Errorf("%q: no pipeline", s)
			}
		}
		if spec.Kind == CSI && (spec.Index < 0 || spec.Index > 99) {
			t.Errorf("%q: camera %d", s, spec.Index)
		}
	})
}

// A pipeline whose frames are over the pixel limit is refused with their
// size, before a frame of it goes anywhere.
func TestPipelineOverPixelLimit(t *testing.T) {
	matleak.Check(t)
	src, err := Open("gst:videotestsrc ! video/x-raw,width=400,height=300", Options{MaxPixels: 100_000, Retry: Retry{Min: 10 * time.Millisecond, Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	nums, _, _, err := collect(t, src, 1, 0)
	src.Wait()
	if want := "frames of 400x300 (120000 pixels) are over the pixel limit of 100000 pixels"; err == nil || !strings.Contains(err.Error(), want) || len(nums) != 0 {
		t.Fatalf("%d frames, error %v; want %q", len(nums), err, want)
	}
}
