package models

import (
	"fmt"
	"math"
)

// ResNetParams is dlib's face recognition ResNet as its .dat file holds it:
// the input layer's channel means and the 59 computational layers, input to
// output, in the layout of Layer (the same as FaceAPIResNet returns).
type ResNetParams struct {
	// Mean is what dlib's input layer subtracts from the red, green and blue
	// values (0-255) before dividing them by 256.
	Mean   [3]float32
	Layers []Layer
}

// DlibInputMean is the per-channel mean of dlib's input_rgb_image_sized: the
// means a ResNet file written by dlib from converted weights records.
var DlibInputMean = [3]float32{122.782, 117.001, 104.298}

// ReadResNet parses a dlib_face_recognition_resnet_model_v1.dat file: dlib's
// own serialisation of the network (nets.h in package dlib), which it
// reads without dlib. Every layer's type, version, shape and stride is
// checked against the network, every size against the bytes left, so a
// damaged or different file is refused with an error naming the byte and
// the layer, before anything is allocated for it.
//
// It accepts what dlib 19.24 accepts for these layers: con_4 and con_5,
// affine_, affine_2 and batch normalisation (bn_con2, folded into an affine
// layer as dlib does), fc_2 and fc_3, add_layer versions 1 to 3.
func ReadResNet(data []byte) (ResNetParams, error) {
	p := &datParser{r: datReader{b: data}, nodes: resNetNodes()}
	if err := p.parse(); err != nil {
		return ResNetParams{}, err
	}
	return p.out, nil
}

// nodeKind is one kind of dlib network component.
type nodeKind int

const (
	nodeConv nodeKind = iota
	nodeAffine
	nodeRelu
	nodeMaxPool
	nodeAvgPool
	nodeAddPrev
	nodeTag
	nodeSkip
	nodeFC
)

// dnnNode is one component of dlib's ResNet as its type spells it.
type dnnNode struct {
	kind nodeKind
	// conv: filters, input channels, kernel side, stride; affine and fc:
	// channels (n); pools: window side (0: the whole input) and stride; tag,
	// skip and add_prev: the tag's number (id).
	n, in, size, stride, id int
}

func (n dnnNode) String() string {
	switch n.kind {
	case nodeConv:
		return fmt.Sprintf("con_ %d %dx%d/%d", n.n, n.size, n.size, n.stride)
	case nodeAffine:
		return fmt.Sprintf("affine_ %d", n.n)
	case nodeRelu:
		return "relu_"
	case nodeMaxPool:
		return fmt.Sprintf("max_pool_ %dx%d/%d", n.size, n.size, n.stride)
	case nodeAvgPool:
		return fmt.Sprintf("avg_pool_ %dx%d/%d", n.size, n.size, n.stride)
	case nodeAddPrev:
		return fmt.Sprintf("add_prev%d", n.id)
	case nodeTag:
		return fmt.Sprintf("tag%d", n.id)
	case nodeSkip:
		return fmt.Sprintf("skip%d", n.id)
	case nodeFC:
		return fmt.Sprintf("fc_ %d", n.n)
	}
	return "?"
}

// resNetNodes spells anet_type (package dlib's nets.h) from the output to
// the input, the order in which dlib serialises it.
func resNetNodes() []dnnNode {
	var ns []dnnNode
	add := func(n ...dnnNode) { ns = append(ns, n...) }
	conv := func(n, in, size, stride int) dnnNode {
		return dnnNode{kind: nodeConv, n: n, in: in, size: size, stride: stride}
	}
	affine := func(n int) dnnNode { return dnnNode{kind: nodeAffine, n: n} }
	relu := dnnNode{kind: nodeRelu}
	// block: BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>
	block := func(n, in, stride int) {
		add(affine(n), conv(n, n, 3, 1), relu, affine(n), conv(n, in, 3, stride))
	}
	// ares: relu<add_prev1<block<N,BN,1,tag1<SUBNET>>>>
	ares := func(n int) {
		add(relu, dnnNode{kind: nodeAddPrev, id: 1})
		block(n, n, 1)
		add(dnnNode{kind: nodeTag, id: 1})
	}
	// ares_down: relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,BN,2,tag1<SUBNET>>>>>>>
	aresDown := func(n, in int) {
		add(relu, dnnNode{kind: nodeAddPrev, id: 2}, dnnNode{kind: nodeAvgPool, size: 2, stride: 2},
			dnnNode{kind: nodeSkip, id: 1}, dnnNode{kind: nodeTag, id: 2})
		block(n, in, 2)
		add(dnnNode{kind: nodeTag, id: 1})
	}
	// fc_no_bias<128,avg_pool_everything<...>>
	add(dnnNode{kind: nodeFC, n: 128, in: 256}, dnnNode{kind: nodeAvgPool, size: 0, stride: 1})
	aresDown(256, 256) // alevel0
	ares(256)          // alevel1
	ares(256)
	aresDown(256, 128)
	ares(128) // alevel2
	ares(128)
	aresDown(128, 64)
	ares(64) // alevel3
	ares(64)
	ares(64)
	aresDown(64, 32)
	ares(32) // alevel4
	ares(32)
	ares(32)
	add(dnnNode{kind: nodeMaxPool, size: 3, stride: 2}, relu, affine(32), conv(32, 3, 7, 2))
	return ns
}

// datParser walks the file in dlib's order: each add_layer writes its
// version, then its whole subnetwork, then its own layer, so the layers'
// details come input first.
type datParser struct {
	r     datReader
	nodes []dnnNode
	out   ResNetParams
}

func (p *datParser) parse() error {
	if err := p.r.expectInt("add_loss_layer version", 1, 1); err != nil {
		return err
	}
	name, err := p.r.str("loss layer")
	if err != nil {
		return err
	}
	switch name {
	case "loss_metric_":
	case "loss_metric_2":
		// margin and distance threshold: training settings.
		for _, what := range []string{"loss margin", "loss distance threshold"} {
			if _, err := p.r.float(what); err != nil {
				return err
			}
		}
	default:
		return p.r.errorf("loss layer is %q, want loss_metric_: not dlib's face recognition network", name)
	}
	if err := p.node(0); err != nil {
		return err
	}
	if left := len(p.r.b) - p.r.off; left != 0 {
		return fmt.Errorf("%d bytes after the network's last layer: not dlib's face recognition network", left)
	}
	return nil
}

// node reads component i and everything under it.
func (p *datParser) node(i int) error {
	n := p.nodes[i]
	where := func(err error) error {
		return fmt.Errorf("component %d from the output (%s): %w", i, n, err)
	}
	if n.kind == nodeTag || n.kind == nodeSkip {
		if err := p.r.expectInt("version", 1, 1); err != nil {
			return where(err)
		}
		return p.node(i + 1)
	}
	innermost := i == len(p.nodes)-1
	lo, hi := int64(1), int64(2)
	if innermost {
		lo, hi = 2, 3
	}
	version, err := p.r.int("add_layer version")
	if err != nil {
		return where(err)
	}
	if version < lo || version > hi {
		return where(p.r.errorf("add_layer version %d, want %d-%d", version, lo, hi))
	}
	if innermost {
		if err := p.input(); err != nil {
			return where(err)
		}
	} else if err := p.node(i + 1); err != nil {
		return err
	}
	if err := p.details(n); err != nil {
		return where(err)
	}
	for _, what := range []string{"setup flag", "gradient flag", "output flag"} {
		if _, err := p.r.bool(what); err != nil {
			return where(err)
		}
	}
	grads := []string{"x_grad", "cached_output"}
	if innermost {
		grads = append(grads, "grad_final")
	} else if version == 2 {
		grads = append(grads, "params_grad")
	}
	for _, what := range grads {
		if _, err := p.r.tensor(what, -1); err != nil {
			return where(err)
		}
	}
	if innermost && version == 3 {
		if _, err := p.r.int("sample expansion factor"); err != nil {
			return where(err)
		}
	}
	return nil
}

func (p *datParser) input() error {
	name, err := p.r.str("input layer")
	if err != nil {
		return err
	}
	if name != "input_rgb_image_sized" {
		return p.r.errorf("input layer is %q, want input_rgb_image_sized", name)
	}
	for c, what := range []string{"red mean", "green mean", "blue mean"} {
		v, err := p.r.float(what)
		if err != nil {
			return err
		}
		if math.IsNaN(v) || v < 0 || v > 255 {
			return p.r.errorf("input %s %v, want 0-255", what, v)
		}
		p.out.Mean[c] = float32(v)
	}
	for _, what := range []string{"input rows", "input columns"} {
		if err := p.r.expectInt(what, 150, 150); err != nil {
			return err
		}
	}
	return nil
}

func (p *datParser) details(n dnnNode) error {
	switch n.kind {
	case nodeConv:
		return p.conv(n)
	case nodeAffine:
		return p.affine(n)
	case nodeFC:
		return p.fc(n)
	case nodeRelu:
		return p.r.expectStr("relu_")
	case nodeAddPrev:
		return p.r.expectStr("add_prev_")
	case nodeMaxPool, nodeAvgPool:
		name := "max_pool_2"
		if n.kind == nodeAvgPool {
			name = "avg_pool_2"
		}
		if err := p.r.expectStr(name); err != nil {
			return err
		}
		return p.window(n)
	}
	return fmt.Errorf("no details for %s", n)
}

// window reads the rows, columns, strides and paddings of a convolution or
// pooling window: dlib pads by half the window where the stride is 1, not
// at all elsewhere.
func (p *datParser) window(n dnnNode) error {
	pad := 0
	if n.stride == 1 {
		pad = n.size / 2
	}
	for _, f := range []struct {
		what string
		want int
	}{{"rows", n.size}, {"columns", n.size}, {"row stride", n.stride}, {"column stride", n.stride}, {"row padding", pad}, {"column padding", pad}} {
		if err := p.r.expectInt(f.what, int64(f.want), int64(f.want)); err != nil {
			return err
		}
	}
	return nil
}

func (p *datParser) conv(n dnnNode) error {
	name, err := p.r.str("layer name")
	if err != nil {
		return err
	}
	if name != "con_4" && name != "con_5" {
		return p.r.errorf("layer is %q, want con_4 or con_5", name)
	}
	nf := n.n * n.in * n.size * n.size
	params, err := p.r.tensor("parameters", -1)
	if err != nil {
		return err
	}
	if err := p.r.expectInt("filters", int64(n.n), int64(n.n)); err != nil {
		return err
	}
	if err := p.window(n); err != nil {
		return err
	}
	if err := p.r.expectAlias("filter shape", [4]int64{int64(n.n), int64(n.in), int64(n.size), int64(n.size)}); err != nil {
		return err
	}
	if _, err := p.r.alias("bias shape"); err != nil {
		return err
	}
	if err := p.multipliers(); err != nil {
		return err
	}
	useBias := true
	if name == "con_5" {
		if useBias, err = p.r.bool("use_bias"); err != nil {
			return err
		}
	}
	vals := make([]float32, nf+n.n)
	switch {
	case useBias && len(params) == nf+n.n:
		copy(vals, params)
	case !useBias && len(params) == nf:
		copy(vals, params) // biases stay zero
	default:
		return p.r.errorf("%d parameters, want %d (%d filters of %dx%dx%d, bias %v)", len(params), nf+n.n, n.n, n.in, n.size, n.size, useBias)
	}
	p.out.Layers = append(p.out.Layers, Layer{Name: fmt.Sprintf("conv%d", len(p.out.Layers)), Kind: Conv, Values: vals})
	return nil
}

// multipliers skips the four training-rate doubles every layer with
// parameters stores.
func (p *datParser) multipliers() error {
	for _, what := range []string{"learning rate multiplier", "weight decay multiplier", "bias learning rate multiplier", "bias weight decay multiplier"} {
		if _, err := p.r.float(what); err != nil {
			return err
		}
	}
	return nil
}

func (p *datParser) affine(n dnnNode) error {
	name, err := p.r.str("layer name")
	if err != nil {
		return err
	}
	vals := make([]float32, 2*n.n)
	switch name {
	case "affine_", "affine_2":
		params, err := p.gammaBeta(n.n, -1)
		if err != nil {
			return err
		}
		if err := p.r.expectInt("mode", 0, 0); err != nil { // CONV_MODE
			return err
		}
		disabled := false
		if name == "affine_2" {
			if disabled, err = p.r.bool("disabled"); err != nil {
				return err
			}
		}
		switch {
		case disabled:
			for i := range n.n {
				vals[i] = 1 // identity: gamma 1, beta 0
			}
		case len(params) == 2*n.n:
			copy(vals, params)
		default:
			return p.r.errorf("%d parameters, want %d", len(params), 2*n.n)
		}
	case "bn_con2":
		if err := p.batchNorm(n.n, vals); err != nil {
			return err
		}
	default:
		return p.r.errorf("layer is %q, want affine_, affine_2 or bn_con2", name)
	}
	p.out.Layers = append(p.out.Layers, Layer{Name: fmt.Sprintf("affine%d", len(p.out.Layers)), Kind: Affine, Values: vals})
	return nil
}

// gammaBeta reads the parameters of a per-channel layer of c channels (want
// of them, or any number if want < 0) and the shapes of its gamma and beta.
func (p *datParser) gammaBeta(c, want int) ([]float32, error) {
	params, err := p.r.tensor("parameters", want)
	if err != nil {
		return nil, err
	}
	shape := [4]int64{1, int64(c), 1, 1}
	for _, what := range []string{"gamma shape", "beta shape"} {
		if err := p.r.expectAlias(what, shape); err != nil {
			return nil, err
		}
	}
	return params, nil
}

// batchNorm reads a bn_con2 layer into gamma and beta as dlib's affine_
// constructor folds it: g = gamma/sqrt(var+eps), b = beta - g*mean.
func (p *datParser) batchNorm(c int, vals []float32) error {
	params, err := p.gammaBeta(c, 2*c)
	if err != nil {
		return err
	}
	for _, what := range []string{"batch means", "batch inverse deviations"} {
		if _, err := p.r.tensor(what, -1); err != nil {
			return err
		}
	}
	means, err := p.r.tensor("running means", c)
	if err != nil {
		return err
	}
	vars, err := p.r.tensor("running variances", c)
	if err != nil {
		return err
	}
	for _, what := range []string{"update count", "running window"} {
		if _, err := p.r.int(what); err != nil {
			return err
		}
	}
	if err := p.multipliers(); err != nil {
		return err
	}
	eps, err := p.r.float("epsilon")
	if err != nil {
		return err
	}
	for i := range c {
		v := float64(vars[i]) + eps
		if !(v > 0) || math.IsInf(v, 0) {
			return p.r.errorf("running variance %d is %v: not a trained network", i, vars[i])
		}
		g := float32(float64(params[i]) / math.Sqrt(v))
		vals[i] = g
		// The conversion keeps Go from fusing the multiply and subtract
		// (arm64 would): every machine must write the same file.
		vals[c+i] = params[c+i] - float32(g*means[i])
	}
	return nil
}

func (p *datParser) fc(n dnnNode) error {
	name, err := p.r.str("layer name")
	if err != nil {
		return err
	}
	if name != "fc_2" && name != "fc_3" {
		return p.r.errorf("layer is %q, want fc_2 or fc_3", name)
	}
	if err := p.r.expectInt("outputs", int64(n.n), int64(n.n)); err != nil {
		return err
	}
	if err := p.r.expectInt("inputs", int64(n.in), int64(n.in)); err != nil {
		return err
	}
	params, err := p.r.tensor("parameters", n.in*n.n)
	if err != nil {
		return err
	}
	if err := p.r.expectAlias("weight shape", [4]int64{int64(n.in), int64(n.n), 1, 1}); err != nil {
		return err
	}
	if _, err := p.r.alias("bias shape"); err != nil {
		return err
	}
	if err := p.r.expectInt("bias mode", 1, 1); err != nil { // FC_NO_BIAS
		return err
	}
	if err := p.multipliers(); err != nil {
		return err
	}
	if name == "fc_3" {
		if _, err := p.r.bool("use_bias"); err != nil {
			return err
		}
	}
	p.out.Layers = append(p.out.Layers, Layer{Name: "fc", Kind: FC, Values: params})
	return nil
}
