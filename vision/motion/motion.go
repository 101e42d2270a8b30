package motion

import (
	"image"

	"joren/vision/frame"
)

// Config tunes the gate. Zero values take the defaults.
type Config struct {
	// Width is the width of the gray picture compared, in cells (default
	// 160): a frame of 640 pixels is compared in 4x4-pixel cells.
	Width int
	// Threshold is the gray level difference (0-255) from the background
	// above which a cell has changed (default 18).
	Threshold int
	// Block is the side, in cells, of the blocks changed cells are counted
	// in (default 8); a block moves when a quarter of its cells changed.
	Block int
	// Learn is the background's learning rate per frame where nothing
	// moves (default 0.05: a change is absorbed in about 60 frames); where
	// something moves it learns five times slower, so a person who stops in
	// the doorway fades from the mask only after several seconds.
	Learn float64
	// Global is the share of blocks above which a change is taken for a
	// change of light rather than a person (default 0.7).
	Global float64
}

func (c Config) withDefaults() Config {
	if c.Width <= 0 {
		c.Width = 160
	}
	if c.Threshold <= 0 {
		c.Threshold = 18
	}
	if c.Block <= 0 {
		c.Block = 8
	}
	if c.Learn <= 0 || c.Learn > 1 {
		c.Learn = 0.05
	}
	if c.Global <= 0 || c.Global > 1 {
		c.Global = 0.7
	}
	return c
}

// Result is the gate's verdict on one frame.
type Result struct {
	// Moving is set when at least one block changed.
	Moving bool
	// Box bounds the changed blocks, in the frame's pixels.
	Box image.Rectangle
	// Share is the share of blocks that changed, 0..1.
	Share float64
	// Global is set when most of the frame changed (light, exposure,
	// camera moved); the background was relearnt.
	Global bool
}

// Gate remembers the background of one video stream. Not safe for
// concurrent use: one goroutine feeds it frames in order.
type Gate struct {
	cfg        Config
	cols, rows int // frame size the state was made for
	cell       int // frame pixels per cell side
	w, h       int // cells
	bw, bh     int // blocks
	bg         []float32
	cur        []uint8
	count      []int32 // changed cells per block
	moving     []bool  // blocks that moved in the last frame
	primed     bool
}

// New makes a gate.
func New(cfg Config) *Gate { return &Gate{cfg: cfg.withDefaults()} }

// Reset forgets the background (after the source reconnected).
func (g *Gate) Reset() { g.primed = false }

func (g *Gate) setup(cols, rows int) {
	g.cols, g.rows = cols, rows
	g.cell = max(1, (cols+g.cfg.Width-1)/g.cfg.Width)
	g.w, g.h = max(1, cols/g.cell), max(1, rows/g.cell)
	g.bw, g.bh = (g.w+g.cfg.Block-1)/g.cfg.Block, (g.h+g.cfg.Block-1)/g.cfg.Block
	g.bg = make([]float32, g.w*g.h)
	g.cur = make([]uint8, g.w*g.h)
	g.count = make([]int32, g.bw*g.bh)
	g.moving = make([]bool, g.bw*g.bh)
	g.primed = false
}

// shrink fills g.cur with the gray level of every cell: the mean of four
// samples at a quarter and three quarters of the cell's width and height.
func (g *Gate) shrink(im frame.Image) {
	a, b := g.cell/4, (3*g.cell)/4
	for cy := 0; cy < g.h; cy++ {
		y0, y1 := cy*g.cell+a, cy*g.cell+b
		r0 := im.Pix[y0*im.Step:]
		r1 := im.Pix[y1*im.Step:]
		for cx := 0; cx < g.w; cx++ {
			x0, x1 := 3*(cx*g.cell+a), 3*(cx*g.cell+b)
			s := luma(r0[x0:]) + luma(r0[x1:]) + luma(r1[x0:]) + luma(r1[x1:])
			g.cur[cy*g.w+cx] = uint8(s >> 2)
		}
	}
}

// luma approximates gray from B, G, R: (B + 2G + R) / 4.
func luma(p []byte) int { return (int(p[0]) + 2*int(p[1]) + int(p[2])) >> 2 }

// Update compares a frame with the background and learns from it. The
// first frame (and the first after a change of size) only primes the
// background and never moves.
func (g *Gate) Update(im frame.Image) Result {
	if im.Empty() {
		return Result{}
	}
	if im.Cols != g.cols || im.Rows != g.rows || g.bg == nil {
		g.setup(im.Cols, im.Rows)
	}
	g.shrink(im)
	if !g.primed {
		for i, v := range g.cur {
			g.bg[i] = float32(v)
		}
		g.primed = true
		return Result{}
	}
	clear(g.count)
	th := float32(g.cfg.Threshold)
	for cy := 0; cy < g.h; cy++ {
		brow := (cy / g.cfg.Block) * g.bw
		for cx := 0; cx < g.w; cx++ {
			i := cy*g.w + cx
			d := float32(g.cur[i]) - g.bg[i]
			if d > th || d < -th {
				g.count[brow+cx/g.cfg.Block]++
			}
		}
	}
	need := int32(g.cfg.Block * g.cfg.Block / 4)
	var box image.Rectangle
	active := 0
	for by := 0; by < g.bh; by++ {
		for bx := 0; bx < g.bw; bx++ {
			// Blocks on the right and bottom edges may hold fewer cells.
			cw := min(g.cfg.Block, g.w-bx*g.cfg.Block)
			ch := min(g.cfg.Block, g.h-by*g.cfg.Block)
			g.moving[by*g.bw+bx] = g.count[by*g.bw+bx] >= min(need, int32(cw*ch/4)+1)
			if !g.moving[by*g.bw+bx] {
				continue
			}
			active++
			px := g.cell * g.cfg.Block
			r := image.Rect(bx*px, by*px, bx*px+cw*g.cell, by*px+ch*g.cell)
			box = box.Union(r)
		}
	}
	res := Result{Moving: active > 0, Box: box.Intersect(image.Rect(0, 0, g.cols, g.rows)), Share: float64(active) / float64(g.bw*g.bh)}
	if res.Share > g.cfg.Global {
		res.Global = true
		for i, v := range g.cur {
			g.bg[i] = float32(v)
		}
		return res
	}
	fast := float32(g.cfg.Learn)
	slow := fast / 5
	for cy := 0; cy < g.h; cy++ {
		brow := (cy / g.cfg.Block) * g.bw
		for cx := 0; cx < g.w; cx++ {
			i := cy*g.w + cx
			rate := fast
			if g.moving[brow+cx/g.cfg.Block] {
				rate = slow
			}
			g.bg[i] += rate * (float32(g.cur[i]) - g.bg[i])
		}
	}
	return res
}
