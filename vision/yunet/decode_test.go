package yunet

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"joren/vision"
)

// outputs makes empty outputs for a w x h input.
func outputs(w, h int) Outputs {
	o := Outputs{Width: w, Height: h}
	o.split(make([]float32, o.floats()))
	return o
}

// setCell writes a face into cell (col, row) of stride grid i.
func setCell(o Outputs, i, col, row int, cls, obj float32, box [4]float32, kps [10]float32) {
	g := o.Grids[i]
	c := row*(o.Width/g.Stride) + col
	g.Cls[c], g.Obj[c] = cls, obj
	copy(g.Box[4*c:], box[:])
	copy(g.Kps[10*c:], kps[:])
}

func TestDecode(t *testing.T) {
	kps := [10]float32{-0.5, -0.25, 0.5, -0.25, 0, 0.25, -0.25, 0.75, 0.25, 0.75}
	for _, tc := range []struct {
		name     string
		grid     int // 0, 1, 2: stride 8, 16, 32
		col, row int
		cls, obj float32
		box      [4]float32
		want     *Candidate
	}{
		{
			name: "stride 16", grid: 1, col: 3, row: 2, cls: 0.81, obj: 1,
			box: [4]float32{0.5, 0.5, float32(math.Log(2)), float32(math.Log(3))},
			// centre (3.5, 2.5) cells = (56, 40) px, size 32 x 48.
			want: &Candidate{Score: 0.9, X: 40, Y: 16, W: 32, H: 48, Five: [5]vision.Point{
				{X: 40, Y: 28}, {X: 56, Y: 28}, {X: 48, Y: 36}, {X: 44, Y: 44}, {X: 52, Y: 44}}},
		},
		{
			name: "stride 8, scores clamped", grid: 0, col: 0, row: 0, cls: 1.7, obj: 2,
			box: [4]float32{1, 1, 0, 0},
			want: &Candidate{Score: 1, X: 4, Y: 4, W: 8, H: 8, Five: [5]vision.Point{
				{X: -4, Y: -2}, {X: 4, Y: -2}, {X: 0, Y: 2}, {X: -2, Y: 6}, {X: 2, Y: 6}}},
		},
		{name: "below the minimum score", grid: 2, col: 1, row: 1, cls: 0.3, obj: 0.3},
		{name: "negative score", grid: 2, col: 1, row: 1, cls: -1, obj: 1},
		{name: "NaN score", grid: 2, col: 1, row: 1, cls: float32(math.NaN()), obj: 1},
		{name: "infinite size", grid: 2, col: 1, row: 1, cls: 1, obj: 1, box: [4]float32{0, 0, 100, 0}},
		{name: "NaN offset", grid: 2, col: 1, row: 1, cls: 1, obj: 1, box: [4]float32{float32(math.NaN()), 0, 0, 0}},
		{name: "empty box", grid: 1, col: 1, row: 1, cls: 1, obj: 1, box: [4]float32{0, 0, -10, 0}},
		{name: "far outside", grid: 1, col: 1, row: 1, cls: 1, obj: 1, box: [4]float32{-1e6, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := outputs(128, 96)
			setCell(o, tc.grid, tc.col, tc.row, tc.cls, tc.obj, tc.box, kps)
			got, err := Decode(o, 0.5)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("got %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d candidates, want 1", len(got))
			}
			g, w := got[0], *tc.want
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-4 }
			if !near(float64(g.Score), float64(w.Score)) || !near(g.X, w.X) || !near(g.Y, w.Y) || !near(g.W, w.W) || !near(g.H, w.H) {
				t.Errorf("got %+v, want %+v", g, w)
			}
			for k := range w.Five {
				if !near(g.Five[k].X, w.Five[k].X) || !near(g.Five[k].Y, w.Five[k].Y) {
					t.Errorf("landmark %d at %v, want %v", k, g.Five[k], w.Five[k])
				}
			}
		})
	}
}

// A landmark that is not a number drops the candidate.
func TestDecodeBadLandmark(t *testing.T) {
	o := outputs(64, 64)
	kps := [10]float32{0, 0, 0, 0, float32(math.Inf(1))}
	setCell(o, 0, 1, 1, 1, 1, [4]float32{}, kps)
	if got, err := Decode(o, 0.5); err != nil || len(got) != 0 {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestDecodeShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     Outputs
		error string
	}{
		{"not a multiple of 32", Outputs{Width: 100, Height: 64}, "not a positive multiple of 32"},
		{"zero", Outputs{}, "not a positive multiple of 32"},
		{"negative", Outputs{Width: -32, Height: 32}, "not a positive multiple of 32"},
		{"no grids", Outputs{Width: 64, Height: 64}, "stride 8 grid"},
		{"short box", func() Outputs {
			o := outputs(64, 32)
			o.Grids[1].Box = o.Grids[1].Box[:5]
			return o
		}(), "stride 16 grid"},
		{"grids swapped", func() Outputs {
			o := outputs(64, 64)
			o.Grids[0], o.Grids[2] = o.Grids[2], o.Grids[0]
			return o
		}(), "stride 8 grid (stride 32)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.o, 0.5)
			if err == nil || !strings.Contains(err.Error(), tc.error) {
				t.Errorf("error %v, want one containing %q", err, tc.error)
			}
		})
	}
}

// FuzzDecode feeds the decoder arbitrary tensors, of the right shape or
// not: it must return candidates with finite, plausible values or an
// error, and never panic.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(1), uint8(1), []byte{}, float32(0.5), false)
	f.Add(uint8(3), uint8(2), []byte{0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0x7f}, float32(0), false)
	f.Add(uint8(2), uint8(2), []byte{0, 0, 0x80, 0x7f, 0, 0, 0x80, 0xff, 1, 2, 3, 4}, float32(-1), true)
	f.Fuzz(func(t *testing.T, w, h uint8, data []byte, minScore float32, ragged bool) {
		o := Outputs{Width: int(w%12) * 32, Height: int(h%12) * 32}
		if ragged {
			o.Width += int(w % 7) // not a multiple of 32
		}
		// Values: the data's float32s, cycled; the grids' lengths are
		// right unless the data says otherwise.
		vals := make([]float32, len(data)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		k := 0
		next := func() float32 {
			if len(vals) == 0 {
				return 0
			}
			v := vals[k%len(vals)]
			k++
			return v
		}
		fill := func(n int) []float32 {
			if ragged && len(data)%5 == 0 {
				n += len(data) % 3
			}
			s := make([]float32, max(0, n))
			for i := range s {
				s[i] = next()
			}
			return s
		}
		for i, s := range strides {
			n := 0
			if o.Width > 0 && o.Height > 0 {
				n = (o.Width / s) * (o.Height / s)
			}
			o.Grids[i] = Grid{Stride: s, Cls: fill(n), Obj: fill(n), Box: fill(4 * n), Kps: fill(10 * n)}
		}
		got, err := Decode(o, minScore)
		if err != nil {
			return
		}
		fw, fh := float64(o.Width), float64(o.Height)
		for _, c := range got {
			if !(c.Score >= 0 && c.Score <= 1) || !(c.W >= 1 && c.W <= 2*fw) || !(c.H >= 1 && c.H <= 2*fh) ||
				!(c.X >= -fw && c.X <= 2*fw) || !(c.Y >= -fh && c.Y <= 2*fh) {
				t.Fatalf("implausible candidate %+v for %dx%d", c, o.Width, o.Height)
			}
			for _, p := range c.Five {
				if !(p.X >= -fw && p.X <= 2*fw && p.Y >= -fh && p.Y <= 2*fh) {
					t.Fatalf("landmark %v of %+v out of range", p, c)
				}
			}
		}
	})
}
