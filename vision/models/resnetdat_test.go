package models_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"joren/internal/testenv"
	"joren/vision/models"
)

// syntheticResNet is a ResNet with the right shapes and pseudo-random
// weights: a stand-in for dlib's real file in tests that must not depend on
// it.
func syntheticResNet(seed uint64) models.ResNetParams {
	rng := rand.New(rand.NewPCG(seed, 7))
	vals := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = (rng.Float32()*2 - 1) * scale
		}
		return v
	}
	var layers []models.Layer
	conv := func(n, in, size int) {
		scale := float32(1 / math.Sqrt(float64(in*size*size)))
		layers = append(layers, models.Layer{Name: "conv", Kind: models.Conv, Values: vals(n*in*size*size+n, scale)})
	}
	affine := func(n int) {
		v := vals(2*n, 0.1)
		for i := range n {
			v[i] += 1
		}
		layers = append(layers, models.Layer{Name: "affine", Kind: models.Affine, Values: v})
	}
	conv(32, 3, 7)
	affine(32)
	in := 32
	for _, u := range []struct{ n, count int }{{32, 3}, {64, 4}, {128, 3}, {256, 3}, {256, 1}} {
		for range u.count {
			conv(u.n, in, 3)
			affine(u.n)
			conv(u.n, u.n, 3)
			affine(u.n)
			in = u.n
		}
	}
	layers = append(layers, models.Layer{Name: "fc", Kind: models.FC, Values: vals(256*128, 0.1)})
	return models.ResNetParams{Mean: models.DlibInputMean, Layers: layers}
}

var (
	synthOnce sync.Once
	synthDat  []byte
)

// syntheticDat is syntheticResNet(1) as dlib 19.24 would write it.
func syntheticDat(t testing.TB) []byte {
	t.Helper()
	synthOnce.Do(func() {
		b, err := encodeResNet(syntheticResNet(1), dlibVariant)
		if err != nil {
			panic(err)
		}
		synthDat = b
	})
	return synthDat
}

// sameParams reports the first difference between two networks' parameters.
func sameParams(t *testing.T, got, want models.ResNetParams) {
	t.Helper()
	if got.Mean != want.Mean {
		t.Errorf("input means %v, want %v", got.Mean, want.Mean)
	}
	if len(got.Layers) != len(want.Layers) {
		t.Fatalf("%d layers, want %d", len(got.Layers), len(want.Layers))
	}
	for i := range got.Layers {
		g, w := got.Layers[i], want.Layers[i]
		if g.Kind != w.Kind || len(g.Values) != len(w.Values) {
			t.Fatalf("layer %d: %s with %d values, want %s with %d", i, g.Kind, len(g.Values), w.Kind, len(w.Values))
		}
		for j := range g.Values {
			if math.Float32bits(g.Values[j]) != math.Float32bits(w.Values[j]) {
				t.Fatalf("layer %d (%s) value %d: %v, want %v", i, g.Kind, j, g.Values[j], w.Values[j])
			}
		}
	}
}

// TestReadResNetInstalled reads the ResNet file dlib wrote from face-api's
// weights (make models): it must hold exactly those weights, and writing
// them again with the test's writer must give dlib's bytes, which checks
// that the reader and the test writer spell dlib's format as dlib does.
func TestReadResNetInstalled(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.Models(t), models.ResNetFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := models.ReadResNet(data)
	if err != nil {
		t.Fatal(err)
	}
	want := models.ResNetParams{Mean: models.DlibInputMean, Layers: faceAPILayers(t)}
	sameParams(t, got, want)
	enc, err := encodeResNet(want, dlibVariant)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, data) {
		i := 0
		for i < len(enc) && i < len(data) && enc[i] == data[i] {
			i++
		}
		t.Errorf("the test writer's file (%d bytes) differs from dlib's (%d bytes) at byte %d", len(enc), len(data), i)
	}
}

// TestReadResNetVersions reads every older layer version dlib 19.24 still
// reads (files of older dlib releases, such as dlib.net's own file).
func TestReadResNetVersions(t *testing.T) {
	p := syntheticResNet(2)
	noBias := models.ResNetParams{Mean: [3]float32{120, 110, 100}}
	folded := models.ResNetParams{Mean: p.Mean}
	for _, l := range p.Layers {
		nb := models.Layer{Kind: l.Kind, Values: append([]float32(nil), l.Values...)}
		fl := models.Layer{Kind: l.Kind, Values: append([]float32(nil), l.Values...)}
		switch l.Kind {
		case models.Conv:
			n := convFilters(len(l.Values))
			clear(nb.Values[len(nb.Values)-n:])
		case models.Affine:
			// Running mean 0.5 and variance 4 (see batchNorm): gamma/2,
			// beta - gamma/4.
			c := len(l.Values) / 2
			for i := range c {
				g := l.Values[i] / 2
				fl.Values[i] = g
				fl.Values[c+i] = l.Values[c+i] - g*0.5
			}
		}
		noBias.Layers = append(noBias.Layers, nb)
		folded.Layers = append(folded.Layers, fl)
	}
	for _, tc := range []struct {
		name string
		in   models.ResNetParams
		v    datVariant
		want models.ResNetParams
	}{
		{"dlib 19.24", p, dlibVariant, p},
		{"old versions", p, datVariant{con: "con_4", affine: "affine_", fc: "fc_2", loss: "loss_metric_", layerVersion: 1, inputLayerVersion: 2}, p},
		{"batch normalisation", p, datVariant{con: "con_5", affine: "bn_con2", fc: "fc_3", loss: "loss_metric_2", layerVersion: 2, inputLayerVersion: 3}, folded},
		{"convolutions without bias", noBias, datVariant{con: "con_5", affine: "affine_2", fc: "fc_3", loss: "loss_metric_2", layerVersion: 2, inputLayerVersion: 3, convNoBias: true}, noBias},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := encodeResNet(tc.in, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := models.ReadResNet(data)
			if err != nil {
				t.Fatal(err)
			}
			sameParams(t, got, tc.want)
		})
	}
}

// convFilters is the number of filters of a convolution with n parameters
// in dlib's ResNet.
func convFilters(n int) int {
	for _, c := range []struct{ n, in, size int }{{32, 3, 7}, {32, 32, 3}, {64, 32, 3}, {64, 64, 3}, {128, 64, 3}, {128, 128, 3}, {256, 128, 3}, {256, 256, 3}} {
		if c.n*c.in*c.size*c.size+c.n == n {
			return c.n
		}
	}
	panic("no such convolution")
}

func TestReadResNetDamaged(t *testing.T) {
	good := syntheticDat(t)
	// Offsets of some landmarks in the file.
	at := func(s string) int {
		i := bytes.Index(good, []byte(s))
		if i < 0 {
			t.Fatalf("no %q in the file", s)
		}
		return i
	}
	patch := func(off int, b ...byte) []byte {
		d := bytes.Clone(good)
		copy(d[off:], b)
		return d
	}
	conv7 := bytes.Index(good, []byte("con_5"))
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "byte 0: add_loss_layer version: file ends"},
		{"text", []byte("not a dlib network at all"), "byte 0: add_loss_layer version: 0x6e is not an integer's control byte"},
		{"another loss", bytes.Replace(good, []byte("\x0dloss_metric_2"), []byte("\x0dloss_mmod___2"), 1), `loss layer is "loss_mmod___2", want loss_metric_`},
		{"another input", bytes.Replace(good, []byte("input_rgb_image_sized"), []byte("input_rgb_image_sizeX"), 1), `input layer is "input_rgb_image_sizeX"`},
		{"truncated in a tensor", good[:len(good)/2], "truncated"},
		{"truncated at the end", good[:len(good)-1], "file ends (truncated)"},
		{"trailing bytes", append(bytes.Clone(good), 0), "1 bytes after the network's last layer"},
		{"a layer renamed", patch(conv7, 'x', 'o', 'n'), `layer is "xon_5", want con_4 or con_5`},
		{"a huge name", patch(conv7-2, 0x04, 0xff, 0xff, 0xff, 0x7f), "a name of 2147483647 bytes"},
		{"a huge tensor", patch(conv7+len("con_5")+2, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), "values left (truncated or damaged file)"},
		{"a negative size", patch(conv7+len("con_5")+2, 0x81, 0x05), "negative size -5"},
		{"a wrong stride", strideDamaged(t, good), "column stride is 3, want 2"},
		{"ASCII number", patch(at("loss_metric_2")+len("loss_metric_2"), '0', '.', '4'), "old text format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := models.ReadResNet(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// strideDamaged changes the column stride of the first convolution (the
// innermost layer, con_ 32 7x7/2) from 2 to 3.
func strideDamaged(t *testing.T, good []byte) []byte {
	// After "con_5": the parameter tensor, then filters 32, rows 7, columns
	// 7, row stride 2, column stride 2.
	i := bytes.Index(good, []byte("con_5")) + len("con_5")
	want := []byte{0x01, 32, 0x01, 7, 0x01, 7, 0x01, 2, 0x01, 2}
	j := bytes.Index(good[i:], want)
	if j < 0 {
		t.Fatal("no convolution header after con_5")
	}
	d := bytes.Clone(good)
	d[i+j+9] = 3
	return d
}

// FuzzReadResNet damages a whole, valid file: bytes overwritten anywhere,
// or the file cut short. ReadResNet must return an error or a network of
// the right shape, never panic or allocate beyond the file's size.
func FuzzReadResNet(f *testing.F) {
	good := syntheticDat(f)
	f.Add(uint64(0), []byte{0xff}, uint64(0))
	f.Add(uint64(3), []byte("con_4"), uint64(0))
	f.Add(uint64(len(good)/2), []byte{0x08, 0xff, 0xff, 0xff, 0xff}, uint64(0))
	f.Add(uint64(len(good)-40), []byte{0x81}, uint64(0))
	f.Add(uint64(0), []byte{}, uint64(len(good)-1000))
	f.Add(uint64(bytes.Index(good, []byte("bn_con2"))), []byte{}, uint64(0))
	f.Fuzz(func(t *testing.T, off uint64, patch []byte, cut uint64) {
		d := bytes.Clone(good)
		if len(d) > 0 {
			copy(d[off%uint64(len(d)):], patch)
		}
		d = d[:uint64(len(d))-cut%uint64(len(d)+1)]
		p, err := models.ReadResNet(d)
		if err != nil {
			return
		}
		if len(p.Layers) != 59 {
			t.Fatalf("accepted with %d layers", len(p.Layers))
		}
	})
}
