package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNXGraph is what ParseONNX reads of an ONNX model: enough to check a
// converted file and to count a network's multiply-adds (CountMACs).
type ONNXGraph struct {
	Opset   int64
	Nodes   []ONNXNode
	Inits   map[string]ONNXTensor
	Inputs  []ONNXValue // graph inputs that are not initializers
	Outputs []ONNXValue
	Meta    map[string]string
}

// ONNXNode is one operator.
type ONNXNode struct {
	Op, Name        string
	Inputs, Outputs []string
	Ints            map[string][]int64
	Floats          map[string][]float32
	Strings         map[string]string
}

// ONNXTensor is an initializer: its shape and, for float and int64
// tensors, its values.
type ONNXTensor struct {
	Dims   []int64
	Type   int64 // 1 float, 7 int64 (ONNX TensorProto.DataType)
	Float  []float32
	Int64  []int64
	values int64
}

// ONNXValue is a graph input or output; a symbolic dimension is -1.
type ONNXValue struct {
	Name string
	Dims []int64
}

// maxONNXValues bounds the values of one tensor ParseONNX accepts (1 GB of
// float32): more is a damaged file, not a face network.
const maxONNXValues = 1 << 28

// ParseONNX reads an ONNX ModelProto. Malformed wire format, sizes that do
// not match the data, and shapes beyond reason are errors naming the part
// of the file; nothing is allocated on a length the file has not backed
// with bytes.
func ParseONNX(data []byte) (*ONNXGraph, error) {
	g := &ONNXGraph{Inits: map[string]ONNXTensor{}, Meta: map[string]string{}}
	var graph []byte
	err := walkProto(data, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 7 && typ == protowire.BytesType:
			graph = v
		case num == 8 && typ == protowire.BytesType:
			return walkProto(v, func(n protowire.Number, t protowire.Type, vv []byte, xx uint64) error {
				if n == 2 && t == protowire.VarintType {
					g.Opset = max(g.Opset, int64(xx))
				}
				return nil
			})
		case num == 14 && typ == protowire.BytesType:
			var k, val string
			if err := walkProto(v, func(n protowire.Number, t protowire.Type, vv []byte, _ uint64) error {
				if n == 1 && t == protowire.BytesType {
					k = string(vv)
				}
				if n == 2 && t == protowire.BytesType {
					val = string(vv)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("metadata: %w", err)
			}
			g.Meta[k] = val
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("not an ONNX model: %w", err)
	}
	if graph == nil {
		return nil, errors.New("not an ONNX model: no graph")
	}
	var inputs []ONNXValue
	err = walkProto(graph, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			n, err := parseNode(v)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 5:
			name, t, err := parseTensor(v)
			if err != nil {
				return fmt.Errorf("initializer %d %q: %w", len(g.Inits), name, err)
			}
			g.Inits[name] = t
		case 11, 12:
			val, err := parseValueInfo(v)
			if err != nil {
				return fmt.Errorf("graph input or output: %w", err)
			}
			if num == 11 {
				inputs = append(inputs, val)
			} else {
				g.Outputs = append(g.Outputs, val)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ONNX graph: %w", err)
	}
	for _, in := range inputs {
		if _, ok := g.Inits[in.Name]; !ok {
			g.Inputs = append(g.Inputs, in)
		}
	}
	if len(g.Nodes) == 0 || len(g.Outputs) == 0 {
		return nil, errors.New("ONNX graph: no nodes or no outputs")
	}
	return g, nil
}

// walkProto calls f for every field of one message; f gets the bytes of
// length-delimited fields and the value of numeric ones (fixed32 and
// fixed64 as their bits).
func walkProto(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return fmt.Errorf("byte %d: %w", off, protowire.ParseError(n))
		}
		off += n
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b[off:])
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b[off:])
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(b[off:])
			x = uint64(v32)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b[off:])
		default:
			n = protowire.ConsumeFieldValue(num, typ, b[off:])
		}
		if n < 0 {
			return fmt.Errorf("byte %d, field %d: %w", off, num, protowire.ParseError(n))
		}
		off += n
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func parseNode(b []byte) (ONNXNode, error) {
	n := ONNXNode{Ints: map[string][]int64{}, Floats: map[string][]float32{}, Strings: map[string]string{}}
	err := walkProto(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			n.Inputs = append(n.Inputs, string(v))
		case 2:
			n.Outputs = append(n.Outputs, string(v))
		case 3:
			n.Name = string(v)
		case 4:
			n.Op = string(v)
		case 5:
			return parseAttr(v, &n)
		}
		return nil
	})
	return n, err
}

func parseAttr(b []byte, n *ONNXNode) error {
	var (
		name   string
		is     []int64
		fs     []float32
		s      string
		hasStr bool
	)
	err := walkProto(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			name = string(v)
		case (num == 2 || num == 7) && typ == protowire.Fixed32Type: // f, unpacked floats
			fs = append(fs, math.Float32frombits(uint32(x)))
		case num == 3 && typ == protowire.VarintType:
			is = append(is, int64(x))
		case num == 4 && typ == protowire.BytesType:
			s, hasStr = string(v), true
		case num == 8 && typ == protowire.VarintType:
			is = append(is, int64(x))
		case num == 8 && typ == protowire.BytesType: // packed ints
			for len(v) > 0 {
				x, n := protowire.ConsumeVarint(v)
				if n < 0 {
					return errors.New("attribute: bad packed integers")
				}
				is = append(is, int64(x))
				v = v[n:]
			}
		case num == 7 && typ == protowire.BytesType: // packed floats
			if len(v)%4 != 0 {
				return errors.New("attribute: bad packed floats")
			}
			for i := 0; i < len(v); i += 4 {
				fs = append(fs, math.Float32frombits(binary.LittleEndian.Uint32(v[i:])))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if is != nil {
		n.Ints[name] = is
	}
	if fs != nil {
		n.Floats[name] = fs
	}
	if hasStr {
		n.Strings[name] = s
	}
	return nil
}

func parseTensor(b []byte) (string, ONNXTensor, error) {
	var (
		name             string
		t                ONNXTensor
		raw, fdata, idat []byte
		hasRaw, hasF     bool
		unpackedF        []float32
		unpackedI        []int64
	)
	err := walkProto(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			t.Dims = append(t.Dims, int64(x))
		case num == 1 && typ == protowire.BytesType:
			for len(v) > 0 {
				x, n := protowire.ConsumeVarint(v)
				if n < 0 {
					return errors.New("bad packed dimensions")
				}
				t.Dims = append(t.Dims, int64(x))
				v = v[n:]
			}
		case num == 2 && typ == protowire.VarintType:
			t.Type = int64(x)
		case num == 4 && typ == protowire.BytesType:
			fdata, hasF = v, true
		case num == 4 && typ == protowire.Fixed32Type:
			unpackedF = append(unpackedF, math.Float32frombits(uint32(x)))
		case num == 7 && typ == protowire.BytesType:
			idat = v
		case num == 7 && typ == protowire.VarintType:
			unpackedI = append(unpackedI, int64(x))
		case num == 8 && typ == protowire.BytesType:
			name = string(v)
		case num == 9 && typ == protowire.BytesType:
			raw, hasRaw = v, true
		}
		return nil
	})
	if err != nil {
		return name, t, err
	}
	t.values = 1
	for _, d := range t.Dims {
		if d < 0 || (d > 0 && t.values > maxONNXValues/d) {
			return name, t, fmt.Errorf("shape %v out of range", t.Dims)
		}
		t.values *= d
	}
	switch t.Type {
	case 1: // float
		packed, ok := raw, hasRaw
		if !ok {
			packed, ok = fdata, hasF
		}
		switch {
		case ok:
			if int64(len(packed)) != 4*t.values {
				return name, t, fmt.Errorf("%d bytes of data for shape %v (%d floats)", len(packed), t.Dims, t.values)
			}
			t.Float = make([]float32, t.values)
			for i := range t.Float {
				t.Float[i] = math.Float32frombits(binary.LittleEndian.Uint32(packed[4*i:]))
			}
		case int64(len(unpackedF)) == t.values:
			t.Float = unpackedF
		}
	case 7: // int64
		switch {
		case hasRaw:
			if int64(len(raw)) != 8*t.values {
				return name, t, fmt.Errorf("%d bytes of data for shape %v (%d int64)", len(raw), t.Dims, t.values)
			}
			t.Int64 = make([]int64, t.values)
			for i := range t.Int64 {
				t.Int64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		case idat != nil:
			for v := idat; len(v) > 0; {
				x, n := protowire.ConsumeVarint(v)
				if n < 0 {
					return name, t, errors.New("bad packed int64 data")
				}
				t.Int64 = append(t.Int64, int64(x))
				v = v[n:]
			}
		default:
			t.Int64 = unpackedI
		}
		if int64(len(t.Int64)) != t.values && !(len(t.Int64) == 0 && t.values == 0) {
			return name, t, fmt.Errorf("%d int64 values for shape %v", len(t.Int64), t.Dims)
		}
	}
	return name, t, nil
}

func parseValueInfo(b []byte) (ONNXValue, error) {
	var v ONNXValue
	err := walkProto(b, func(num protowire.Number, typ protowire.Type, bb []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			v.Name = string(bb)
		case 2: // TypeProto
			return walkProto(bb, func(n protowire.Number, t protowire.Type, tt []byte, _ uint64) error {
				if n != 1 || t != protowire.BytesType { // tensor_type
					return nil
				}
				return walkProto(tt, func(n protowire.Number, t protowire.Type, shape []byte, _ uint64) error {
					if n != 2 || t != protowire.BytesType { // shape
						return nil
					}
					return walkProto(shape, func(n protowire.Number, t protowire.Type, dim []byte, _ uint64) error {
						if n != 1 || t != protowire.BytesType {
							return nil
						}
						d := int64(-1)
						err := walkProto(dim, func(n protowire.Number, t protowire.Type, _ []byte, x uint64) error {
							if n == 1 && t == protowire.VarintType {
								d = int64(x)
							}
							return nil
						})
						v.Dims = append(v.Dims, d)
						return err
					})
				})
			})
		}
		return nil
	})
	return v, err
}
