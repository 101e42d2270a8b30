package figure

import (
	"fmt"
	"image/color"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette is 19 colours that stay apart for most viewers (Tableau 20
// without its grey); clusters past them share the "other" grey.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {188, 189, 34, 255},
	{23, 190, 207, 255}, {174, 199, 232, 255}, {255, 187, 120, 255}, {152, 223, 138, 255},
	{255, 152, 150, 255}, {197, 176, 213, 255}, {196, 156, 148, 255}, {247, 182, 210, 255},
	{219, 219, 141, 255}, {158, 218, 229, 255}, {90, 90, 160, 255},
}

var (
	otherColour     = color.RGBA{127, 127, 127, 255}
	singletonColour = color.RGBA{200, 200, 200, 255}
)

// Render draws the map to path, PNG or SVG by its extension. labels are
// cluster numbers by decreasing size (-1: noise); names, if given, label
// the legend entries of clusters (by cluster number).
func Render(path string, xy [][2]float64, labels []int, title string, names map[int]string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && ext != ".svg" {
		return fmt.Errorf("plot %s: the file name must end in .png or .svg", path)
	}
	if len(xy) != len(labels) {
		return fmt.Errorf("plot: %d points, %d labels", len(xy), len(labels))
	}
	size := map[int]int{}
	for _, l := range labels {
		size[l]++
	}
	// Groups by legend rank: numbered clusters by size, then the greys.
	const otherRank, singletonRank = 1 << 20, 1<<20 + 1
	groups := map[int]plotter.XYs{}
	for i, l := range labels {
		rank := l
		switch {
		case l < 0 || size[l] == 1:
			rank = singletonRank
		case l >= len(palette):
			rank = otherRank
		}
		groups[rank] = append(groups[rank], plotter.XY{X: xy[i][0], Y: xy[i][1]})
	}
	ranks := slices.Sorted(maps.Keys(groups))

	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "t-SNE 1"
	p.Y.Label.Text = "t-SNE 2"
	p.Legend.Top = true
	for _, rank := range ranks {
		pts := groups[rank]
		var (
			name string
			c    color.RGBA
		)
		switch rank {
		case singletonRank:
			name, c = fmt.Sprintf("singletons and noise (%d faces)", len(pts)), singletonColour
		case otherRank:
			name, c = fmt.Sprintf("other clusters (%d faces)", len(pts)), otherColour
		default:
			name, c = fmt.Sprintf("cluster %d (%d faces)", rank, len(pts)), palette[rank]
			if n, ok := names[rank]; ok {
				name = fmt.Sprintf("%d: %s (%d faces)", rank, n, len(pts))
			}
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		s.GlyphStyle.Color = c
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		s.GlyphStyle.Radius = vg.Points(3)
		p.Add(s)
		p.Legend.Add(name, s)
	}
	// Room on the right for the legend.
	p.X.Max += (p.X.Max - p.X.Min) * 0.45
	if err := p.Save(11*vg.Inch, 8*vg.Inch, path); err != nil {
		return fmt.Errorf("saving plot %s: %w", path, err)
	}
	return nil
}
