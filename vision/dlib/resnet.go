package dlib

// #cgo CXXFLAGS: -std=c++17 -O2 -DNDEBUG -Wno-psabi
// #cgo LDFLAGS: -ldlib -lblas -llapack
// #include <stdlib.h>
// #include "resnet.h"
import "C"

import (
	"fmt"
	"unsafe"

	"joren/vision/models"
)

// WriteResNet builds dlib's face recognition ResNet, sets its parameters
// from layers (input to output order) and serialises it to path. Every
// layer's kind and size is checked against the network first.
func WriteResNet(path string, layers []models.Layer) error {
	n := len(layers)
	if n == 0 {
		return fmt.Errorf("writing ResNet %s: no layers", path)
	}
	kinds := make([]C.int, n)
	sizes := make([]C.long, n)
	total := 0
	for i, l := range layers {
		switch l.Kind {
		case models.Conv:
			kinds[i] = C.JOREN_LAYER_CONV
		case models.Affine:
			kinds[i] = C.JOREN_LAYER_AFFINE
		case models.FC:
			kinds[i] = C.JOREN_LAYER_FC
		default:
			return fmt.Errorf("writing ResNet %s: layer %s has unknown kind %v", path, l.Name, l.Kind)
		}
		sizes[i] = C.long(len(l.Values))
		total += len(l.Values)
	}
	// One C buffer: Go memory holding no pointers may be passed to C, but a
	// single contiguous copy keeps the C side simple.
	data := C.malloc(C.size_t(total) * C.size_t(unsafe.Sizeof(C.float(0))))
	if data == nil {
		return fmt.Errorf("writing ResNet %s: out of memory", path)
	}
	defer C.free(data)
	flat := unsafe.Slice((*float32)(data), total)
	off := 0
	for _, l := range layers {
		off += copy(flat[off:], l.Values)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if msg := C.joren_write_resnet(cpath, C.int(n), &kinds[0], &sizes[0], (*C.float)(data)); msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return fmt.Errorf("writing ResNet %s: %s", path, C.GoString(msg))
	}
	return nil
}
