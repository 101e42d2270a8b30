package doorsim

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gocv.io/x/gocv"

	"joren/vision/frame"
	"joren/vision/picture"
	"joren/vision/verification"
)

// FaceFinder finds the faces of a BGR picture (dlib's HOG detector in
// `joren sim video`).
type FaceFinder func(frame.Image) ([]image.Rectangle, error)

// Actor is one photo of one person, cut out to walk through the door.
type Actor struct {
	// Person is the photo's file name without digits and extension
	// ("bona2.jpg" is "bona").
	Person string
	// Photo is the file name.
	Photo string
	cut   gocv.Mat        // BGR head and shoulders
	alpha gocv.Mat        // 8-bit opacity of cut
	face  image.Rectangle // the face in cut's pixels
}

// Cast is the people a video can show.
type Cast struct {
	Actors []*Actor
	// Skipped lists the photos not used and why (no face found, several
	// faces, unreadable).
	Skipped []string
}

// maxPhotoSide bounds the photos before the face finder sees them: faces
// in a 12-megapixel photo are far larger than any door camera shows.
const maxPhotoSide = 1000

// LoadCast cuts out the person of every JPEG or PNG in dir that shows
// exactly one face.
func LoadCast(dir string, find FaceFinder) (*Cast, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading photos: %w", err)
	}
	c := &Cast{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.Type().IsRegular() || (ext != ".jpg" && ext != ".jpeg" && ext != ".png") {
			continue
		}
		a, err := cutOut(filepath.Join(dir, e.Name()), find)
		if err != nil {
			c.Skipped = append(c.Skipped, fmt.Sprintf("%s: %v", e.Name(), err))
			continue
		}
		c.Actors = append(c.Actors, a)
	}
	if len(c.Actors) == 0 {
		return nil, fmt.Errorf("no photo in %s shows exactly one face the detector finds (%s)", dir, strings.Join(c.Skipped, "; "))
	}
	slices.SortFunc(c.Actors, func(a, b *Actor) int { return strings.Compare(a.Photo, b.Photo) })
	return c, nil
}

// People lists the distinct persons, sorted.
func (c *Cast) People() []string {
	var ps []string
	for _, a := range c.Actors {
		if !slices.Contains(ps, a.Person) {
			ps = append(ps, a.Person)
		}
	}
	slices.Sort(ps)
	return ps
}

// photos returns the actors of one person.
func (c *Cast) photos(person string) []*Actor {
	var as []*Actor
	for _, a := range c.Actors {
		if a.Person == person {
			as = append(as, a)
		}
	}
	return as
}

// Close frees the cut-outs.
func (c *Cast) Close() {
	for _, a := range c.Actors {
		a.cut.Close()
		a.alpha.Close()
	}
	c.Actors = nil
}

func cutOut(path string, find FaceFinder) (*Actor, error) {
	data, err := picture.ReadFile(path, 0)
	if err != nil {
		return nil, err
	}
	// Checked against the default pixel limit, and a large JPEG decoded
	// at a fraction of its size.
	photo, _, err := picture.Decode(data, picture.Options{MaxSide: maxPhotoSide})
	if err != nil {
		return nil, err
	}
	defer photo.Close()
	if s := max(photo.Cols(), photo.Rows()); s > maxPhotoSide {
		f := float64(maxPhotoSide) / float64(s)
		small := gocv.NewMat()
		gocv.Resize(photo, &small, image.Pt(int(float64(photo.Cols())*f), int(float64(photo.Rows())*f)), 0, 0, gocv.InterpolationArea)
		photo.Close()
		photo = small
	}
	pix, err := photo.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	faces, err := find(frame.Image{Pix: pix, Rows: photo.Rows(), Cols: photo.Cols(), Step: photo.Step()})
	if err != nil {
		return nil, fmt.Errorf("finding faces: %w", err)
	}
	if len(faces) != 1 {
		return nil, fmt.Errorf("%d faces found, want 1", len(faces))
	}
	f := faces[0]
	w, h := f.Dx(), f.Dy()
	// Head and shoulders: 1.4 face widths either side of the face's
	// centre, 0.8 face heights above it, 2 below.
	cx := (f.Min.X + f.Max.X) / 2
	want := image.Rect(cx-14*w/10, f.Min.Y-8*h/10, cx+14*w/10, f.Max.Y+2*h)
	r := want.Intersect(image.Rect(0, 0, photo.Cols(), photo.Rows()))
	region := photo.Region(r)
	cut := region.Clone()
	region.Close()
	face := f.Sub(r.Min)
	// Opacity: an ellipse around the head and a wider one for the
	// shoulders, feathered so that no hard edge remains for the detector
	// or the motion gate to lock onto.
	alpha := gocv.NewMatWithSize(cut.Rows(), cut.Cols(), gocv.MatTypeCV8UC1)
	fc := image.Pt((face.Min.X+face.Max.X)/2, (face.Min.Y+face.Max.Y)/2)
	white := color.RGBA{255, 255, 255, 0}
	gocv.Ellipse(&alpha, fc, image.Pt(w*7/10, h*95/100), 0, 0, 360, white, -1)
	gocv.Ellipse(&alpha, image.Pt(fc.X, face.Max.Y+h*3/2), image.Pt(w*13/10, h*11/10), 0, 0, 360, white, -1)
	k := max(3, w/8) | 1
	gocv.GaussianBlur(alpha, &alpha, image.Pt(k, k), 0, 0, gocv.BorderConstant)
	return &Actor{Person: verification.PersonOf(path), Photo: filepath.Base(path), cut: cut, alpha: alpha, face: face}, nil
}
