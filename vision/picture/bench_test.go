package picture

import (
	"bufio"
	"bytes"
	"fmt"
	"joren/internal/testenv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// The worst pictures allowed: each format at the default limit, made once
// per run in a temporary directory.
const (
	benchSide   = 7071 // 7071 x 7071 = 49,999,041 pixels
	benchPixels = benchSide * benchSide
)

// benchPictures writes, into dir, a picture of each format just under
// DefaultMaxPixels, made of noise (worst for the file's size), and returns
// their paths by name.
func benchPictures(b *testing.B, dir string) map[string]string {
	b.Helper()
	if benchPixels > DefaultMaxPixels {
		b.Fatal("the benchmark's pictures are over the default limit")
	}
	r := rand.New(rand.NewPCG(7, 7))
	bgr := gocv.NewMatWithSize(benchSide, benchSide, gocv.MatTypeCV8UC3)
	defer bgr.Close()
	pix, _ := bgr.DataPtrUint8()
	// Noise in blocks: random enough that nothing compresses much, and
	// made in a second.
	block := make([]byte, 1<<16)
	for i := range block {
		block[i] = byte(r.UintN(256))
	}
	for i := 0; i < len(pix); i += len(block) {
		copy(pix[i:], block[r.UintN(uint(len(block))):])
	}
	bgra := gocv.NewMat()
	defer bgra.Close()
	gocv.CvtColor(bgr, &bgra, gocv.ColorBGRToBGRA)
	paths := map[string]string{}
	write := func(name string, m gocv.Mat, ext string, params ...int) []byte {
		var (
			buf *gocv.NativeByteBuffer
			err error
		)
		if len(params) == 0 {
			buf, err = gocv.IMEncode(gocv.FileExt(ext), m)
		} else {
			buf, err = gocv.IMEncodeWithParams(gocv.FileExt(ext), m, params)
		}
		if err != nil {
			b.Fatalf("encoding %s: %v", name, err)
		}
		defer buf.Close()
		data := bytes.Clone(buf.GetBytes())
		paths[name] = filepath.Join(dir, name+ext)
		if err := os.WriteFile(paths[name], data, 0o644); err != nil {
			b.Fatal(err)
		}
		return data
	}
	write("png", bgr, ".png", gocv.IMWritePngCompression, 1)
	write("png-alpha", bgra, ".png", gocv.IMWritePngCompression, 1)
	write("bmp", bgr, ".bmp")
	write("webp-alpha", bgra, ".webp", gocv.IMWriteWebpQuality, 75)
	jpg := write("jpeg", bgr, ".jpg", gocv.IMWriteJpegQuality, 95)
	paths["jpeg-turned"] = filepath.Join(dir, "turned.jpg")
	if err := os.WriteFile(paths["jpeg-turned"], withOrientation(jpg, "II", 6), 0o644); err != nil {
		b.Fatal(err)
	}
	return paths
}

// BenchmarkDecodeMemory measures the peak memory of preparing the worst
// pictures the default limit allows, each in a process of its own
// (TestDecodeMemoryChild): the file read whole, its decoding and scaling
// to the commands' --max-side 2000 (and, for JPEG, to no limit: decoded
// whole and turned upright). peak-RSS-MB is that process's high-water
// mark; decode-MB what preparing the picture added to it; B/pixel the
// same per pixel of the picture.
func BenchmarkDecodeMemory(b *testing.B) {
	paths := benchPictures(b, b.TempDir())
	for _, c := range []struct {
		name, picture string
		maxSide       int
	}{
		{"png", "png", 2000},
		{"png-alpha", "png-alpha", 2000},
		{"bmp", "bmp", 2000},
		{"webp-alpha", "webp-alpha", 2000},
		{"jpeg-turned", "jpeg-turned", 2000},
		{"jpeg-turned-whole", "jpeg-turned", 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			var peak, added float64
			for b.Loop() {
				peak, added = decodeInChild(b, paths[c.picture], c.maxSide)
			}
			st, _ := os.Stat(paths[c.picture])
			b.ReportMetric(peak, "peak-RSS-MB")
			b.ReportMetric(added, "decode-MB")
			b.ReportMetric(added*(1<<20)/benchPixels, "B/pixel")
			b.ReportMetric(float64(st.Size())/(1<<20), "file-MB")
		})
	}
}

// decodeInChild prepares the picture at path in a child process and
// returns its peak resident memory and what preparing added to it, in MB.
func decodeInChild(b *testing.B, path string, maxSide int) (peak, added float64) {
	cmd := testenv.Self(b, "-test.run=^TestDecodeMemoryChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "JOREN_PICTURE_MEMORY="+path, "JOREN_PICTURE_MAX_SIDE="+strconv.Itoa(maxSide))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	var base, hwm float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	found := false
	for sc.Scan() {
		if _, err := fmt.Sscanf(strings.TrimSpace(sc.Text()), "memory: base %g kB, peak %g kB", &base, &hwm); err == nil {
			found = true
		}
	}
	if !found {
		b.Fatalf("child printed no memory line:\n%s", out)
	}
	return hwm / 1024, (hwm - base) / 1024
}

// TestDecodeMemoryChild is BenchmarkDecodeMemory's child: it warms the
// decoders up on a small picture, resets the process's high-water mark,
// then reads and prepares one picture and prints the resident memory
// before and the peak.
func TestDecodeMemoryChild(t *testing.T) {
	path := os.Getenv("JOREN_PICTURE_MEMORY")
	if path == "" {
		t.Skip("BenchmarkDecodeMemory's child")
	}
	maxSide, _ := strconv.Atoi(os.Getenv("JOREN_PICTURE_MAX_SIDE"))
	for _, ext := range []gocv.FileExt{".png", ".bmp", ".webp", ".jpg"} {
		if _, err := Prepare(encodeCV(t, noise(64, 64, 1), ext), Options{MaxSide: 32}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	// "5" resets VmHWM to the current resident size (Linux 4.0 and later).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatal(err)
	}
	base := procStatus(t, "VmRSS")
	data, err := ReadFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(data, Options{MaxSide: maxSide})
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(data)
	t.Logf("prepared %dx%d to %d bytes of JPEG", p.Width, p.Height, len(p.JPEG))
	fmt.Printf("memory: base %d kB, peak %d kB\n", base, procStatus(t, "VmHWM"))
}

func procStatus(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field+":" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
