package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ResNetONNXFile is dlib's ResNet converted for OpenCV's DNN module
// (ResNetONNX), beside the .dat file it was converted from.
const ResNetONNXFile = "dlib_face_recognition_resnet_model_v1.onnx"

// The ONNX graph's input and output names, and its metadata keys naming the
// file it was converted from.
const (
	ResNetONNXInput     = "chip"
	ResNetONNXOutput    = "descriptor"
	MetaSource          = "joren.source"
	MetaSourceSHA256    = "joren.source_sha256"
	resNetONNXOpset     = 11
	resNetONNXIRVersion = 6
)

// ResNetChip is the side of the face chip dlib's ResNet takes.
const ResNetChip = 150

// resNetUnit is one residual unit: n filters, in input channels, the
// stride of its first convolution.
type resNetUnit struct{ n, in, stride int }

// resNetUnitsShape lists the 14 residual units of dlib's ResNet, input to
// output (nets.h: alevel4 .. alevel0).
var resNetUnitsShape = []resNetUnit{
	{32, 32, 1}, {32, 32, 1}, {32, 32, 1},
	{64, 32, 2}, {64, 64, 1}, {64, 64, 1}, {64, 64, 1},
	{128, 64, 2}, {128, 128, 1}, {128, 128, 1},
	{256, 128, 2}, {256, 256, 1}, {256, 256, 1},
	{256, 256, 2},
}

// ResNetONNX writes dlib's ResNet as an ONNX graph (opset 11) that OpenCV
// 4.6's DNN module runs: input "chip", 1x3x150x150 float RGB values 0-255
// (dlib's 150-pixel face chip as it is), output "descriptor", 1x128: dlib's
// descriptor.
//
// The graph computes what dlib computes: the input means are subtracted and
// the result divided by 256 (dlib's input_rgb_image_sized), each affine
// layer is folded into the convolution before it (w*g, b*g+beta: the same
// function, rounded differently in the last bit), and where dlib adds two
// tensors of different sizes in a downsampling unit (add_prev_ pads the
// smaller with zeros at the end of each dimension: more channels on the
// shortcut, one more row and column on the last two units' pooled side),
// the graph pads explicitly. The bytes depend only on p and sourceSHA256:
// the same weights always give the same file.
func ResNetONNX(p ResNetParams, sourceSHA256 string) ([]byte, error) {
	if err := checkResNetParams(p); err != nil {
		return nil, err
	}
	g := &onnxBuilder{}
	next := 0
	layer := func() Layer { l := p.Layers[next]; next++; return l }

	mean := make([]float32, 3)
	copy(mean, p.Mean[:])
	g.init("mean", []int64{1, 3, 1, 1}, mean)
	g.init("scale", []int64{1}, []float32{1.0 / 256})
	x := g.node("Sub", []string{ResNetONNXInput, "mean"}, nil)
	x = g.node("Mul", []string{x, "scale"}, nil)

	// conv folds the next conv and affine layers into one Conv node.
	conv := func(in string, n, cin, size, stride int) string {
		c, a := layer(), layer()
		w, b := foldAffine(c.Values, a.Values, n)
		id := len(g.inits)
		wn, bn := fmt.Sprintf("w%d", id), fmt.Sprintf("b%d", id)
		g.init(wn, []int64{int64(n), int64(cin), int64(size), int64(size)}, w)
		g.init(bn, []int64{int64(n)}, b)
		pad := int64(0)
		if stride == 1 {
			pad = int64(size / 2)
		}
		return g.node("Conv", []string{in, wn, bn}, []attr{
			ints("kernel_shape", int64(size), int64(size)),
			ints("strides", int64(stride), int64(stride)),
			ints("pads", pad, pad, pad, pad),
		})
	}
	relu := func(in string) string { return g.node("Relu", []string{in}, nil) }
	pad := func(in string, c, hw int64) string {
		name := fmt.Sprintf("pads%d", len(g.inits))
		g.initInt64(name, []int64{0, 0, 0, 0, 0, c, hw, hw})
		return g.node("Pad", []string{in, name}, nil)
	}

	side := int64(ResNetChip)
	x = relu(conv(x, 32, 3, 7, 2))
	side = (side-7)/2 + 1
	x = g.node("MaxPool", []string{x}, []attr{ints("kernel_shape", 3, 3), ints("strides", 2, 2)})
	side = (side-3)/2 + 1
	for _, u := range resNetUnitsShape {
		y := relu(conv(x, u.n, u.in, 3, u.stride))
		y = conv(y, u.n, u.n, 3, 1)
		short := x
		if u.stride != 1 {
			short = g.node("AveragePool", []string{x}, []attr{ints("kernel_shape", 2, 2), ints("strides", 2, 2)})
			pooled, conved := (side-2)/2+1, (side-3)/2+1
			side = pooled
			if u.n > u.in {
				short = pad(short, int64(u.n-u.in), 0)
			}
			if conved < pooled {
				y = pad(y, 0, pooled-conved)
			}
		}
		x = relu(g.node("Add", []string{y, short}, nil))
	}
	x = g.node("GlobalAveragePool", []string{x}, nil)
	x = g.node("Flatten", []string{x}, []attr{intAttr("axis", 1)})
	fc := layer()
	g.init("fc", []int64{256, 128}, fc.Values)
	g.nodes = append(g.nodes, nodeProto("MatMul", "fc", []string{x, "fc"}, []string{ResNetONNXOutput}, nil))

	return g.model(
		"dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1), converted by joren. "+
			"Input: dlib's 150x150 face chip, RGB, values 0-255. Output: dlib's 128-D descriptor.",
		[]int64{1, 3, ResNetChip, ResNetChip}, []int64{1, 128},
		[][2]string{{MetaSource, ResNetFile}, {MetaSourceSHA256, sourceSHA256}},
	), nil
}

// checkResNetParams checks that p has every layer of dlib's ResNet, in
// order, each of the right size, and no value that is not a number.
func checkResNetParams(p ResNetParams) error {
	type want struct {
		kind LayerKind
		size int
	}
	var ws []want
	conv := func(n, cin, size int) {
		ws = append(ws, want{Conv, n*cin*size*size + n}, want{Affine, 2 * n})
	}
	conv(32, 3, 7)
	for _, u := range resNetUnitsShape {
		conv(u.n, u.in, 3)
		conv(u.n, u.n, 3)
	}
	ws = append(ws, want{FC, 256 * 128})
	if len(p.Layers) != len(ws) {
		return fmt.Errorf("dlib ResNet: %d layers, want %d", len(p.Layers), len(ws))
	}
	for i, w := range ws {
		l := p.Layers[i]
		if l.Kind != w.kind || len(l.Values) != w.size {
			return fmt.Errorf("dlib ResNet layer %d (%s): %s with %d values, want %s with %d", i, l.Name, l.Kind, len(l.Values), w.kind, w.size)
		}
		for j, v := range l.Values {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("dlib ResNet layer %d (%s): value %d is %v", i, l.Name, j, v)
			}
		}
	}
	for c, m := range p.Mean {
		if !(m >= 0 && m <= 255) {
			return fmt.Errorf("dlib ResNet: input mean %d is %v, want 0-255", c, m)
		}
	}
	return nil
}

// foldAffine returns the weights and biases of a convolution followed by a
// per-channel affine layer (gamma, then beta) as one convolution.
func foldAffine(conv, affine []float32, n int) (w, b []float32) {
	per := (len(conv) - n) / n
	w = make([]float32, len(conv)-n)
	b = make([]float32, n)
	for o := range n {
		g := affine[o]
		for i := range per {
			w[o*per+i] = conv[o*per+i] * g
		}
		// The explicit conversion keeps Go from fusing the multiply and
		// add (arm64 would), so every machine writes the same file.
		b[o] = float32(conv[len(conv)-n+o]*g) + affine[n+o]
	}
	return w, b
}

// onnxBuilder assembles an ONNX ModelProto with protowire, field by field
// in a fixed order, so that the output is deterministic.
type onnxBuilder struct {
	nodes [][]byte
	inits [][]byte
}

type attr []byte

func ints(name string, v ...int64) attr {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	for _, x := range v {
		b = protowire.AppendTag(b, 8, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(x))
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, 7) // INTS
}

func intAttr(name string, v int64) attr {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(v))
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, 2) // INT
}

// node appends a node whose single output is named after it, and returns
// that name.
func (g *onnxBuilder) node(op string, inputs []string, attrs []attr) string {
	name := fmt.Sprintf("n%d", len(g.nodes))
	g.nodes = append(g.nodes, nodeProto(op, name, inputs, []string{name}, attrs))
	return name
}

func nodeProto(op, name string, inputs, outputs []string, attrs []attr) []byte {
	var b []byte
	for _, in := range inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, in)
	}
	for _, out := range outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, out)
	}
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendString(b, op)
	for _, a := range attrs {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, a)
	}
	return b
}

func (g *onnxBuilder) init(name string, dims []int64, vals []float32) {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	g.inits = append(g.inits, tensorProto(name, dims, 1, raw))
}

func (g *onnxBuilder) initInt64(name string, vals []int64) {
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	g.inits = append(g.inits, tensorProto(name, []int64{int64(len(vals))}, 7, raw))
}

// tensorProto is a TensorProto of data type dt (1 float, 7 int64) with
// its values as little-endian raw data.
func tensorProto(name string, dims []int64, dt int, raw []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(dt))
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

// valueInfo is a ValueInfoProto of a float tensor of fixed shape.
func valueInfo(name string, dims []int64) []byte {
	var shape []byte
	for _, d := range dims {
		var dim []byte
		dim = protowire.AppendTag(dim, 1, protowire.VarintType)
		dim = protowire.AppendVarint(dim, uint64(d))
		shape = protowire.AppendTag(shape, 1, protowire.BytesType)
		shape = protowire.AppendBytes(shape, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, 1) // FLOAT
	tt = protowire.AppendTag(tt, 2, protowire.BytesType)
	tt = protowire.AppendBytes(tt, shape)
	var typ []byte
	typ = protowire.AppendTag(typ, 1, protowire.BytesType)
	typ = protowire.AppendBytes(typ, tt)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, typ)
}

func (g *onnxBuilder) model(doc string, in, out []int64, meta [][2]string) []byte {
	var graph []byte
	for _, n := range g.nodes {
		graph = protowire.AppendTag(graph, 1, protowire.BytesType)
		graph = protowire.AppendBytes(graph, n)
	}
	graph = protowire.AppendTag(graph, 2, protowire.BytesType)
	graph = protowire.AppendString(graph, "dlib_resnet_v1")
	for _, t := range g.inits {
		graph = protowire.AppendTag(graph, 5, protowire.BytesType)
		graph = protowire.AppendBytes(graph, t)
	}
	graph = protowire.AppendTag(graph, 11, protowire.BytesType)
	graph = protowire.AppendBytes(graph, valueInfo(ResNetONNXInput, in))
	graph = protowire.AppendTag(graph, 12, protowire.BytesType)
	graph = protowire.AppendBytes(graph, valueInfo(ResNetONNXOutput, out))

	var opset []byte
	opset = protowire.AppendTag(opset, 1, protowire.BytesType)
	opset = protowire.AppendString(opset, "")
	opset = protowire.AppendTag(opset, 2, protowire.VarintType)
	opset = protowire.AppendVarint(opset, resNetONNXOpset)

	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, resNetONNXIRVersion)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "joren")
	b = protowire.AppendTag(b, 6, protowire.BytesType)
	b = protowire.AppendString(b, doc)
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	b = protowire.AppendBytes(b, graph)
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendBytes(b, opset)
	for _, kv := range meta {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, kv[0])
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendString(e, kv[1])
		b = protowire.AppendTag(b, 14, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}

// errNoSource says an ONNX file does not name the ResNet file it came from.
var errNoSource = errors.New("the ONNX file does not name the dlib file it was converted from")
