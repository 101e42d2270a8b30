package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"joren/vision"
	"joren/vision/dlib"
	"joren/vision/embed"
	"joren/vision/models"
	"joren/vision/onnx"
	"joren/vision/picture"
	"joren/vision/yunet"
	"joren/vocab"
)

// faceFlags are the flags of every subcommand that finds faces.
type faceFlags struct {
	embedder  string
	onnxModel string
	detector  string
	jitter    int
	mirror    string
	maxSide   int
	workers   int
}

// detectorYuNet selects YuNet (package yunet) in the photo commands; hog and
// cnn are dlib's (dlib.ParseDetector).
const detectorYuNet = "yunet"

// --mirror's values.
const (
	mirrorAuto = "auto"
	mirrorOn   = "on"
	mirrorOff  = "off"
)

// mirrored tells whether descriptors are averaged with their mirror
// image's: with YuNet, as --mirror says; auto is what was measured to pay
// (docs/embedders.md): on for dlib's ResNet (ROC AUC 0.764 to 0.803 on
// the shared photos for 60% more CPU per face), off for ONNX networks
// (0.970 to 0.969, for twice the time).
func (f *faceFlags) mirrored() (bool, error) {
	if f.detector != detectorYuNet {
		return false, nil
	}
	switch f.mirror {
	case mirrorOn:
		return true, nil
	case mirrorOff:
		return false, nil
	case mirrorAuto:
		return f.embedder == embedderDlib, nil
	}
	return false, usagef("--mirror %q: want on, off or auto", f.mirror)
}

// Embedders selectable with --embedder.
const (
	embedderDlib = "dlib"
	embedderONNX = "onnx"
)

func (f *faceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.embedder, "embedder", embedderDlib, "face descriptors: dlib (ResNet, 128-D) or onnx (a registered ArcFace-style network)")
	cmd.Flags().StringVar(&f.onnxModel, "onnx-model", "", "with --embedder onnx: the registered network's name (default: the only one)")
	cmd.Flags().StringVar(&f.detector, "detector", string(dlib.HOG), "face detector: hog (dlib), cnn (dlib's MMOD: finds more faces, seconds per image) or yunet (finds turned and small faces, with five landmarks that align the face)")
	cmd.Flags().IntVar(&f.jitter, "jitter", 0, "average each descriptor over this many jittered copies (slower, steadier)")
	cmd.Flags().StringVar(&f.mirror, "mirror", mirrorAuto, "with --detector yunet: average each descriptor with its mirror image's: on, off, or auto (on for dlib, where it raised ROC AUC by 0.04 for 60% more time; off for ONNX networks, where it changed nothing; docs/embedders.md)")
	cmd.Flags().IntVar(&f.maxSide, "max-side", 2000, "scale larger images down to this many pixels on their longer side before detection (0: never)")
	cmd.Flags().IntVar(&f.workers, "workers", min(runtime.NumCPU(), 2), "images processed at once (each loads its own copy of the models)")
}

// faceFinder finds the faces of image files.
type faceFinder struct {
	recs  []vision.Embedder
	free  chan vision.Embedder
	opts  picture.Options
	model vocab.Model
}

func (f *faceFlags) open(modelDir string) (*faceFinder, error) {
	if f.jitter < 0 || f.maxSide < 0 {
		return nil, usagef("--jitter and --max-side must not be negative")
	}
	if f.detector == detectorYuNet {
		return f.openYuNet(modelDir)
	}
	if f.mirror != mirrorAuto && f.mirror != mirrorOff {
		return nil, usagef("--mirror works with --detector %s only", detectorYuNet)
	}
	det, err := dlib.ParseDetector(f.detector)
	if err != nil {
		return nil, usagef("--detector: %v (or %q)", err, detectorYuNet)
	}
	var open func() (vision.Embedder, error)
	switch f.embedder {
	case embedderDlib:
		open = func() (vision.Embedder, error) {
			return dlib.Open(modelDir, dlib.Options{Detector: det, Jitter: f.jitter})
		}
	case embedderONNX:
		if f.jitter != 0 {
			return nil, usagef("--jitter works with --embedder dlib only")
		}
		settings, err := models.FindONNX(modelDir, f.onnxModel)
		if err != nil {
			return nil, err
		}
		open = func() (vision.Embedder, error) { return openONNX(modelDir, settings, det == dlib.CNN) }
	default:
		return nil, usagef("--embedder %q: want %s or %s", f.embedder, embedderDlib, embedderONNX)
	}
	return f.newFinder(open)
}

// openYuNet finds faces with YuNet and aligns them on its five landmarks
// (package embed), for either embedder.
func (f *faceFlags) openYuNet(modelDir string) (*faceFinder, error) {
	if f.jitter != 0 {
		return nil, usagef("--jitter works with --detector hog or cnn only (with %s, --mirror)", detectorYuNet)
	}
	mirror, err := f.mirrored()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(modelDir, models.YuNetFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("model file %s is missing (run `joren models build` or `joren models fetch`): %w", path, err)
	}
	o := embed.Options{Mirror: mirror}
	var open func() (vision.Embedder, error)
	switch f.embedder {
	case embedderDlib:
		open = func() (vision.Embedder, error) {
			frames, err := dlib.OpenFrames(modelDir, false)
			if err != nil {
				return nil, err
			}
			det, err := yunet.Open(path, yunet.Options{})
			if err != nil {
				frames.Close()
				return nil, err
			}
			return embed.Dlib(det, frames, o), nil
		}
	case embedderONNX:
		settings, err := models.FindONNX(modelDir, f.onnxModel)
		if err != nil {
			return nil, err
		}
		open = func() (vision.Embedder, error) {
			net, err := onnx.Open(filepath.Join(modelDir, settings.File()), settings)
			if err != nil {
				return nil, err
			}
			det, err := yunet.Open(path, yunet.Options{})
			if err != nil {
				net.Close()
				return nil, err
			}
			return embed.ONNX(det, net, o), nil
		}
	default:
		return nil, usagef("--embedder %q: want %s or %s", f.embedder, embedderDlib, embedderONNX)
	}
	return f.newFinder(open)
}

// newFinder opens one embedder per worker.
func (f *faceFlags) newFinder(open func() (vision.Embedder, error)) (*faceFinder, error) {
	n := max(1, f.workers)
	ff := &faceFinder{free: make(chan vision.Embedder, n), opts: picture.Options{MaxSide: f.maxSide}}
	for i := 0; i < n; i++ {
		e, err := open()
		if err != nil {
			ff.Close()
			return nil, err
		}
		ff.recs = append(ff.recs, e)
		ff.free <- e
	}
	ff.model = ff.recs[0].Model()
	return ff, nil
}

// openONNX loads a registered network with dlib's detector and landmarks.
func openONNX(modelDir string, s models.ONNX, cnn bool) (*onnx.Embedder, error) {
	net, err := onnx.Open(filepath.Join(modelDir, s.File()), s)
	if err != nil {
		return nil, err
	}
	frames, err := dlib.OpenFrames(modelDir, cnn)
	if err != nil {
		net.Close()
		return nil, err
	}
	return onnx.NewEmbedder(frames, net, cnn), nil
}

// Workers is how many images can be processed at once.
func (ff *faceFinder) Workers() int { return len(ff.recs) }

// File returns every face of an image file, in the file's own pixel
// coordinates. The error names the file.
func (ff *faceFinder) File(path string) ([]vision.Face, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	p, err := picture.Prepare(data, ff.opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r := <-ff.free
	faces, err := r.Faces(p.JPEG)
	ff.free <- r
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range faces {
		faces[i].Box = p.Unscale(faces[i].Box)
		for k, pt := range faces[i].Landmarks {
			faces[i].Landmarks[k] = p.UnscalePoint(pt)
		}
		if five := faces[i].Five; five != nil && p.Scale != 1 {
			for k := range five {
				five[k] = vision.Point{X: five[k].X / p.Scale, Y: five[k].Y / p.Scale}
			}
		}
	}
	return faces, nil
}

func (ff *faceFinder) Close() {
	for _, r := range ff.recs {
		r.Close()
	}
}

// enrolFaces embeds the largest face of each image, with the model of the
// descriptors; every image must give one before anything is stored.
func enrolFaces(g *globals, ff *faceFlags, images []string) (descs [][]float32, sources []string, model vocab.Model, err error) {
	ff.workers = min(ff.workers, len(images))
	finder, err := ff.open(g.modelDir)
	if err != nil {
		return nil, nil, model, err
	}
	defer finder.Close()
	var failed []string
	embedFiles(finder, images, func(r embedResult) {
		switch k := vision.Largest(r.Faces); {
		case r.Err != nil:
			failed = append(failed, r.Err.Error())
		case k < 0:
			failed = append(failed, fmt.Sprintf("%s: %v", r.File, vision.ErrNoFace))
		default:
			if len(r.Faces) > 1 {
				g.log.Warn("several faces: enrolling the largest", "image", r.File, "faces", len(r.Faces))
			}
			descs = append(descs, r.Faces[k].Descriptor)
			sources = append(sources, filepath.Base(r.File))
		}
	})
	if len(failed) > 0 {
		return nil, nil, model, fmt.Errorf("nothing enrolled: %s", strings.Join(failed, "; "))
	}
	return descs, sources, finder.model, nil
}
