package models_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"joren/internal/testenv"
	"joren/vision/models"
)

// A tiny ONNX model written field by field: a seed small enough for the
// fuzzer, with one of each operator the counter knows of the networks run.

func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func pbNode(op string, in, out []string, attrs ...[]byte) []byte {
	var b []byte
	for _, s := range in {
		b = pbBytes(b, 1, []byte(s))
	}
	for _, s := range out {
		b = pbBytes(b, 2, []byte(s))
	}
	b = pbBytes(b, 4, []byte(op))
	for _, a := range attrs {
		b = pbBytes(b, 5, a)
	}
	return b
}

func pbInts(name string, v ...int64) []byte {
	b := pbBytes(nil, 1, []byte(name))
	for _, x := range v {
		b = pbVarint(b, 8, uint64(x))
	}
	return pbVarint(b, 20, 7)
}

func pbTensor(name string, dt uint64, dims []int64, raw []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = pbVarint(b, 1, uint64(d))
	}
	b = pbVarint(b, 2, dt)
	b = pbBytes(b, 8, []byte(name))
	return pbBytes(b, 9, raw)
}

func floats(n int) []byte {
	b := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(i)))
	}
	return b
}

func int64s(v ...int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

func pbValue(name string, dims ...int64) []byte {
	var shape []byte
	for _, d := range dims {
		shape = pbBytes(shape, 1, pbVarint(nil, 1, uint64(d)))
	}
	tt := pbBytes(pbVarint(nil, 1, 1), 2, shape)
	return pbBytes(pbBytes(nil, 1, []byte(name)), 2, pbBytes(nil, 1, tt))
}

// tinyONNX: x 1x3x8x8 -> Conv 4 3x3 pad 1 -> Relu -> Resize x2 -> MaxPool
// 2/2 -> Pad channels +4 -> Transpose and back -> Reshape -> Add ->
// GlobalAveragePool -> Flatten -> Gemm 8x2.
func tinyONNX() []byte {
	var g []byte
	g = pbBytes(g, 1, pbNode("Conv", []string{"x", "w", "b"}, []string{"c"}, pbInts("kernel_shape", 3, 3), pbInts("pads", 1, 1, 1, 1)))
	g = pbBytes(g, 1, pbNode("Relu", []string{"c"}, []string{"r"}))
	g = pbBytes(g, 1, pbNode("Resize", []string{"r", "", "scales"}, []string{"u"}))
	g = pbBytes(g, 1, pbNode("MaxPool", []string{"u"}, []string{"p"}, pbInts("kernel_shape", 2, 2), pbInts("strides", 2, 2)))
	g = pbBytes(g, 1, pbNode("Pad", []string{"p", "pads"}, []string{"q"}))
	g = pbBytes(g, 1, pbNode("Transpose", []string{"q"}, []string{"t"}, pbInts("perm", 0, 2, 3, 1)))
	g = pbBytes(g, 1, pbNode("Transpose", []string{"t"}, []string{"t2"}, pbInts("perm", 0, 3, 1, 2)))
	g = pbBytes(g, 1, pbNode("Reshape", []string{"t2", "shape"}, []string{"s"}))
	g = pbBytes(g, 1, pbNode("Add", []string{"s", "q"}, []string{"a"}))
	g = pbBytes(g, 1, pbNode("GlobalAveragePool", []string{"a"}, []string{"gp"}))
	g = pbBytes(g, 1, pbNode("Flatten", []string{"gp"}, []string{"f"}))
	g = pbBytes(g, 1, pbNode("Gemm", []string{"f", "fc"}, []string{"y"}))
	g = pbBytes(g, 5, pbTensor("w", 1, []int64{4, 3, 3, 3}, floats(108)))
	g = pbBytes(g, 5, pbTensor("b", 1, []int64{4}, floats(4)))
	g = pbBytes(g, 5, pbTensor("scales", 1, []int64{4}, append(append(floats(0), 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f), 0, 0, 0, 0x40, 0, 0, 0, 0x40)))
	g = pbBytes(g, 5, pbTensor("pads", 7, []int64{8}, int64s(0, 0, 0, 0, 0, 4, 0, 0)))
	g = pbBytes(g, 5, pbTensor("shape", 7, []int64{4}, int64s(0, 8, -1, 0)))
	g = pbBytes(g, 5, pbTensor("fc", 1, []int64{8, 2}, floats(16)))
	g = pbBytes(g, 11, pbValue("x", 1, 3, 8, 8))
	g = pbBytes(g, 12, pbValue("y", 1, 2))
	m := pbVarint(nil, 1, 6)
	m = pbBytes(m, 7, g)
	return pbBytes(m, 8, pbVarint(nil, 2, 11))
}

func TestCountMACsTiny(t *testing.T) {
	g, err := models.ParseONNX(tinyONNX())
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.CountMACs(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Conv: 8x8 outputs x 4 filters x 27; Gemm: 8x2.
	if m.Total != 8*8*4*27+16 || m.ByOp["Conv"] != 8*8*4*27 || m.ByOp["Gemm"] != 16 {
		t.Errorf("counted %v", m)
	}
	if d := m.Outputs["y"]; len(d) != 2 || d[0] != 1 || d[1] != 2 {
		t.Errorf("output shape %v", d)
	}
	m, err = models.CountMACs(g, map[string][]int64{"x": {1, 3, 16, 16}})
	if err != nil || m.ByOp["Conv"] != 16*16*4*27 {
		t.Errorf("at 16x16: %v, %v", m, err)
	}
}

func TestParseONNXErrors(t *testing.T) {
	yunet, err := os.ReadFile(filepath.Join(testenv.Shared(t), "models", "face_detection_yunet_2023mar.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not an ONNX model: no graph"},
		{"text", []byte("not a network"), "not an ONNX model"},
		{"truncated", yunet[:len(yunet)/2], "not an ONNX model"},
		{"cut after the header", yunet[:40], "not an ONNX model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := models.ParseONNX(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	g, err := models.ParseONNX(yunet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.CountMACs(g, map[string][]int64{g.Inputs[0].Name: {1, 3, 100, 10}}); err == nil {
		t.Error("YuNet counted on an input too small for its windows")
	}
}

// FuzzParseONNX feeds damaged networks to the parser and the counter:
// errors are fine, panics and runaway allocations are not.
func FuzzParseONNX(f *testing.F) {
	// YuNet's first kilobytes: its header and first nodes (the whole file
	// is too large for the fuzzer to mutate quickly).
	yunet, err := os.ReadFile(filepath.Join(testenv.Shared(f), "models", "face_detection_yunet_2023mar.onnx"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(yunet[:4096], uint64(0), []byte{})
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00}, uint64(0), []byte{})
	f.Add(tinyONNX(), uint64(0), []byte{})
	f.Add(tinyONNX(), uint64(50), []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte, off uint64, patch []byte) {
		d := append([]byte(nil), data...)
		if len(d) > 0 {
			copy(d[off%uint64(len(d)):], patch)
		}
		g, err := models.ParseONNX(d)
		if err != nil {
			return
		}
		in := map[string][]int64{}
		for _, v := range g.Inputs {
			in[v.Name] = []int64{1, 3, 64, 64}
		}
		models.CountMACs(g, in)
		models.ONNXMetadata(d)
	})
}
