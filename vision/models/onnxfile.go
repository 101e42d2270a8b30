package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CheckONNXFile checks that data is structurally an ONNX model: a
// protocol-buffer ModelProto whose graph has nodes and outputs. OpenCV
// aborts the whole process (an uncaught C++ exception through gocv) on a
// file it cannot parse, so nothing reaches it without this check.
func CheckONNXFile(data []byte) error {
	fields, err := protoFields(data)
	if err != nil {
		return fmt.Errorf("not an ONNX model: %w", err)
	}
	graph, ok := fields[7] // ModelProto.graph
	if !ok {
		return errors.New("not an ONNX model: no graph")
	}
	g, err := protoFields(graph)
	if err != nil {
		return fmt.Errorf("not an ONNX model: graph: %w", err)
	}
	if _, ok := g[1]; !ok { // GraphProto.node
		return errors.New("not an ONNX model: the graph has no nodes")
	}
	if _, ok := g[12]; !ok { // GraphProto.output
		return errors.New("not an ONNX model: the graph has no outputs")
	}
	return nil
}

// protoFields walks one protocol-buffer message and returns the last
// length-delimited value of each field number, failing on anything that is
// not well-formed wire format (a truncated file, text, another format).
func protoFields(b []byte) (map[uint64][]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	f, err := protoAll(b)
	if err != nil {
		return nil, err
	}
	out := make(map[uint64][]byte, len(f.bytes))
	for k, v := range f.bytes {
		out[k] = v[len(v)-1]
	}
	return out, nil
}

// Tensor is a graph input or output as the file declares it.
type Tensor struct {
	Name string
	// Dims are the sizes of its dimensions, -1 where the file leaves one
	// open (a symbolic batch size).
	Dims []int64
}

// String is the tensor's shape as "1x3x112x112", "?" for an open size.
func (t Tensor) String() string {
	var b strings.Builder
	for i, d := range t.Dims {
		if i > 0 {
			b.WriteByte('x')
		}
		if d < 0 {
			b.WriteByte('?')
		} else {
			b.WriteString(strconv.FormatInt(d, 10))
		}
	}
	return b.String()
}

// ONNXInterface reads the inputs (weights listed as inputs by old
// exporters left out) and outputs a well-formed ONNX model declares.
func ONNXInterface(data []byte) (inputs, outputs []Tensor, err error) {
	if err := CheckONNXFile(data); err != nil {
		return nil, nil, err
	}
	model, err := protoAll(data)
	if err != nil {
		return nil, nil, err
	}
	graphs := model.bytes[7]
	g, err := protoAll(graphs[len(graphs)-1])
	if err != nil {
		return nil, nil, fmt.Errorf("not an ONNX model: graph: %w", err)
	}
	weights := map[string]bool{}
	for _, init := range g.bytes[5] { // GraphProto.initializer
		f, err := protoAll(init)
		if err != nil {
			return nil, nil, fmt.Errorf("not an ONNX model: initializer: %w", err)
		}
		if n := f.bytes[8]; len(n) > 0 { // TensorProto.name
			weights[string(n[len(n)-1])] = true
		}
	}
	read := func(infos [][]byte) ([]Tensor, error) {
		var out []Tensor
		for _, vi := range infos {
			t, err := tensorOf(vi)
			if err != nil {
				return nil, fmt.Errorf("not an ONNX model: %w", err)
			}
			if !weights[t.Name] {
				out = append(out, t)
			}
		}
		return out, nil
	}
	if inputs, err = read(g.bytes[11]); err != nil { // GraphProto.input
		return nil, nil, err
	}
	if outputs, err = read(g.bytes[12]); err != nil { // GraphProto.output
		return nil, nil, err
	}
	return inputs, outputs, nil
}

// tensorOf reads a ValueInfoProto: name 1, type 2 -> TypeProto tensor_type
// 1 -> shape 2 -> TensorShapeProto dim 1 -> dim_value 1 (or dim_param 2).
func tensorOf(vi []byte) (Tensor, error) {
	f, err := protoAll(vi)
	if err != nil {
		return Tensor{}, fmt.Errorf("value info: %w", err)
	}
	var t Tensor
	if n := f.bytes[1]; len(n) > 0 {
		t.Name = string(n[len(n)-1])
	}
	path := []uint64{2, 1, 2} // type, tensor_type, shape
	cur := f
	for _, field := range path {
		v := cur.bytes[field]
		if len(v) == 0 {
			return t, nil // no declared shape
		}
		if cur, err = protoAll(v[len(v)-1]); err != nil {
			return Tensor{}, fmt.Errorf("%s's shape: %w", t.Name, err)
		}
	}
	for _, dim := range cur.bytes[1] {
		d, err := protoAll(dim)
		if err != nil {
			return Tensor{}, fmt.Errorf("%s's shape: %w", t.Name, err)
		}
		size := int64(-1)
		if v := d.varints[1]; len(v) > 0 && int64(v[len(v)-1]) > 0 {
			size = int64(v[len(v)-1])
		}
		t.Dims = append(t.Dims, size)
	}
	return t, nil
}

// fields are a protocol-buffer message's values by field number.
type fields struct {
	bytes   map[uint64][][]byte
	varints map[uint64][]uint64
}

// protoAll walks one protocol-buffer message, keeping every value of
// repeated fields, and fails on anything that is not well-formed wire
// format (a truncated file, text, another format).
func protoAll(b []byte) (fields, error) {
	f := fields{bytes: map[uint64][][]byte{}, varints: map[uint64][]uint64{}}
	for off := 0; off < len(b); {
		key, n := binary.Uvarint(b[off:])
		if n <= 0 {
			return f, fmt.Errorf("bad field key at byte %d", off)
		}
		off += n
		field, wire := key>>3, key&7
		if field == 0 {
			return f, fmt.Errorf("field number 0 at byte %d", off)
		}
		switch wire {
		case 0:
			v, n := binary.Uvarint(b[off:])
			if n <= 0 {
				return f, fmt.Errorf("truncated number at byte %d", off)
			}
			f.varints[field] = append(f.varints[field], v)
			off += n
		case 1:
			off += 8
		case 5:
			off += 4
		case 2:
			l, n := binary.Uvarint(b[off:])
			if n <= 0 {
				return f, fmt.Errorf("truncated length at byte %d", off)
			}
			off += n
			if l > uint64(len(b)-off) {
				return f, fmt.Errorf("field %d at byte %d claims %d bytes, %d left (truncated file?)", field, off, l, len(b)-off)
			}
			f.bytes[field] = append(f.bytes[field], b[off:off+int(l)])
			off += int(l)
		default:
			return f, fmt.Errorf("wire type %d at byte %d", wire, off)
		}
		if off > len(b) {
			return f, errors.New("truncated")
		}
	}
	return f, nil
}

// CheckFaceNetwork checks what an ONNX file declares against the settings
// of a face embedder, before OpenCV sees it: one image input of 3 x
// Size x Size (open sizes pass), and one output whose fixed sizes, batch
// left out, make a plausible descriptor (32 to 4096 values).
func CheckFaceNetwork(data []byte, s ONNX) error {
	inputs, outputs, err := ONNXInterface(data)
	if err != nil {
		return err
	}
	if len(inputs) != 1 {
		return fmt.Errorf("the network has %d inputs, want one face image", len(inputs))
	}
	in := inputs[0]
	if len(in.Dims) != 0 {
		if len(in.Dims) != 4 {
			return fmt.Errorf("the network's input %q is %s, not an image batch (N x 3 x H x W)", in.Name, in)
		}
		c, h, w := in.Dims[1], in.Dims[2], in.Dims[3]
		if c >= 0 && c != 3 {
			return fmt.Errorf("the network's input %q is %s: %d channels, want 3 (colour)", in.Name, in, c)
		}
		if (h >= 0 && h != int64(s.Size)) || (w >= 0 && w != int64(s.Size)) {
			return fmt.Errorf("the network's input %q is %s: it wants %s faces, not --size %d", in.Name, in, Tensor{Dims: in.Dims[2:]}, s.Size)
		}
	}
	if len(outputs) != 1 {
		return fmt.Errorf("the network has %d outputs, want one descriptor", len(outputs))
	}
	out := outputs[0]
	if len(out.Dims) > 1 {
		n := int64(1)
		for _, d := range out.Dims[1:] {
			if d < 0 {
				return nil // open: the probe measures it
			}
			n *= d
		}
		if n < MinDescriptor || n > MaxDescriptor {
			return fmt.Errorf("the network's output %q is %s: %d values is not a face descriptor (want %d-%d)", out.Name, out, n, MinDescriptor, MaxDescriptor)
		}
	}
	return nil
}

// Bounds on a face descriptor's length (dlib's is 128, ArcFace's 512).
const (
	MinDescriptor = 32
	MaxDescriptor = 4096
)
