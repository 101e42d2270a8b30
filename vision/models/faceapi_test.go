package models_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"joren/vision/models"
)

// A synthetic tfjs model: tensors written one after the other into shards,
// as tfjs's converter does, each uint8- or uint16-quantised or float32.

type quant struct {
	Dtype string  `json:"dtype"`
	Scale float64 `json:"scale"`
	Min   float64 `json:"min"`
}

type spec struct {
	Name         string `json:"name"`
	Shape        []int  `json:"shape"`
	Dtype        string `json:"dtype"`
	Quantization *quant `json:"quantization,omitempty"`
}

type group struct {
	Paths   []string `json:"paths"`
	Weights []spec   `json:"weights"`
}

// synthTensor is one tensor: its spec, its bytes in the shard, and the
// values FaceAPIResNet must decode from them.
type synthTensor struct {
	spec
	data []byte
	want []float32
}

// f32 stores values as plain float32.
func f32(name string, shape []int, vals []float32) synthTensor {
	var b []byte
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return synthTensor{spec{name, shape, "float32", nil}, b, vals}
}

// q8 stores q as uint8 with value = q*scale + min. scale and min are
// binary fractions, so the wanted values are exact.
func q8(name string, shape []int, scale, min float64, q []byte) synthTensor {
	want := make([]float32, len(q))
	for i, v := range q {
		want[i] = float32(float64(v)*scale + min)
	}
	return synthTensor{spec{name, shape, "float32", &quant{"uint8", scale, min}}, bytes.Clone(q), want}
}

// q16 stores q as little-endian uint16 with value = q*scale + min.
func q16(name string, shape []int, scale, min float64, q []uint16) synthTensor {
	var b []byte
	want := make([]float32, len(q))
	for i, v := range q {
		b = binary.LittleEndian.AppendUint16(b, v)
		want[i] = float32(float64(v)*scale + min)
	}
	return synthTensor{spec{name, shape, "float32", &quant{"uint16", scale, min}}, b, want}
}

// units are face-api's names of dlib's ResNet units, input to output; all
// but the first are residual units of two convolutions.
var units = []string{
	"conv32_down", "conv32_1", "conv32_2", "conv32_3",
	"conv64_down", "conv64_1", "conv64_2", "conv64_3",
	"conv128_down", "conv128_1", "conv128_2",
	"conv256_down", "conv256_1", "conv256_2", "conv256_down_out",
}

// convPrefixes are the 29 convolutions, in order.
func convPrefixes() []string {
	out := []string{units[0]}
	for _, u := range units[1:] {
		out = append(out, u+"/conv1", u+"/conv2")
	}
	return out
}

// hwio are distinct filter values for shape [h w in out]: the value of
// kernel row y, column x, input i, output o is 1000y + 100x + 10i + o, laid
// out as tfjs does (out fastest).
func hwio(h, w, in, out int) []float32 {
	var v []float32
	for y := range h {
		for x := range w {
			for i := range in {
				for o := range out {
					v = append(v, float32(1000*y+100*x+10*i+o))
				}
			}
		}
	}
	return v
}

// oihw is the same filter as dlib wants it: out, then in, then rows, then
// columns.
func oihw(h, w, in, out int) []float32 {
	var v []float32
	for o := range out {
		for i := range in {
			for y := range h {
				for x := range w {
					v = append(v, float32(1000*y+100*x+10*i+o))
				}
			}
		}
	}
	return v
}

// synthModel is a whole ResNet with tiny channel counts: every
// convolution is 1×1 from 1 channel to 2, except two [2,3,2,4] ones (one
// float32, one uint8-quantised), and the fc is [3 2]. Encodings rotate
// between uint8, float32 and uint16 so offsets in the shard mix 1-, 2- and
// 4-byte values and float32 values sit at odd offsets.
type synthModel struct {
	tensors []synthTensor
}

func newSynthModel() *synthModel {
	m := &synthModel{}
	k := 0
	enc := func(name string, shape []int, vals []float32) synthTensor {
		k++
		switch k % 3 {
		case 0:
			return f32(name, shape, vals)
		case 1: // values are small integers: q = 2*(v+8), scale 0.5, min -8
			q := make([]byte, len(vals))
			for i, v := range vals {
				q[i] = byte(2 * (v + 8))
			}
			return q8(name, shape, 0.5, -8, q)
		default: // q = 4*(v+100), scale 0.25, min -100
			q := make([]uint16, len(vals))
			for i, v := range vals {
				q[i] = uint16(4 * (v + 100))
			}
			return q16(name, shape, 0.25, -100, q)
		}
	}
	for n, p := range convPrefixes() {
		base := float32(n % 7)
		switch p {
		case "conv64_1/conv2":
			m.tensors = append(m.tensors, f32(p+"/conv/filters", []int{2, 3, 2, 4}, hwio(2, 3, 2, 4)))
		case "conv128_down/conv1":
			v := hwio(2, 3, 2, 4) // up to 1213: uint8 with scale 8 holds them
			q := make([]byte, len(v))
			for i := range v {
				q[i] = byte(v[i] / 8)
				v[i] = float32(q[i]) * 8
			}
			m.tensors = append(m.tensors, q8(p+"/conv/filters", []int{2, 3, 2, 4}, 8, 0, q))
		default:
			m.tensors = append(m.tensors, enc(p+"/conv/filters", []int{1, 1, 1, 2}, []float32{base, -base - 1}))
		}
		out := 2
		if p == "conv64_1/conv2" || p == "conv128_down/conv1" {
			out = 4
		}
		vals := func(off float32) []float32 {
			v := make([]float32, out)
			for i := range v {
				v[i] = off + float32(i)
			}
			return v
		}
		m.tensors = append(m.tensors,
			enc(p+"/conv/bias", []int{out}, vals(1)),
			enc(p+"/scale/weights", []int{out}, vals(2)),
			enc(p+"/scale/biases", []int{out}, vals(-3)),
		)
	}
	m.tensors = append(m.tensors, enc("fc", []int{3, 2}, []float32{1, 2, 3, 4, 5, 6}))
	return m
}

// fs writes the model as face-api's manifest and shards: the tensors go
// into two groups, the first split over two shard files in the middle of a
// tensor, as tfjs splits shards at a size limit.
func (m *synthModel) fs(t testing.TB) fstest.MapFS {
	t.Helper()
	half := len(m.tensors) / 2
	var g1, g2 []byte
	var s1, s2 []spec
	for i, tn := range m.tensors {
		if i < half {
			g1 = append(g1, tn.data...)
			s1 = append(s1, tn.spec)
		} else {
			g2 = append(g2, tn.data...)
			s2 = append(s2, tn.spec)
		}
	}
	split := len(g1)/2 + 1
	man, err := json.Marshal([]group{
		{Paths: []string{"shard1a", "shard1b"}, Weights: s1},
		{Paths: []string{"shard2"}, Weights: s2},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{
		models.FaceAPIManifest: {Data: man},
		"shard1a":              {Data: g1[:split]},
		"shard1b":              {Data: g1[split:]},
		"shard2":               {Data: g2},
	}
}

func (m *synthModel) tensor(name string) synthTensor {
	for _, tn := range m.tensors {
		if tn.Name == name {
			return tn
		}
	}
	panic("no tensor " + name)
}

func TestFaceAPIResNetSynthetic(t *testing.T) {
	m := newSynthModel()
	if len(m.tensors) != 29*4+1 {
		t.Fatalf("synthetic model has %d tensors, want 117", len(m.tensors))
	}
	encodings := map[string]int{}
	for _, tn := range m.tensors {
		if tn.Quantization != nil {
			encodings[tn.Quantization.Dtype]++
		} else {
			encodings["float32"]++
		}
	}
	if encodings["uint8"] < 10 || encodings["uint16"] < 10 || encodings["float32"] < 10 {
		t.Fatalf("synthetic model does not mix encodings: %v", encodings)
	}

	layers, err := models.FaceAPIResNet(m.fs(t))
	if err != nil {
		t.Fatalf("FaceAPIResNet: %v", err)
	}
	if len(layers) != 59 {
		t.Fatalf("%d layers, want 59 (29 conv, 29 affine, 1 fc)", len(layers))
	}
	for n, p := range convPrefixes() {
		conv, scale := layers[2*n], layers[2*n+1]
		if conv.Name != p+"/conv" || conv.Kind != models.Conv {
			t.Errorf("layer %d is %s %q, want conv %q", 2*n, conv.Kind, conv.Name, p+"/conv")
		}
		if scale.Name != p+"/scale" || scale.Kind != models.Affine {
			t.Errorf("layer %d is %s %q, want affine %q", 2*n+1, scale.Kind, scale.Name, p+"/scale")
		}
		filters := m.tensor(p + "/conv/filters")
		var wantConv []float32
		if s := filters.Shape; s[0] == 1 && s[1] == 1 && s[2] == 1 {
			wantConv = slices.Clone(filters.want) // [1 1 1 out] needs no reordering
		} else {
			wantConv = oihw(2, 3, 2, 4)
			if filters.Quantization != nil {
				for i := range wantConv {
					wantConv[i] = float32(int(wantConv[i])/8) * 8
				}
			}
		}
		wantConv = append(wantConv, m.tensor(p+"/conv/bias").want...)
		if !slices.Equal(conv.Values, wantConv) {
			t.Errorf("%s: values %v, want %v (filters [out][in][h][w], then bias)", conv.Name, conv.Values, wantConv)
		}
		wantScale := append(slices.Clone(m.tensor(p+"/scale/weights").want), m.tensor(p+"/scale/biases").want...)
		if !slices.Equal(scale.Values, wantScale) {
			t.Errorf("%s: values %v, want %v (gamma, then beta)", scale.Name, scale.Values, wantScale)
		}
	}
	fc := layers[58]
	if fc.Name != "fc" || fc.Kind != models.FC || !slices.Equal(fc.Values, []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("last layer %s %q %v, want fc [1 2 3 4 5 6] ([inputs][outputs] as tfjs stores it)", fc.Kind, fc.Name, fc.Values)
	}
}

// TestFaceAPIResNetTransposes spells out a few positions of the [2,3,2,4]
// filter by hand: dlib's index ((o*in+i)*h+y)*w+x holds tfjs's
// ((y*w+x)*in+i)*out+o.
func TestFaceAPIResNetTransposes(t *testing.T) {
	layers, err := models.FaceAPIResNet(newSynthModel().fs(t))
	if err != nil {
		t.Fatal(err)
	}
	var conv models.Layer
	for _, l := range layers {
		if l.Name == "conv64_1/conv2/conv" {
			conv = l
		}
	}
	if len(conv.Values) != 2*3*2*4+4 {
		t.Fatalf("conv64_1/conv2/conv has %d values, want 48 filter values and 4 biases", len(conv.Values))
	}
	for _, c := range []struct {
		dlib int
		want float32 // 1000y + 100x + 10i + o
	}{
		{0, 0},     // o0 i0 y0 x0
		{1, 100},   // o0 i0 y0 x1
		{2, 200},   // o0 i0 y0 x2
		{3, 1000},  // o0 i0 y1 x0
		{5, 1200},  // o0 i0 y1 x2
		{6, 10},    // o0 i1 y0 x0
		{11, 1210}, // o0 i1 y1 x2
		{12, 1},    // o1 i0 y0 x0
		{19, 111},  // o1 i1 y0 x1
		{36, 3},    // o3 i0 y0 x0
		{47, 1213}, // o3 i1 y1 x2
		{48, 1},    // bias 0
		{51, 4},    // bias 3
	} {
		if got := conv.Values[c.dlib]; got != c.want {
			t.Errorf("dlib value %d = %v, want %v", c.dlib, got, c.want)
		}
	}
}

// TestFaceAPIDequantisation decodes a model whose first tensors have
// hand-picked values, checked against numbers written out: a uint8 tensor
// of 3 bytes, so that the uint16 one after it starts at an odd offset and
// the float32 one after that at offset 9, then uint8 with a scale that is
// not a binary fraction.
func TestFaceAPIDequantisation(t *testing.T) {
	m := newSynthModel()
	for i, tn := range m.tensors {
		switch tn.Name {
		case "conv32_down/conv/filters": // offset 0
			m.tensors[i] = q8(tn.Name, []int{1, 1, 1, 3}, 0.5, -3, []byte{0, 1, 255})
		case "conv32_down/conv/bias": // offset 3
			m.tensors[i] = q16(tn.Name, []int{3}, 0.25, -1, []uint16{0, 300, 65535})
		case "conv32_down/scale/weights": // offset 9
			m.tensors[i] = f32(tn.Name, []int{3}, []float32{1.5, -2.25, 1e-3})
		case "conv32_down/scale/biases": // offset 21
			m.tensors[i] = q8(tn.Name, []int{3}, 0.1, 0.2, []byte{0, 1, 10})
		}
	}
	layers, err := models.FaceAPIResNet(m.fs(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{-3, -2.5, 124.5, -1, 74, 16382.75}; !slices.Equal(layers[0].Values, want) {
		t.Errorf("conv32_down/conv = %v, want %v", layers[0].Values, want)
	}
	got := layers[1].Values
	if want := []float32{1.5, -2.25, 1e-3}; len(got) != 6 || !slices.Equal(got[:3], want) {
		t.Fatalf("conv32_down/scale = %v, want %v then 0.2, 0.3, 1.2", got, want)
	}
	for i, want := range []float64{0.2, 0.3, 1.2} {
		if d := math.Abs(float64(got[3+i]) - want); d > 1e-6 {
			t.Errorf("conv32_down/scale beta %d = %v, want %v", i, got[3+i], want)
		}
	}
}

func TestFaceAPIResNetErrors(t *testing.T) {
	type edit func(m *synthModel)
	rename := func(from, to string) edit {
		return func(m *synthModel) {
			for i := range m.tensors {
				if m.tensors[i].Name == from {
					m.tensors[i].Name = to
				}
			}
		}
	}
	replace := func(name string, tn synthTensor) edit {
		return func(m *synthModel) {
			for i := range m.tensors {
				if m.tensors[i].Name == name {
					tn.Name = name
					m.tensors[i] = tn
				}
			}
		}
	}
	drop := func(name string) edit {
		return func(m *synthModel) {
			m.tensors = slices.DeleteFunc(m.tensors, func(tn synthTensor) bool { return tn.Name == name })
		}
	}
	for _, c := range []struct {
		name string
		pre  edit               // changes the model before it is written
		post func(fstest.MapFS) // changes the files
		want []string           // all in the error
	}{
		{name: "truncated shard", post: func(f fstest.MapFS) {
			d := f["shard2"].Data
			f["shard2"] = &fstest.MapFile{Data: d[:len(d)-1]}
		}, want: []string{"fc", "truncated"}},
		{name: "truncated first shard file", post: func(f fstest.MapFS) {
			d := f["shard1b"].Data
			f["shard1b"] = &fstest.MapFile{Data: d[:len(d)-3]}
		}, want: []string{"truncated"}},
		{name: "left-over bytes", post: func(f fstest.MapFS) {
			f["shard2"] = &fstest.MapFile{Data: append(bytes.Clone(f["shard2"].Data), 1, 2, 3)}
		}, want: []string{"3 bytes left over", "shard2"}},
		{name: "missing shard file", post: func(f fstest.MapFS) { delete(f, "shard1b") }, want: []string{"shard1b"}},
		{name: "missing manifest", post: func(f fstest.MapFS) { delete(f, models.FaceAPIManifest) }, want: []string{"manifest"}},
		{name: "manifest not JSON", post: func(f fstest.MapFS) {
			f[models.FaceAPIManifest] = &fstest.MapFile{Data: []byte("<html>")}
		}, want: []string{"parsing", models.FaceAPIManifest}},
		{name: "missing conv tensor", pre: drop("conv128_2/conv2/scale/biases"), want: []string{"conv128_2/conv2", "lack"}},
		{name: "missing first tensor", pre: drop("conv32_down/conv/filters"), want: []string{"conv32_down", "lack"}},
		{name: "missing fc", pre: drop("fc"), want: []string{"fc"}},
		{name: "extra tensor", pre: func(m *synthModel) {
			m.tensors = append(m.tensors, f32("conv512/conv/filters", []int{1}, []float32{1}))
		}, want: []string{"118 tensors", "117", "not the face recognition model"}},
		{name: "renamed tensor", pre: rename("conv64_3/conv1/conv/bias", "conv64_3/conv1/conv/biases"), want: []string{"conv64_3/conv1", "lack"}},
		{name: "filters of rank 3", pre: replace("conv32_2/conv2/conv/filters", f32("", []int{1, 1, 2}, []float32{1, 2})), want: []string{"conv32_2/conv2/conv/filters", "[1 1 2]", "[h w in out]"}},
		{name: "bias of the wrong length", pre: replace("conv32_2/conv2/conv/bias", f32("", []int{3}, []float32{1, 2, 3})), want: []string{"conv32_2/conv2/conv/bias", "3 values, want 2"}},
		{name: "gamma of the wrong length", pre: replace("conv256_1/conv1/scale/weights", f32("", []int{1}, []float32{1})), want: []string{"conv256_1/conv1/scale/weights", "1 values, want 2"}},
		{name: "fc of rank 1", pre: replace("fc", f32("", []int{6}, []float32{1, 2, 3, 4, 5, 6})), want: []string{"fc", "[6]", "[inputs outputs]"}},
		{name: "zero dimension", pre: replace("fc", f32("", []int{0, 2}, nil)), want: []string{"fc", "bad shape"}},
		{name: "negative dimension", pre: replace("fc", f32("", []int{-1, 2}, nil)), want: []string{"fc", "bad shape"}},
		// Shapes whose element count overflows int or asks for terabytes:
		// an error, not a panic in make or an allocation that kills the
		// program.
		{name: "shape overflowing int", pre: replace("fc", f32("", []int{3, 1 << 62}, nil)), want: []string{"fc", "truncated"}},
		{name: "shape wrapping to zero", pre: replace("fc", f32("", []int{4, 1 << 62}, nil)), want: []string{"fc", "truncated"}},
		{name: "terabyte shape", pre: replace("fc", f32("", []int{1 << 20, 1 << 20}, nil)), want: []string{"fc", "truncated"}},
		{name: "int32 tensor", pre: func(m *synthModel) {
			m.tensors[3].Dtype = "int32"
		}, want: []string{`dtype "int32"`}},
		{name: "int8 quantisation", pre: func(m *synthModel) {
			for i := range m.tensors {
				if q := m.tensors[i].Quantization; q != nil && q.Dtype == "uint8" {
					m.tensors[i].Quantization = &quant{"int8", q.Scale, q.Min}
					break
				}
			}
		}, want: []string{`"int8"`, "uint8 or uint16"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newSynthModel()
			if c.pre != nil {
				c.pre(m)
			}
			f := m.fs(t)
			if c.post != nil {
				c.post(f)
			}
			layers, err := models.FaceAPIResNet(f)
			if err == nil {
				t.Fatalf("FaceAPIResNet succeeded with %d layers, want an error", len(layers))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

var (
	tarballOnce sync.Once
	tarballPath string
	tarballErr  error
)

// faceAPITarball returns the pinned npm tarball of face-api, from the user
// cache that `make models` fills, or downloaded from the npm registry into
// it (the one network access of these tests), after checking its sha256.
func faceAPITarball(t testing.TB) string {
	t.Helper()
	tarballOnce.Do(func() {
		// LoadFaceAPI downloads the tarball into the cache if it is not there.
		if _, err := models.LoadFaceAPI(context.Background(), "", "", nil, nil); err != nil {
			tarballErr = err
			return
		}
		dir, err := os.UserCacheDir()
		if err != nil {
			tarballErr = err
			return
		}
		tarballPath = filepath.Join(dir, "joren", path.Base(models.FaceAPI.TarballURL))
		b, err := os.ReadFile(tarballPath)
		if err != nil {
			tarballErr = err
			return
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != models.FaceAPI.TarballSHA256 {
			tarballErr = fmt.Errorf("%s: sha256 %x, want %s", tarballPath, sum, models.FaceAPI.TarballSHA256)
		}
	})
	if tarballErr != nil {
		t.Fatalf("face-api tarball %s: %v", models.FaceAPI.TarballURL, tarballErr)
	}
	return tarballPath
}

// faceAPILayers is dlib's ResNet as face-api's pinned weights hold it.
func faceAPILayers(t testing.TB) []models.Layer {
	t.Helper()
	fsys, err := models.LoadFaceAPI(context.Background(), faceAPITarball(t), "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := models.FaceAPIResNet(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return layers
}

func TestFaceAPIResNetRealWeights(t *testing.T) {
	layers := faceAPILayers(t)
	kinds := map[models.LayerKind]int{}
	total := 0
	for _, l := range layers {
		kinds[l.Kind]++
		total += len(l.Values)
		for i, v := range l.Values {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s value %d is %v", l.Name, i, v)
			}
		}
	}
	if len(layers) != 59 || kinds[models.Conv] != 29 || kinds[models.Affine] != 29 || kinds[models.FC] != 1 {
		t.Errorf("%d layers (%d conv, %d affine, %d fc), want 59 (29, 29, 1)", len(layers), kinds[models.Conv], kinds[models.Affine], kinds[models.FC])
	}
	if total != 5614592 {
		t.Errorf("%d values in all, want 5,614,592", total)
	}
	if l := layers[0]; l.Name != "conv32_down/conv" || l.Kind != models.Conv || len(l.Values) != 7*7*3*32+32 {
		t.Errorf("first layer %s %q with %d values, want conv conv32_down/conv with 7*7*3*32+32 = %d", l.Kind, l.Name, len(l.Values), 7*7*3*32+32)
	}
	if l := layers[1]; l.Kind != models.Affine || len(l.Values) != 2*32 {
		t.Errorf("second layer %s with %d values, want affine with 64", l.Kind, len(l.Values))
	}
	if l := layers[58]; l.Name != "fc" || len(l.Values) != 256*128 {
		t.Errorf("last layer %q with %d values, want fc with 256*128", l.Name, len(l.Values))
	}
	// Every machine must dequantise to the same bits: a model converted on
	// the Raspberry Pi must be the one converted here. (arm64 fuses q*scale
	// + min into one multiply-add unless the product is rounded first; this
	// is what caught it, under qemu.)
	h := sha256.New()
	var word [4]byte
	for _, l := range layers {
		for _, v := range l.Values {
			binary.LittleEndian.PutUint32(word[:], math.Float32bits(v))
			h.Write(word[:])
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != dequantisedSHA256 {
		t.Errorf("the dequantised weights hash to %s on %s, want %s (as on x86-64)", got, runtime.GOARCH, dequantisedSHA256)
	}
}

// dequantisedSHA256 is the sha256 of every dequantised weight of face-api's
// ResNet, as little-endian float32 bits in layer order.
const dequantisedSHA256 = "6c9c4286ba2a1d21d00e1c1ac8e7f415eb7e3fdbcd3ce7464edf7e0507d58022"
