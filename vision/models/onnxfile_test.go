package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"joren/internal/testenv"
)

func TestCheckONNXFile(t *testing.T) {
	real, err := os.ReadFile(filepath.Join(testenv.Models(t), TestONNX.Settings.File()))
	if err != nil {
		t.Fatalf("%v (make models registers the test network)", err)
	}
	if err := CheckONNXFile(real); err != nil {
		t.Fatalf("the test network: %v", err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"text", []byte("this is not a network\n"), "not an ONNX model"},
		{"truncated", real[:len(real)/2], "truncated"},
		{"cut at the end", real[:len(real)-1], "not an ONNX model"},
		{"another protobuf", []byte{0x08, 0x01, 0x12, 0x01, 'x'}, "no graph"},
		{"graph without nodes", []byte{0x3a, 0x02, 0x12, 0x00}, "no nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckONNXFile(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestONNXInterface(t *testing.T) {
	real, err := os.ReadFile(filepath.Join(testenv.Models(t), TestONNX.Settings.File()))
	if err != nil {
		t.Fatal(err)
	}
	in, out, err := ONNXInterface(real)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].String() != "1x3x112x112" || len(out) != 1 || out[0].String() != "1x512" {
		t.Errorf("test network: inputs %v, outputs %v", in, out)
	}
	yn, err := os.ReadFile(filepath.Join(testenv.Shared(t), "models", YuNetFile))
	if err != nil {
		t.Fatal(err)
	}
	in, out, err = ONNXInterface(yn)
	if err != nil || len(in) != 1 || in[0].String() != "1x3x640x640" || len(out) != 12 || out[0].Name != "cls_8" {
		t.Errorf("YuNet: inputs %v, outputs %v, %v", in, out, err)
	}
	if (Tensor{Dims: []int64{-1, 3, 112, 112}}).String() != "?x3x112x112" {
		t.Error("open sizes are not shown as ?")
	}
}

func TestCheckFaceNetwork(t *testing.T) {
	real, err := os.ReadFile(filepath.Join(testenv.Models(t), TestONNX.Settings.File()))
	if err != nil {
		t.Fatal(err)
	}
	yn, err := os.ReadFile(filepath.Join(testenv.Shared(t), "models", YuNetFile))
	if err != nil {
		t.Fatal(err)
	}
	s := TestONNX.Settings
	small := s
	small.Size = 96
	big := s
	big.Size = 640
	for _, tc := range []struct {
		name string
		data []byte
		s    ONNX
		want string
	}{
		{"the test network", real, s, ""},
		{"another input size", real, small, "it wants 112x112 faces, not --size 96"},
		{"a detector", yn, s, "not --size 112"},
		{"a detector at its size", yn, big, "12 outputs, want one descriptor"},
		{"not ONNX", []byte("text"), s, "not an ONNX model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckFaceNetwork(tc.data, tc.s)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
