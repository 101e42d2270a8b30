package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"sync"

	"joren/vision/frame"
	"joren/vision/quality"
	"joren/vision/track"
)

// DebugDir writes what the pipeline saw into a folder, for an installer
// who wants to see why faces were or were not described. It is the only
// place the pipeline writes pictures of faces; `joren watch` creates one
// only with --debug-dir, the appliance only with vision.debug_dir.
//
// For every described face: TRACK-N-qQ.jpg, the crop with its box drawn.
// For every visit: a line of visits.jsonl (without descriptors). Files are
// readable by their owner only.
type DebugDir struct {
	dir    string
	mu     sync.Mutex
	n      map[string]int
	visits *os.File
	err    error // the first write that failed
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

// Face writes the crop of a described face. A picture that cannot be
// written does not stop the pipeline: Close reports it.
func (d *DebugDir) Face(trackID string, c frame.Crop, q quality.Assessment) {
	d.mu.Lock()
	d.n[trackID]++
	name := filepath.Join(d.dir, fmt.Sprintf("%s-%d-q%.2f.jpg", trackID, d.n[trackID], q.Score))
	d.mu.Unlock()
	d.failed(writeJPEG(name, boxed(c)))
}

// boxed converts a crop to RGB with its face's box drawn in green.
func boxed(c frame.Crop) *image.RGBA {
	im := image.NewRGBA(image.Rect(0, 0, c.Cols, c.Rows))
	for y := 0; y < c.Rows; y++ {
		for x := 0; x < c.Cols; x++ {
			b, g, r := c.At(x, y)
			im.SetRGBA(x, y, color.RGBA{r, g, b, 255})
		}
	}
	green := color.RGBA{0, 255, 0, 255}
	box := c.Box.Intersect(im.Bounds())
	if box.Empty() {
		return im
	}
	for x := box.Min.X; x < box.Max.X; x++ {
		im.SetRGBA(x, box.Min.Y, green)
		im.SetRGBA(x, box.Max.Y-1, green)
	}
	for y := box.Min.Y; y < box.Max.Y; y++ {
		im.SetRGBA(box.Min.X, y, green)
		im.SetRGBA(box.Max.X-1, y, green)
	}
	return im
}

func writeJPEG(name string, im image.Image) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, im, &jpeg.Options{Quality: 90}); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return f.Close()
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
	_, err := d.visits.Write(append(b, '\n'))
	d.failLocked(err)
}

func (d *DebugDir) failed(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failLocked(err)
}

func (d *DebugDir) failLocked(err error) {
	if d.err == nil && err != nil {
		d.err = fmt.Errorf("debug folder: %w", err)
	}
}

// Close closes visits.jsonl, and reports the first picture or line that
// could not be written.
func (d *DebugDir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return errors.Join(d.err, d.visits.Close())
}
