package models

import (
	"encoding/binary"
	"errors"
	"fmt"
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
	out := map[uint64][]byte{}
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	for off := 0; off < len(b); {
		key, n := binary.Uvarint(b[off:])
		if n <= 0 {
			return nil, fmt.Errorf("bad field key at byte %d", off)
		}
		off += n
		field, wire := key>>3, key&7
		if field == 0 {
			return nil, fmt.Errorf("field number 0 at byte %d", off)
		}
		switch wire {
		case 0: // varint
			_, n := binary.Uvarint(b[off:])
			if n <= 0 {
				return nil, fmt.Errorf("truncated number at byte %d", off)
			}
			off += n
		case 1: // 64-bit
			off += 8
		case 5: // 32-bit
			off += 4
		case 2: // length-delimited
			l, n := binary.Uvarint(b[off:])
			if n <= 0 {
				return nil, fmt.Errorf("truncated length at byte %d", off)
			}
			off += n
			if l > uint64(len(b)-off) {
				return nil, fmt.Errorf("field %d at byte %d claims %d bytes, %d left (truncated file?)", field, off, l, len(b)-off)
			}
			out[field] = b[off : off+int(l)]
			off += int(l)
		default:
			return nil, fmt.Errorf("wire type %d at byte %d", wire, off)
		}
		if off > len(b) {
			return nil, errors.New("truncated")
		}
	}
	return out, nil
}
