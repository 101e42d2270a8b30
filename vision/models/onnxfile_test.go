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
