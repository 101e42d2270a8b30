package models

import (
	"fmt"
	"slices"
	"sort"
)

// MACs is the arithmetic of one forward pass of a network, counted from its
// graph and input shape: multiply-adds of convolutions and matrix
// products, and the elements the other operators write.
type MACs struct {
	// Total is every multiply-add; ByOp splits it by operator.
	Total int64
	ByOp  map[string]int64
	// Elementwise counts the elements written by every other operator
	// (activations, pooling, additions, resizing, reshaping): memory
	// traffic rather than arithmetic.
	Elementwise int64
	// Params is the number of weights the multiply-adds read.
	Params int64
	// Outputs are the shapes of the graph's outputs.
	Outputs map[string][]int64
}

func (m MACs) String() string {
	ops := make([]string, 0, len(m.ByOp))
	for op := range m.ByOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	s := fmt.Sprintf("%.1f M multiply-adds (", float64(m.Total)/1e6)
	for i, op := range ops {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %.1f M", op, float64(m.ByOp[op])/1e6)
	}
	return s + fmt.Sprintf("), %.2f M weights, %.1f M other elements", float64(m.Params)/1e6, float64(m.Elementwise)/1e6)
}

// CountMACs infers the shape of every tensor of g from the shapes of its
// inputs (name to dimensions; an input not given keeps the graph's fixed
// shape) and counts the multiply-adds. It knows the operators of the
// networks the project runs (dlib's ResNet as converted, YuNet, ArcFace
// MobileFaceNets); any other operator is an error naming it.
func CountMACs(g *ONNXGraph, inputs map[string][]int64) (MACs, error) {
	m := MACs{ByOp: map[string]int64{}, Outputs: map[string][]int64{}}
	shapes := map[string][]int64{}
	for name, t := range g.Inits {
		shapes[name] = t.Dims
	}
	for _, in := range g.Inputs {
		d, ok := inputs[in.Name]
		if !ok {
			d = in.Dims
		}
		if slices.Contains(d, -1) || len(d) == 0 {
			return m, fmt.Errorf("input %q has no fixed shape (%v): give one", in.Name, in.Dims)
		}
		shapes[in.Name] = d
	}
	for i, n := range g.Nodes {
		in := make([][]int64, len(n.Inputs))
		for j, name := range n.Inputs {
			if name == "" {
				continue
			}
			s, ok := shapes[name]
			if !ok {
				return m, fmt.Errorf("node %d (%s %s): input %q is not computed before it", i, n.Op, n.Name, name)
			}
			in[j] = s
		}
		out, macs, params, err := inferNode(g, n, in)
		if err != nil {
			return m, fmt.Errorf("node %d (%s %s): %w", i, n.Op, n.Name, err)
		}
		if len(n.Outputs) == 0 {
			return m, fmt.Errorf("node %d (%s %s) has no output", i, n.Op, n.Name)
		}
		shapes[n.Outputs[0]] = out
		if macs > 0 {
			m.ByOp[n.Op] += macs
			m.Total += macs
			m.Params += params
		} else {
			m.Elementwise += count(out)
		}
	}
	for _, o := range g.Outputs {
		s, ok := shapes[o.Name]
		if !ok {
			return m, fmt.Errorf("output %q is never computed", o.Name)
		}
		m.Outputs[o.Name] = s
	}
	return m, nil
}

func count(d []int64) int64 {
	n := int64(1)
	for _, x := range d {
		n *= x
	}
	return n
}

func attrInts(n ONNXNode, name string, def ...int64) []int64 {
	if v, ok := n.Ints[name]; ok {
		return v
	}
	return def
}

// maxDim bounds every inferred dimension: a shape beyond it is a damaged
// graph or a wrong input shape, and would overflow the counts.
const maxDim = 1 << 24

// inferNode returns the output shape of one node and its multiply-adds.
func inferNode(g *ONNXGraph, n ONNXNode, in [][]int64) (out []int64, macs, params int64, err error) {
	need := func(k, rank int) error {
		if len(in) < k+1 || in[k] == nil {
			return fmt.Errorf("input %d missing", k)
		}
		if rank > 0 && len(in[k]) != rank {
			return fmt.Errorf("input %d has shape %v, want rank %d", k, in[k], rank)
		}
		return nil
	}
	if err := need(0, 0); err != nil {
		return nil, 0, 0, err
	}
	x := in[0]
	check := func(d []int64) ([]int64, int64, int64, error) {
		for _, v := range d {
			if v < 0 || v > maxDim {
				return nil, 0, 0, fmt.Errorf("inferred shape %v out of range", d)
			}
		}
		return d, macs, params, nil
	}
	switch n.Op {
	case "Relu", "PRelu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "BatchNormalization", "Identity", "Dropout", "Softmax", "Exp", "Sqrt", "Neg", "Abs":
		return check(slices.Clone(x))
	case "Add", "Sub", "Mul", "Div", "Max", "Min", "Pow":
		out = slices.Clone(x)
		for _, y := range in[1:] {
			if out, err = broadcast(out, y); err != nil {
				return nil, 0, 0, err
			}
		}
		return check(out)
	case "Conv":
		if err := need(0, 4); err != nil {
			return nil, 0, 0, err
		}
		if err := need(1, 4); err != nil {
			return nil, 0, 0, err
		}
		w := in[1]
		group := attrInts(n, "group", 1)[0]
		if group < 1 || x[1] != w[1]*group || w[0]%group != 0 {
			return nil, 0, 0, fmt.Errorf("input %v, weights %v, group %d do not fit", x, w, group)
		}
		k := []int64{w[2], w[3]}
		hw, err := window(n, x[2:], k)
		if err != nil {
			return nil, 0, 0, err
		}
		out = []int64{x[0], w[0], hw[0], hw[1]}
		macs = count(out) * w[1] * w[2] * w[3]
		params = count(w)
		return check(out)
	case "MaxPool", "AveragePool":
		if err := need(0, 4); err != nil {
			return nil, 0, 0, err
		}
		k := attrInts(n, "kernel_shape")
		if len(k) != 2 {
			return nil, 0, 0, fmt.Errorf("kernel_shape %v", k)
		}
		hw, err := window(n, x[2:], k)
		if err != nil {
			return nil, 0, 0, err
		}
		return check([]int64{x[0], x[1], hw[0], hw[1]})
	case "GlobalAveragePool", "GlobalMaxPool":
		if err := need(0, 4); err != nil {
			return nil, 0, 0, err
		}
		return check([]int64{x[0], x[1], 1, 1})
	case "Flatten":
		axis := attrInts(n, "axis", 1)[0]
		if axis < 0 {
			axis += int64(len(x))
		}
		if axis < 0 || axis > int64(len(x)) {
			return nil, 0, 0, fmt.Errorf("axis %d of a rank-%d tensor", axis, len(x))
		}
		return check([]int64{count(x[:axis]), count(x[axis:])})
	case "Gemm", "MatMul":
		if err := need(1, 2); err != nil {
			return nil, 0, 0, err
		}
		a, b := slices.Clone(x), slices.Clone(in[1])
		if len(a) < 2 {
			return nil, 0, 0, fmt.Errorf("input 0 has shape %v", a)
		}
		if n.Op == "Gemm" {
			if attrInts(n, "transA", 0)[0] != 0 {
				a[0], a[1] = a[1], a[0]
			}
			if attrInts(n, "transB", 0)[0] != 0 {
				b[0], b[1] = b[1], b[0]
			}
		}
		rows := count(a[:len(a)-1])
		if a[len(a)-1] != b[0] {
			return nil, 0, 0, fmt.Errorf("shapes %v and %v do not multiply", a, b)
		}
		out = append(slices.Clone(a[:len(a)-1]), b[1])
		macs = rows * b[0] * b[1]
		params = count(in[1])
		return check(out)
	case "Pad":
		var pads []int64
		if len(in) > 1 && n.Inputs[1] != "" {
			t, ok := g.Inits[n.Inputs[1]]
			if !ok {
				return nil, 0, 0, fmt.Errorf("pads %q are not a constant", n.Inputs[1])
			}
			pads = t.Int64
		} else {
			pads = attrInts(n, "pads")
		}
		if len(pads) != 2*len(x) {
			return nil, 0, 0, fmt.Errorf("%d pads for a rank-%d tensor", len(pads), len(x))
		}
		out = slices.Clone(x)
		for i := range out {
			out[i] += pads[i] + pads[len(x)+i]
		}
		return check(out)
	case "Concat":
		axis := attrInts(n, "axis", 0)[0]
		if axis < 0 {
			axis += int64(len(x))
		}
		if axis < 0 || axis >= int64(len(x)) {
			return nil, 0, 0, fmt.Errorf("axis %d of a rank-%d tensor", axis, len(x))
		}
		out = slices.Clone(x)
		for _, y := range in[1:] {
			if len(y) != len(x) {
				return nil, 0, 0, fmt.Errorf("concatenating shapes %v and %v", x, y)
			}
			out[axis] += y[axis]
		}
		return check(out)
	case "Reshape":
		if len(n.Inputs) < 2 {
			return nil, 0, 0, fmt.Errorf("no shape")
		}
		t, ok := g.Inits[n.Inputs[1]]
		if !ok {
			return nil, 0, 0, fmt.Errorf("shape %q is not a constant", n.Inputs[1])
		}
		return reshape(x, t.Int64)
	case "Transpose":
		perm := attrInts(n, "perm")
		if perm == nil {
			for i := len(x) - 1; i >= 0; i-- {
				perm = append(perm, int64(i))
			}
		}
		if len(perm) != len(x) {
			return nil, 0, 0, fmt.Errorf("perm %v for a rank-%d tensor", perm, len(x))
		}
		out = make([]int64, len(x))
		for i, p := range perm {
			if p < 0 || p >= int64(len(x)) {
				return nil, 0, 0, fmt.Errorf("perm %v", perm)
			}
			out[i] = x[p]
		}
		return check(out)
	case "Resize", "Upsample":
		return resize(g, n, x)
	}
	return nil, 0, 0, fmt.Errorf("operator %s not known to the counter", n.Op)
}

// window is the output size of a convolution or pooling window over the
// spatial dimensions hw with kernel k, from the node's strides, pads,
// dilations, auto_pad and ceil_mode.
func window(n ONNXNode, hw, k []int64) ([]int64, error) {
	strides := attrInts(n, "strides", 1, 1)
	pads := attrInts(n, "pads", 0, 0, 0, 0)
	dil := attrInts(n, "dilations", 1, 1)
	if len(strides) != 2 || len(pads) != 4 || len(dil) != 2 || len(k) != 2 {
		return nil, fmt.Errorf("strides %v, pads %v, dilations %v, kernel %v: want 2-D", strides, pads, dil, k)
	}
	ceil := attrInts(n, "ceil_mode", 0)[0] != 0
	auto := n.Strings["auto_pad"]
	out := make([]int64, 2)
	for i := range 2 {
		if strides[i] < 1 || dil[i] < 1 || k[i] < 1 || k[i] > maxDim || dil[i] > maxDim {
			return nil, fmt.Errorf("stride %d, dilation %d, kernel %d", strides[i], dil[i], k[i])
		}
		if auto == "SAME_UPPER" || auto == "SAME_LOWER" {
			out[i] = (hw[i] + strides[i] - 1) / strides[i]
			continue
		}
		span := dil[i]*(k[i]-1) + 1
		size := hw[i] + pads[i] + pads[i+2] - span
		if size < 0 {
			return nil, fmt.Errorf("kernel %d larger than the padded input %d", span, hw[i]+pads[i]+pads[i+2])
		}
		if ceil {
			out[i] = (size+strides[i]-1)/strides[i] + 1
		} else {
			out[i] = size/strides[i] + 1
		}
	}
	return out, nil
}

// broadcast is numpy's broadcasting of two shapes.
func broadcast(a, b []int64) ([]int64, error) {
	out := make([]int64, max(len(a), len(b)))
	for i := range out {
		x, y := int64(1), int64(1)
		if j := len(a) - len(out) + i; j >= 0 {
			x = a[j]
		}
		if j := len(b) - len(out) + i; j >= 0 {
			y = b[j]
		}
		switch {
		case x == y || y == 1:
			out[i] = x
		case x == 1:
			out[i] = y
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func reshape(x, shape []int64) ([]int64, int64, int64, error) {
	out := slices.Clone(shape)
	known, infer := int64(1), -1
	for i, d := range out {
		switch {
		case d == 0 && i < len(x):
			out[i] = x[i]
		case d == -1 && infer < 0:
			infer = i
			continue
		case d < 1 || d > maxDim:
			return nil, 0, 0, fmt.Errorf("shape %v", shape)
		}
		known *= out[i]
	}
	total := count(x)
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, 0, 0, fmt.Errorf("cannot reshape %v to %v", x, shape)
		}
		out[infer] = total / known
	}
	if count(out) != total {
		return nil, 0, 0, fmt.Errorf("cannot reshape %v to %v", x, shape)
	}
	return out, 0, 0, nil
}

func resize(g *ONNXGraph, n ONNXNode, x []int64) ([]int64, int64, int64, error) {
	// Opset 11+: X, roi, scales, sizes; Upsample and opset 10: X, scales.
	const scalesIdx, sizesIdx = 2, 3
	if len(n.Inputs) > sizesIdx && n.Inputs[sizesIdx] != "" {
		t, ok := g.Inits[n.Inputs[sizesIdx]]
		if !ok || len(t.Int64) != len(x) {
			return nil, 0, 0, fmt.Errorf("sizes %q are not a constant of rank %d", n.Inputs[sizesIdx], len(x))
		}
		return slices.Clone(t.Int64), 0, 0, nil
	}
	si := scalesIdx
	if n.Op == "Upsample" || len(n.Inputs) == 2 {
		si = 1
	}
	if len(n.Inputs) <= si {
		return nil, 0, 0, fmt.Errorf("no scales or sizes")
	}
	t, ok := g.Inits[n.Inputs[si]]
	if !ok || len(t.Float) != len(x) {
		return nil, 0, 0, fmt.Errorf("scales %q are not a constant of rank %d", n.Inputs[si], len(x))
	}
	out := make([]int64, len(x))
	for i, s := range t.Float {
		if !(s > 0 && s < maxDim) {
			return nil, 0, 0, fmt.Errorf("scale %v", s)
		}
		out[i] = int64(float64(x[i]) * float64(s))
		if out[i] > maxDim {
			return nil, 0, 0, fmt.Errorf("resized shape out of range")
		}
	}
	return out, 0, 0, nil
}
