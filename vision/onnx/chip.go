package onnx

import (
	"fmt"

	"gocv.io/x/gocv"

	"joren/vision"
	"joren/vision/frame"
)

// DescribeChip describes a face already aligned to the network's input
// (Size x Size BGR pixels, vision.AlignChip with vision.ArcFace(Size)).
// With mirror it returns the normalised mean of the descriptors of the
// chip and of its mirror image: two passes, since a network exported for
// one face at a time may refuse a batch of two.
func (n *Net) DescribeChip(chip frame.Image, mirror bool) ([]float32, error) {
	if err := chip.Check(); err != nil || chip.Cols != n.s.Size || chip.Rows != n.s.Size {
		return nil, fmt.Errorf("describing a face: chip %dx%d, want a %dx%d BGR image", chip.Cols, chip.Rows, n.s.Size, n.s.Size)
	}
	d, err := n.forwardImage(chip)
	if err != nil || !mirror {
		return d, err
	}
	m, err := n.forwardImage(vision.Mirror(chip))
	if err != nil {
		return nil, err
	}
	for i := range d {
		d[i] += m[i]
	}
	if !normalise(d) {
		return nil, fmt.Errorf("describing a face: the descriptors of the face and its mirror image cancel out")
	}
	return d, nil
}

// forwardImage runs the network on a Size x Size BGR image in Go memory.
func (n *Net) forwardImage(im frame.Image) ([]float32, error) {
	if im.Step != 3*im.Cols {
		im = im.Clone() // gocv wraps only contiguous rows
	}
	m, err := gocv.NewMatFromBytes(im.Rows, im.Cols, gocv.MatTypeCV8UC3, im.Pix[:im.Rows*im.Step])
	if err != nil {
		return nil, fmt.Errorf("describing a face: %w", err)
	}
	defer m.Close()
	return n.forward(m)
}
