package models_test

import (
	"encoding/binary"
	"fmt"
	"math"

	"joren/vision/models"
)

// A writer of dlib's serialisation of the face recognition ResNet, spelt
// from dlib's headers independently of ReadResNet: it makes the synthetic
// files the reader is tested on (older layer versions, damage) and stands in
// for package dlib's writer (cgo) in Build's tests.

// datVariant chooses the versions written, to exercise every branch dlib
// 19.24 reads.
type datVariant struct {
	con, affine, fc, loss string
	layerVersion          int // add_layer: 1 or 2
	inputLayerVersion     int // add_layer over the input: 2 or 3
	convNoBias            bool
}

// dlibVariant is what dlib 19.24 writes.
var dlibVariant = datVariant{con: "con_5", affine: "affine_2", fc: "fc_3", loss: "loss_metric_2", layerVersion: 2, inputLayerVersion: 3}

type datWriter struct{ b []byte }

func (w *datWriter) int(v int64) {
	neg := byte(0)
	u := uint64(v)
	if v < 0 {
		neg, u = 0x80, uint64(-v)
	}
	var buf []byte
	for {
		buf = append(buf, byte(u))
		u >>= 8
		if u == 0 {
			break
		}
	}
	w.b = append(w.b, byte(len(buf))|neg)
	w.b = append(w.b, buf...)
}

func (w *datWriter) str(s string) {
	w.int(int64(len(s)))
	w.b = append(w.b, s...)
}

func (w *datWriter) bool(v bool) {
	if v {
		w.b = append(w.b, '1')
	} else {
		w.b = append(w.b, '0')
	}
}

// float writes dlib's float_details of v with digits bits of mantissa (24
// for float, 53 for double), as dlib does.
func (w *datWriter) float(v float64, digits int) {
	frac, exp := math.Frexp(v)
	m := int64(frac * float64(uint64(1)<<digits))
	e := exp - digits
	for i := 0; i < 8 && m&0xff == 0; i++ {
		m >>= 8
		e += 8
	}
	w.int(m)
	w.int(int64(e))
}

func (w *datWriter) tensor(vals []float32, dims [4]int64) {
	w.int(2)
	for _, d := range dims {
		w.int(d)
	}
	for _, v := range vals {
		w.b = binary.LittleEndian.AppendUint32(w.b, math.Float32bits(v))
	}
}

func (w *datWriter) empty() { w.tensor(nil, [4]int64{}) }

func (w *datWriter) alias(dims [4]int64) {
	w.int(1)
	for _, d := range dims {
		w.int(d)
	}
}

func (w *datWriter) multipliers() {
	for _, m := range []float64{1, 1, 1, 0} {
		w.float(m, 53)
	}
}

// comp is one component, outermost first; layer components carry the
// parameters they write.
type comp struct {
	kind   string // con, affine, relu, max_pool, avg_pool, add_prev, tag, skip, fc
	n, in  int
	size   int
	stride int
	id     int
	vals   []float32
}

func resNetComps(p models.ResNetParams) ([]comp, error) {
	if len(p.Layers) != 59 {
		return nil, fmt.Errorf("%d layers, want 59", len(p.Layers))
	}
	// Layers are input to output; components are written output first, so
	// take layers from the end.
	next := len(p.Layers)
	take := func() []float32 { next--; return p.Layers[next].Values }
	var cs []comp
	add := func(c ...comp) { cs = append(cs, c...) }
	block := func(n, in, stride int) {
		add(comp{kind: "affine", n: n, vals: take()}, comp{kind: "con", n: n, in: n, size: 3, stride: 1, vals: take()},
			comp{kind: "relu"}, comp{kind: "affine", n: n, vals: take()}, comp{kind: "con", n: n, in: in, size: 3, stride: stride, vals: take()})
	}
	ares := func(n int) {
		add(comp{kind: "relu"}, comp{kind: "add_prev", id: 1})
		block(n, n, 1)
		add(comp{kind: "tag", id: 1})
	}
	down := func(n, in int) {
		add(comp{kind: "relu"}, comp{kind: "add_prev", id: 2}, comp{kind: "avg_pool", size: 2, stride: 2}, comp{kind: "skip", id: 1}, comp{kind: "tag", id: 2})
		block(n, in, 2)
		add(comp{kind: "tag", id: 1})
	}
	add(comp{kind: "fc", n: 128, in: 256, vals: take()}, comp{kind: "avg_pool", size: 0, stride: 1})
	down(256, 256)
	ares(256)
	ares(256)
	down(256, 128)
	ares(128)
	ares(128)
	down(128, 64)
	ares(64)
	ares(64)
	ares(64)
	down(64, 32)
	ares(32)
	ares(32)
	ares(32)
	add(comp{kind: "max_pool", size: 3, stride: 2}, comp{kind: "relu"}, comp{kind: "affine", n: 32, vals: take()},
		comp{kind: "con", n: 32, in: 3, size: 7, stride: 2, vals: take()})
	if next != 0 {
		return nil, fmt.Errorf("%d layers left over", next)
	}
	return cs, nil
}

// encodeResNet writes p as dlib serialises anet_type after clean().
func encodeResNet(p models.ResNetParams, v datVariant) ([]byte, error) {
	cs, err := resNetComps(p)
	if err != nil {
		return nil, err
	}
	w := &datWriter{}
	w.int(1) // add_loss_layer
	w.str(v.loss)
	if v.loss == "loss_metric_2" {
		w.float(float64(float32(0.04)), 24)
		w.float(float64(float32(0.6)), 24)
	}
	var rec func(i int)
	rec = func(i int) {
		c := cs[i]
		if c.kind == "tag" || c.kind == "skip" {
			w.int(1)
			rec(i + 1)
			return
		}
		last := i == len(cs)-1
		if last {
			w.int(int64(v.inputLayerVersion))
			w.str("input_rgb_image_sized")
			for _, m := range p.Mean {
				w.float(float64(m), 24)
			}
			w.int(150)
			w.int(150)
		} else {
			w.int(int64(v.layerVersion))
			rec(i + 1)
		}
		w.details(c, v)
		w.bool(true) // setup called
		w.bool(true) // gradient input stale (clean sets it)
		// A layer that computes in place (relu_, affine_) disables its
		// subnetwork's output and gradient getters.
		w.bool(i > 0 && (cs[i-1].kind == "relu" || cs[i-1].kind == "affine"))
		w.empty() // x_grad
		w.empty() // cached_output
		if last {
			w.empty() // grad_final
			if v.inputLayerVersion == 3 {
				w.int(1) // sample expansion factor
			}
		} else if v.layerVersion == 2 {
			w.empty() // params_grad
		}
	}
	rec(0)
	return w.b, nil
}

func (w *datWriter) details(c comp, v datVariant) {
	pad := func() int64 {
		if c.stride == 1 {
			return int64(c.size / 2)
		}
		return 0
	}
	switch c.kind {
	case "relu":
		w.str("relu_")
	case "add_prev":
		w.str("add_prev_")
	case "max_pool", "avg_pool":
		w.str(c.kind + "_2")
		for _, x := range []int64{int64(c.size), int64(c.size), int64(c.stride), int64(c.stride), pad(), pad()} {
			w.int(x)
		}
	case "con":
		w.str(v.con)
		vals := c.vals
		if v.convNoBias {
			vals = vals[:len(vals)-c.n]
		}
		w.tensor(vals, [4]int64{int64(len(vals)), 1, 1, 1})
		for _, x := range []int64{int64(c.n), int64(c.size), int64(c.size), int64(c.stride), int64(c.stride), pad(), pad()} {
			w.int(x)
		}
		w.alias([4]int64{int64(c.n), int64(c.in), int64(c.size), int64(c.size)})
		w.alias([4]int64{1, int64(c.n), 1, 1})
		w.multipliers()
		if v.con == "con_5" {
			w.bool(!v.convNoBias)
		}
	case "affine":
		if v.affine == "bn_con2" {
			w.batchNorm(c)
			return
		}
		w.str(v.affine)
		w.tensor(c.vals, [4]int64{int64(len(c.vals)), 1, 1, 1})
		w.alias([4]int64{1, int64(c.n), 1, 1})
		w.alias([4]int64{1, int64(c.n), 1, 1})
		w.int(0) // CONV_MODE
		if v.affine == "affine_2" {
			w.bool(false)
		}
	case "fc":
		w.str(v.fc)
		w.int(int64(c.n))
		w.int(int64(c.in))
		w.tensor(c.vals, [4]int64{int64(c.in), int64(c.n), 1, 1})
		w.alias([4]int64{int64(c.in), int64(c.n), 1, 1})
		w.alias([4]int64{})
		w.int(1) // FC_NO_BIAS
		w.multipliers()
		if v.fc == "fc_3" {
			w.bool(true)
		}
	default:
		panic("unknown component " + c.kind)
	}
}

// batchNorm writes an affine layer's gamma and beta as a batch
// normalisation with running mean 0.5 and variance 4 - eps, which dlib folds
// back into gamma/2 and beta - gamma/4 (exact in binary).
func (w *datWriter) batchNorm(c comp) {
	const eps = 1.0 / 1024
	w.str("bn_con2")
	w.tensor(c.vals, [4]int64{int64(len(c.vals)), 1, 1, 1})
	w.alias([4]int64{1, int64(c.n), 1, 1})
	w.alias([4]int64{1, int64(c.n), 1, 1})
	w.empty() // means
	w.empty() // invstds
	means := make([]float32, c.n)
	vars := make([]float32, c.n)
	for i := range means {
		means[i], vars[i] = 0.5, 4-eps
	}
	w.tensor(means, [4]int64{1, int64(c.n), 1, 1})
	w.tensor(vars, [4]int64{1, int64(c.n), 1, 1})
	w.int(1000) // updates
	w.int(1000) // window
	w.multipliers()
	w.float(eps, 53)
}
