package yunet

// #cgo pkg-config: opencv4
// #cgo CXXFLAGS: -std=c++17 -O2 -DNDEBUG
// #include <stdlib.h>
// #include "net.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"joren/vision/frame"
)

// net is YuNet's network (net.cc). Not safe for concurrent use.
type net struct {
	n   *C.joren_yunet
	out []float32 // the outputs of the last forward pass, reused
}

func openNet(onnx []byte) (*net, error) {
	if len(onnx) == 0 {
		return nil, errors.New("empty model")
	}
	var cerr *C.char
	p := C.CBytes(onnx)
	defer C.free(p)
	n := C.joren_yunet_open(p, C.size_t(len(onnx)), &cerr)
	if n == nil {
		defer C.free(unsafe.Pointer(cerr))
		return nil, fmt.Errorf("OpenCV could not load it: %s", C.GoString(cerr))
	}
	return &net{n: n}, nil
}

// forward runs the network on im resized to w x h and padded to pw x ph,
// and returns its outputs (valid until the next call).
func (n *net) forward(im frame.Image, w, h, pw, ph int) (Outputs, error) {
	if n.n == nil {
		return Outputs{}, errors.New("detector closed")
	}
	if err := im.Check(); err != nil {
		return Outputs{}, err
	}
	o := Outputs{Width: pw, Height: ph}
	size := o.floats()
	if cap(n.out) < size {
		n.out = make([]float32, size)
	}
	n.out = n.out[:size]
	var cerr *C.char
	rc := C.joren_yunet_forward(n.n, (*C.uint8_t)(unsafe.Pointer(&im.Pix[0])), C.int(im.Rows), C.int(im.Cols), C.int(im.Step),
		C.int(w), C.int(h), C.int(pw), C.int(ph), (*C.float)(unsafe.Pointer(&n.out[0])), C.size_t(size), &cerr)
	runtime.KeepAlive(im.Pix)
	if rc != 0 {
		defer C.free(unsafe.Pointer(cerr))
		return Outputs{}, fmt.Errorf("running YuNet: %s", C.GoString(cerr))
	}
	o.split(n.out)
	return o, nil
}

func (n *net) close() {
	if n.n != nil {
		C.joren_yunet_close(n.n)
		n.n = nil
	}
}
