package models

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
)

// LayerKind is the kind of a computational layer of dlib's ResNet.
type LayerKind int

// The values match package dlib's C enum.
const (
	// Conv is a con_ layer: filters [out][in][h][w], then one bias per output.
	Conv LayerKind = 0
	// Affine is an affine_ layer in per-channel mode: gamma, then beta.
	Affine LayerKind = 1
	// FC is the final fc_no_bias layer, [inputs][outputs].
	FC LayerKind = 2
)

func (k LayerKind) String() string {
	switch k {
	case Conv:
		return "conv"
	case Affine:
		return "affine"
	case FC:
		return "fc"
	}
	return fmt.Sprintf("LayerKind(%d)", int(k))
}

// Layer is the parameters of one computational layer of dlib's ResNet, laid
// out as dlib stores them.
type Layer struct {
	Name   string
	Kind   LayerKind
	Values []float32
}

// The face-api files that hold dlib's ResNet.
const (
	FaceAPIManifest = "face_recognition_model-weights_manifest.json"
	FaceAPIWeights  = "face_recognition_model.bin"
)

// resNetUnits are face-api's names for the units of dlib's ResNet-29, from
// input to output. The first is a plain convolution with its scale; every
// other one is a residual unit of two.
var resNetUnits = []string{
	"conv32_down",
	"conv32_1", "conv32_2", "conv32_3",
	"conv64_down", "conv64_1", "conv64_2", "conv64_3",
	"conv128_down", "conv128_1", "conv128_2",
	"conv256_down", "conv256_1", "conv256_2",
	"conv256_down_out",
}

type weightSpec struct {
	Name         string `json:"name"`
	Shape        []int  `json:"shape"`
	Dtype        string `json:"dtype"`
	Quantization *struct {
		Dtype string  `json:"dtype"`
		Scale float64 `json:"scale"`
		Min   float64 `json:"min"`
	} `json:"quantization"`
}

type weightGroup struct {
	Paths   []string     `json:"paths"`
	Weights []weightSpec `json:"weights"`
}

type tensor struct {
	shape  []int
	values []float32
}

// FaceAPIResNet reads face-api's tfjs weights of dlib's face recognition
// network from fsys (the manifest and the shards it names) and returns the
// network's layers in dlib's layout, input to output.
//
// tfjs stores most tensors as uint8 with value = q*scale + min and some as
// plain float32, one after the other in the shards, so offsets advance by
// each tensor's own element size.
func FaceAPIResNet(fsys fs.FS) ([]Layer, error) {
	raw, err := fs.ReadFile(fsys, FaceAPIManifest)
	if err != nil {
		return nil, fmt.Errorf("reading face-api manifest: %w", err)
	}
	var groups []weightGroup
	if err := json.Unmarshal(raw, &groups); err != nil {
		return nil, fmt.Errorf("parsing face-api manifest %s: %w", FaceAPIManifest, err)
	}
	tensors := map[string]tensor{}
	for _, g := range groups {
		var data []byte
		for _, p := range g.Paths {
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return nil, fmt.Errorf("reading face-api weights: %w", err)
			}
			data = append(data, b...)
		}
		off := 0
		for _, w := range g.Weights {
			t, n, err := decodeTensor(w, data[off:])
			if err != nil {
				return nil, fmt.Errorf("face-api tensor %s at byte %d: %w", w.Name, off, err)
			}
			off += n
			tensors[w.Name] = t
		}
		if off != len(data) {
			return nil, fmt.Errorf("face-api weights %v: %d bytes left over after the last tensor", g.Paths, len(data)-off)
		}
	}

	var layers []Layer
	used := 0
	addConv := func(prefix string) error {
		filters, ok1 := tensors[prefix+"/conv/filters"]
		bias, ok2 := tensors[prefix+"/conv/bias"]
		gamma, ok3 := tensors[prefix+"/scale/weights"]
		beta, ok4 := tensors[prefix+"/scale/biases"]
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return fmt.Errorf("face-api weights lack one of %s/conv/{filters,bias}, %s/scale/{weights,biases}", prefix, prefix)
		}
		used += 4
		if len(filters.shape) != 4 {
			return fmt.Errorf("face-api tensor %s/conv/filters has shape %v, want [h w in out]", prefix, filters.shape)
		}
		out := filters.shape[3]
		for name, t := range map[string]tensor{"conv/bias": bias, "scale/weights": gamma, "scale/biases": beta} {
			if len(t.values) != out {
				return fmt.Errorf("face-api tensor %s/%s has %d values, want %d", prefix, name, len(t.values), out)
			}
		}
		conv := append(hwioToOIHW(filters), bias.values...)
		layers = append(layers,
			Layer{Name: prefix + "/conv", Kind: Conv, Values: conv},
			Layer{Name: prefix + "/scale", Kind: Affine, Values: append(append([]float32{}, gamma.values...), beta.values...)},
		)
		return nil
	}
	for i, unit := range resNetUnits {
		if i == 0 {
			if err := addConv(unit); err != nil {
				return nil, err
			}
			continue
		}
		for _, half := range []string{"/conv1", "/conv2"} {
			if err := addConv(unit + half); err != nil {
				return nil, err
			}
		}
	}
	fc, ok := tensors["fc"]
	if !ok {
		return nil, fmt.Errorf("face-api weights lack the fc tensor")
	}
	used++
	if len(fc.shape) != 2 {
		return nil, fmt.Errorf("face-api tensor fc has shape %v, want [inputs outputs]", fc.shape)
	}
	// dlib's fc_ multiplies [samples][inputs] by params [inputs][outputs]:
	// the same layout as tfjs.
	layers = append(layers, Layer{Name: "fc", Kind: FC, Values: fc.values})
	if used != len(tensors) {
		return nil, fmt.Errorf("face-api weights hold %d tensors, dlib's ResNet uses %d: not the face recognition model", len(tensors), used)
	}
	return layers, nil
}

// hwioToOIHW reorders tfjs filters [h][w][in][out] into dlib's [out][in][h][w].
func hwioToOIHW(t tensor) []float32 {
	h, w, in, out := t.shape[0], t.shape[1], t.shape[2], t.shape[3]
	dst := make([]float32, len(t.values))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for i := 0; i < in; i++ {
				for o := 0; o < out; o++ {
					dst[((o*in+i)*h+y)*w+x] = t.values[((y*w+x)*in+i)*out+o]
				}
			}
		}
	}
	return dst
}

func decodeTensor(w weightSpec, data []byte) (tensor, int, error) {
	n := 1
	for _, d := range w.Shape {
		if d <= 0 {
			return tensor{}, 0, fmt.Errorf("bad shape %v", w.Shape)
		}
		// Every value takes at least a byte: a count beyond the bytes left
		// is a truncated file, and checking before multiplying keeps n
		// from overflowing (or from asking make for terabytes).
		if d > len(data)/n {
			return tensor{}, 0, fmt.Errorf("shape %v needs more than the %d bytes left: weights file truncated", w.Shape, len(data))
		}
		n *= d
	}
	if w.Dtype != "float32" {
		return tensor{}, 0, fmt.Errorf("dtype %q, want float32", w.Dtype)
	}
	vals := make([]float32, n)
	if q := w.Quantization; q != nil {
		size := 0
		switch q.Dtype {
		case "uint8":
			size = 1
		case "uint16":
			size = 2
		default:
			return tensor{}, 0, fmt.Errorf("quantisation dtype %q, want uint8 or uint16", q.Dtype)
		}
		if len(data) < n*size {
			return tensor{}, 0, fmt.Errorf("needs %d bytes, %d left: weights file truncated", n*size, len(data))
		}
		for i := range vals {
			var v uint16
			if size == 1 {
				v = uint16(data[i])
			} else {
				v = binary.LittleEndian.Uint16(data[2*i:])
			}
			// The explicit conversion rounds the product before the
			// addition: without it Go may fuse them (arm64 does), and
			// the converted model would differ between machines.
			vals[i] = float32(float64(float64(v)*q.Scale) + q.Min)
		}
		return tensor{shape: w.Shape, values: vals}, n * size, nil
	}
	if len(data) < 4*n {
		return tensor{}, 0, fmt.Errorf("needs %d bytes, %d left: weights file truncated", 4*n, len(data))
	}
	for i := range vals {
		vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return tensor{shape: w.Shape, values: vals}, 4 * n, nil
}
