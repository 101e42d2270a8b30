package pipeline

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sync"

	"gocv.io/x/gocv"

	"joren/vision/frame"
	"joren/vision/quality"
	"joren/vision/track"
)

// DebugDir writes what the pipeline saw into a folder, for an installer
// who wants to see why faces were or were not described. It is the only
// place the pipeline writes pictures of faces; `joren watch` creates one
// only with --debug-dir.
//
// For every described face: TRACK-N.jpg, the crop with its box drawn. For
// every visit: a line of visits.jsonl (without descriptors).
type DebugDir struct {
	dir    string
	mu     sync.Mutex
	n      map[string]int
	visits *os.File
}

// NewDebugDir creates dir if needed.
func NewDebugDir(dir string) (*DebugDir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("debug folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "visits.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("debug folder: %w", err)
	}
	return &DebugDir{dir: dir, n: map[string]int{}, visits: f}, nil
}

// Face writes the crop of a described face.
func (d *DebugDir) Face(trackID string, c frame.Crop, q quality.Assessment) {
	d.mu.Lock()
	d.n[trackID]++
	name := filepath.Join(d.dir, fmt.Sprintf("%s-%d-q%.2f.jpg", trackID, d.n[trackID], q.Score))
	d.mu.Unlock()
	m, err := gocv.NewMatFromBytes(c.Rows, c.Cols, gocv.MatTypeCV8UC3, compact(c.Image).Pix)
	if err != nil {
		return
	}
	defer m.Close()
	drawn := m.Clone()
	defer drawn.Close()
	gocv.Rectangle(&drawn, c.Box, color.RGBA{0, 255, 0, 0}, 1)
	gocv.IMWrite(name, drawn)
}

// Visit appends a visit's summary to visits.jsonl.
func (d *DebugDir) Visit(v track.Visit) {
	type line struct {
		Visit       string             `json:"visit"`
		Start       string             `json:"start"`
		End         string             `json:"end"`
		Faces       int                `json:"faces"`
		Descriptors int                `json:"descriptors"`
		Quality     float64            `json:"quality"`
		Faces2      [2]int             `json:"face_px"`
		Rejected    quality.Rejections `json:"rejected"`
		Together    []string           `json:"together,omitempty"`
	}
	b, _ := json.Marshal(line{v.ID, v.Start.Format("2006-01-02T15:04:05.000Z07:00"), v.End.Format("2006-01-02T15:04:05.000Z07:00"),
		v.Faces, len(v.Descriptors), v.Quality, [2]int{v.MinFace, v.MaxFace}, v.Rejected, v.Together})
	d.mu.Lock()
	defer d.mu.Unlock()
	d.visits.Write(append(b, '\n'))
}

// Close closes visits.jsonl.
func (d *DebugDir) Close() error { return d.visits.Close() }
