package models_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"joren/internal/testenv"
	"joren/vision/models"
)

// resNetMACs is dlib's ResNet's multiply-adds, counted by hand from nets.h:
// the 7x7 stem at 72x72, three 32-filter units at 35x35, 64 at 17x17, 128
// at 8x8, 256 at 3x3 then 4x4 (dlib pads the shortcut's larger grid), the
// last unit at 1x1, and the 256x128 fully connected layer.
const resNetMACs = 72*72*32*147 +
	3*2*35*35*32*288 +
	17*17*64*288 + 17*17*64*576 + 3*2*17*17*64*576 +
	8*8*128*576 + 8*8*128*1152 + 2*2*8*8*128*1152 +
	3*3*256*1152 + 3*3*256*2304 + 2*2*4*4*256*2304 +
	256*2304 + 256*2304 +
	256*128

func TestResNetONNX(t *testing.T) {
	p := syntheticResNet(3)
	a, err := models.ResNetONNX(p, "abc123")
	if err != nil {
		t.Fatal(err)
	}
	b, err := models.ResNetONNX(p, "abc123")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two conversions of the same weights differ")
	}
	if err := models.CheckONNXFile(a); err != nil {
		t.Fatalf("CheckONNXFile: %v", err)
	}
	g, err := models.ParseONNX(a)
	if err != nil {
		t.Fatal(err)
	}
	if g.Opset != 11 || g.Meta[models.MetaSourceSHA256] != "abc123" || g.Meta[models.MetaSource] != models.ResNetFile {
		t.Errorf("opset %d, metadata %v", g.Opset, g.Meta)
	}
	if len(g.Inputs) != 1 || g.Inputs[0].Name != models.ResNetONNXInput || !equal(g.Inputs[0].Dims, 1, 3, 150, 150) {
		t.Errorf("inputs %+v, want chip 1x3x150x150", g.Inputs)
	}
	ops := map[string]int{}
	for _, n := range g.Nodes {
		ops[n.Op]++
	}
	want := map[string]int{"Sub": 1, "Mul": 1, "Conv": 29, "Relu": 29, "MaxPool": 1, "AveragePool": 4, "Pad": 5, "Add": 14, "GlobalAveragePool": 1, "Flatten": 1, "MatMul": 1}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%d %s nodes, want %d (all: %v)", ops[op], op, n, ops)
		}
	}
	m, err := models.CountMACs(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Total != resNetMACs {
		t.Errorf("%d multiply-adds, want %d", m.Total, resNetMACs)
	}
	if d := m.Outputs[models.ResNetONNXOutput]; !equal(d, 1, 128) {
		t.Errorf("output shape %v, want 1x128", d)
	}
	// face-api's 5,614,592 values less the 29 affine layers folded away
	// (2 values per channel) and the convolutions' biases (1 per channel).
	if channels := int64(32 + 2*(3*32+4*64+3*128+4*256)); m.Params != 5614592-3*channels {
		t.Errorf("%d weights, want %d", m.Params, 5614592-3*channels)
	}
	t.Logf("dlib ResNet: %v", m)

	// A different digest of the source is a different file.
	c, _ := models.ResNetONNX(p, "def456")
	if bytes.Equal(a, c) {
		t.Error("the source digest is not in the file")
	}
}

func TestResNetONNXRefusesBadWeights(t *testing.T) {
	p := syntheticResNet(4)
	short := p
	short.Layers = p.Layers[:58]
	nan := syntheticResNet(4)
	nan.Layers[2].Values[7] = float32(math.NaN())
	swapped := syntheticResNet(4)
	swapped.Layers[0], swapped.Layers[1] = swapped.Layers[1], swapped.Layers[0]
	mean := syntheticResNet(4)
	mean.Mean[1] = 300
	for _, tc := range []struct {
		name string
		p    models.ResNetParams
		want string
	}{
		{"missing layer", short, "58 layers, want 59"},
		{"NaN", nan, "layer 2 (conv): value 7 is NaN"},
		{"swapped", swapped, "layer 0 (affine): affine with 64 values, want conv with 4736"},
		{"mean", mean, "input mean 1 is 300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := models.ResNetONNX(tc.p, "x")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// builtResNetSHA256 is the sha256 of the ResNet file Build writes from
// face-api's pinned weights (dlib's serialiser, byte for byte the same on
// every machine: TestConversionDeterministic in package dlib), and
// builtONNXSHA256 that of its conversion.
const (
	builtResNetSHA256 = "cdb1d47b961fe310ef1f3aa2974c5f65d29c079346760f6b6785c7e405f7266a"
	builtONNXSHA256   = "1c2cbf91fd7eac819c9542a796a586d6089a5b853565f15a9854b47d3f903fb1"
)

// TestResNetONNXPinned converts the built ResNet file: every machine must
// write the same bytes (a multiply-add fused on arm64 would change them;
// make test-arm64-pure runs this under qemu).
func TestResNetONNXPinned(t *testing.T) {
	dat, err := os.ReadFile(filepath.Join(testenv.Models(t), models.ResNetFile))
	if err != nil {
		t.Fatal(err)
	}
	if sha(dat) != builtResNetSHA256 {
		t.Skipf("the model directory's %s is not the one Build writes (fetched from dlib.net?)", models.ResNetFile)
	}
	p, err := models.ReadResNet(dat)
	if err != nil {
		t.Fatal(err)
	}
	onnx, err := models.ResNetONNX(p, sha(dat))
	if err != nil {
		t.Fatal(err)
	}
	if got := sha(onnx); got != builtONNXSHA256 {
		t.Errorf("conversion of the built ResNet has sha256 %s on %s, want %s", got, runtime.GOARCH, builtONNXSHA256)
	}
}

// TestMACTable counts the multiply-adds of every network the pipeline may
// run, at the input sizes it uses: the figures of docs/pipeline.md's board
// estimate (go test -run TestMACTable -v ./vision/models prints them).
func TestMACTable(t *testing.T) {
	dat, err := os.ReadFile(filepath.Join(testenv.Models(t), models.ResNetFile))
	if err != nil {
		t.Fatal(err)
	}
	p, err := models.ReadResNet(dat)
	if err != nil {
		t.Fatal(err)
	}
	resnet, err := models.ResNetONNX(p, "")
	if err != nil {
		t.Fatal(err)
	}
	yunet, err := os.ReadFile(filepath.Join(testenv.Shared(t), "models", "face_detection_yunet_2023mar.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	mfn, err := os.ReadFile(filepath.Join(testenv.Models(t), models.TestONNX.Settings.File()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		data  []byte
		input []int64
		want  int64 // multiply-adds, pinned: a change in the counter is noticed
	}{
		{"dlib ResNet, 150x150 chip", resnet, []int64{1, 3, 150, 150}, resNetMACs},
		{"YuNet 160x128", yunet, []int64{1, 3, 128, 160}, 17211200},
		{"YuNet 320x256", yunet, []int64{1, 3, 256, 320}, 68844800},
		{"YuNet 640x480", yunet, []int64{1, 3, 480, 640}, 258168000},
		{"MobileFaceNet (test), 112x112", mfn, []int64{1, 3, 112, 112}, 221161984},
	} {
		g, err := models.ParseONNX(c.data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		in := map[string][]int64{g.Inputs[0].Name: c.input}
		m, err := models.CountMACs(g, in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Logf("%s: %v (%d)", c.name, m, m.Total)
		if m.Total != c.want {
			t.Errorf("%s: %d multiply-adds, want %d", c.name, m.Total, c.want)
		}
	}
}

func equal(d []int64, want ...int64) bool {
	if len(d) != len(want) {
		return false
	}
	for i := range d {
		if d[i] != want[i] {
			return false
		}
	}
	return true
}
