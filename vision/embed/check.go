package embed

import (
	"fmt"
	"image"
	"os"

	"gocv.io/x/gocv"

	"joren/vision"
	"joren/vision/frame"
	"joren/vision/models"
	"joren/vision/onnx"
	"joren/vision/quality"
	"joren/vision/verification"
	"joren/vision/yunet"
)

// Consistency is what CheckNetwork measured.
type Consistency struct {
	// Dim is the descriptor's length.
	Dim int `json:"dim"`
	// Photos and People are the labelled photos whose face was used.
	Photos int `json:"photos"`
	People int `json:"people"`
	// Repeat is the largest distance between the descriptor of a face and
	// that of the same photo shrunk to three quarters: the same face.
	Repeat float64 `json:"repeat"`
	// Same and Different are the mean distances between photos of one
	// person and of different people.
	Same      float64 `json:"same"`
	Different float64 `json:"different"`
	// AUC is the ROC AUC on these photos.
	AUC float64 `json:"roc_auc"`
}

// MinCheckPhotos is how many usable labelled photos CheckNetwork needs.
const MinCheckPhotos = 4

// CheckFace is the face of one labelled photo, prepared once for
// checking any number of networks.
type CheckFace struct {
	Person string
	// Crop is the picture around the face, Five its landmarks there.
	Crop frame.Image
	Five [5]vision.Point
	// Small is Crop at three quarters of its size, SmallFive the
	// landmarks there: the same face, resampled.
	Small     frame.Image
	SmallFive [5]vision.Point
}

// CheckFaces finds, with YuNet, the person of each labelled photo (file
// name without digits is the person, as joren evaluate reads them): one
// face clearly larger than any other, facing the camera. Other photos are
// skipped; an unreadable one is an error.
func CheckFaces(det *yunet.Detector, photos []string) ([]CheckFace, error) {
	var out []CheckFace
	for _, p := range photos {
		im, err := readPhoto(p)
		if err != nil {
			return nil, err
		}
		face, ok, err := frontalFace(det, im)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !ok {
			continue
		}
		r := face.Box.Inset(-face.Box.Dx()).Intersect(im.Bounds())
		c := CheckFace{Person: verification.PersonOf(p), Crop: im.Sub(r).Clone()}
		for k, q := range face.Five {
			c.Five[k] = vision.Point{X: q.X - float64(r.Min.X), Y: q.Y - float64(r.Min.Y)}
		}
		c.Small, c.SmallFive = shrunk(c.Crop, c.Five, 0.75)
		out = append(out, c)
	}
	return out, nil
}

// CheckNetwork tries a face network on prepared faces of labelled photos
// before it is accepted: every descriptor has the same plausible length;
// the same face shrunk must give nearly the same descriptor, closer than
// photos of one person are on average; photos of different people must
// be farther apart on average than photos of one person, by
// MinSeparation; and the network's threshold must lie between the two. A
// network fed with the wrong --scale, --mean or --swap-rb, or one that is
// not a face network, fails with an error saying which.
func CheckNetwork(net *onnx.Net, faces []CheckFace) (Consistency, error) {
	var c Consistency
	s := net.Settings()
	tmpl := vision.ArcFace(s.Size)
	describe := func(im frame.Image, five [5]vision.Point) ([]float32, error) {
		chip, err := vision.AlignChip(im, five, tmpl, s.Size)
		if err != nil {
			return nil, err
		}
		return net.DescribeChip(chip, false)
	}
	dist := net.Model().Distance
	var samples []verification.Sample
	for _, f := range faces {
		d, err := describe(f.Crop, f.Five)
		if err != nil {
			return c, fmt.Errorf("a face of %s: %w", f.Person, err)
		}
		if c.Dim == 0 {
			c.Dim = len(d)
		}
		if len(d) != c.Dim || len(d) < models.MinDescriptor || len(d) > models.MaxDescriptor {
			return c, fmt.Errorf("the network gave %d values for a face of %s: not a face descriptor (want %d-%d, the same for every face)", len(d), f.Person, models.MinDescriptor, models.MaxDescriptor)
		}
		again, err := describe(f.Small, f.SmallFive)
		if err != nil {
			return c, fmt.Errorf("a face of %s at 3/4 size: %w", f.Person, err)
		}
		c.Repeat = max(c.Repeat, dist(d, again))
		samples = append(samples, verification.Sample{Person: f.Person, Descriptor: d})
	}
	people := map[string]int{}
	for _, sm := range samples {
		people[sm.Person]++
	}
	c.Photos, c.People = len(samples), len(people)
	pairs := false
	for _, n := range people {
		pairs = pairs || n >= 2
	}
	if c.Photos < MinCheckPhotos || c.People < 2 || !pairs {
		return c, fmt.Errorf("checking the network needs at least %d labelled photos with a frontal face, of two people or more, two of one person (named person1.jpg, person2.jpg, ...): found %d of %d people", MinCheckPhotos, c.Photos, c.People)
	}
	var same, diff []float64
	for i := range samples {
		for j := i + 1; j < len(samples); j++ {
			d := dist(samples[i].Descriptor, samples[j].Descriptor)
			if samples[i].Person == samples[j].Person {
				same = append(same, d)
			} else {
				diff = append(diff, d)
			}
		}
	}
	c.Same, c.Different = mean(same), mean(diff)
	score, err := verification.Evaluate(samples, dist)
	if err != nil {
		return c, err
	}
	c.AUC = score.AUC
	threshold := net.Model().Threshold
	switch {
	case c.Repeat >= c.Same:
		return c, fmt.Errorf("the same photo at 3/4 size gives descriptors up to %.3f apart, as far as photos of one person (%.3f on average): the network does not see these faces as a face network should (check --size, --scale, --mean, --swap-rb)", c.Repeat, c.Same)
	case c.Different < MinSeparation*c.Same:
		// A network fed saturated pixels still puts different people a
		// little farther apart (0.061 against 0.059 for the test network
		// with --scale 1 --mean 0); a working one, 20-50% farther.
		return c, fmt.Errorf("photos of different people are %.3f apart on average, photos of one person %.3f: the network hardly tells these people apart (check --scale, --mean, --swap-rb; or it is not a face recognition network)", c.Different, c.Same)
	case threshold >= c.Different:
		return c, fmt.Errorf("--threshold %.3f is above the mean distance between different people here (%.3f): it would call most of them the same person (measure it with joren evaluate)", threshold, c.Different)
	case threshold <= c.Repeat:
		return c, fmt.Errorf("--threshold %.3f is below the distance between a face and itself at 3/4 size (%.3f): it would call the same face two people", threshold, c.Repeat)
	}
	return c, nil
}

// MinSeparation is how much farther apart, on average, photos of
// different people must be than photos of one person.
const MinSeparation = 1.1

// readPhoto decodes an image file into Go memory.
func readPhoto(p string) (frame.Image, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return frame.Image{}, err
	}
	// Photos of several megapixels decode at half size or less: faces
	// stay far larger than a network's input, and checking is quicker.
	flag := gocv.IMReadColor
	if len(b) > 1<<20 {
		flag = gocv.IMReadReducedColor2
	}
	m, err := gocv.IMDecode(b, flag)
	if err != nil || m.Empty() {
		m.Close()
		return frame.Image{}, fmt.Errorf("%s: not a picture OpenCV can read", p)
	}
	defer m.Close()
	pix, err := m.DataPtrUint8()
	if err != nil {
		return frame.Image{}, fmt.Errorf("%s: %w", p, err)
	}
	return frame.Image{Pix: append([]byte(nil), pix...), Rows: m.Rows(), Cols: m.Cols(), Step: m.Step()}, nil
}

// frontalFace is the photo's person, if YuNet finds one face clearly
// larger than any other and it faces the camera.
func frontalFace(det *yunet.Detector, im frame.Image) (yunet.Face, bool, error) {
	b := im.Bounds()
	if min(b.Dx(), b.Dy()) < yunet.MinSide {
		return yunet.Face{}, false, nil
	}
	found, err := det.Detect(im, b, yunet.FitScale(b, DefaultSearchSide))
	if err != nil {
		return yunet.Face{}, false, err
	}
	faces := make([]vision.Face, len(found))
	for i, f := range found {
		faces[i] = vision.Face{Box: f.Box}
	}
	k := vision.Dominant(faces)
	if k < 0 || quality.FrontalnessFive(found[k].Five) < quality.DefaultMinFrontal {
		return yunet.Face{}, false, nil
	}
	return found[k], true, nil
}

// shrunk is im scaled by k (area averaging) and the landmarks with it.
func shrunk(im frame.Image, five [5]vision.Point, k float64) (frame.Image, [5]vision.Point) {
	src, err := gocv.NewMatFromBytes(im.Rows, im.Cols, gocv.MatTypeCV8UC3, im.Clone().Pix)
	if err != nil {
		return im, five
	}
	defer src.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	w, h := max(1, int(float64(im.Cols)*k)), max(1, int(float64(im.Rows)*k))
	gocv.Resize(src, &dst, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	pix, err := dst.DataPtrUint8()
	if err != nil {
		return im, five
	}
	kx, ky := float64(w)/float64(im.Cols), float64(h)/float64(im.Rows)
	for i, p := range five {
		five[i] = vision.Point{X: (p.X+0.5)*kx - 0.5, Y: (p.Y+0.5)*ky - 0.5}
	}
	return frame.Image{Pix: append([]byte(nil), pix...), Rows: h, Cols: w, Step: dst.Step()}, five
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
