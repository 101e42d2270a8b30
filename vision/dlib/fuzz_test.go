package dlib

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"joren/internal/testenv"
	"joren/vision/picture"
)

// FuzzFaces runs a picture file the whole way the photo commands do:
// vision/picture's checks and decoding, then go-face (libjpeg and dlib's
// detector, landmarks and ResNet) on what Prepare hands it, which for a
// plain JPEG within the limits is the file's own bytes. No input may panic
// or abort; every face found lies in the picture. The seeds are
// vision/picture's corpus of broken and hostile pictures and a real face.
func FuzzFaces(f *testing.F) {
	files, _ := filepath.Glob("../picture/testdata/hostile/*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// A face, small enough that each input is quick.
	face, err := os.ReadFile(filepath.Join(testenv.Faces(f), "tzuyu.jpg"))
	if err != nil {
		f.Fatal(err)
	}
	p, err := picture.Prepare(face, picture.Options{MaxSide: 160})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p.JPEG)
	r := open(f, Options{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := picture.Prepare(b, picture.Options{MaxSide: 200, MaxPixels: 1 << 20})
		if err != nil {
			return
		}
		faces, err := r.Faces(p.JPEG)
		if err != nil {
			return
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.JPEG))
		if err != nil {
			t.Fatalf("go-face read a JPEG that image/jpeg does not: %v", err)
		}
		// dlib's boxes may reach a little past the edges; the descriptors
		// must be whole.
		area := image.Rect(0, 0, cfg.Width, cfg.Height).Inset(-cfg.Width - cfg.Height)
		for _, fc := range faces {
			if !fc.Box.In(area) || len(fc.Descriptor) != 128 {
				t.Fatalf("face %v with %d values in a %dx%d picture", fc.Box, len(fc.Descriptor), cfg.Width, cfg.Height)
			}
		}
	})
}
