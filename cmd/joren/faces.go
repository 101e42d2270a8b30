package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sync/semaphore"

	"joren/appliance/control"
	"joren/vision"
	"joren/vision/camera"
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
	maxPixels int64
	workers   int
	// stored is the name of the model of the store the faces are for (""
	// for none): --detector auto describes faces as its people were
	// (storePlace.faces sets it).
	stored string
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

// settle turns --detector auto into the detector camera.Choose picks for
// the model directory and the store's model.
func (f *faceFlags) settle(modelDir string) error {
	d, err := camera.ParseDetector(f.detector)
	if err != nil {
		return usagef("--detector: %v", err)
	}
	switch d {
	case camera.Auto:
		d, _ = camera.Choose(d, modelDir, f.stored)
		f.detector = string(d)
	case camera.MMOD:
		f.detector = string(dlib.CNN) // dlib's name for it
	}
	return nil
}

// dlibVariant is the model of dlib's network base whose name the model id
// names (`NAME@DIGEST` or `NAME`): dlib's own chips, five-point chips,
// mirrored or not (embed.Variant). Not one of them: base, false.
func dlibVariant(base vocab.Model, id string) (vocab.Model, bool) {
	name, _, _ := strings.Cut(id, "@")
	for _, five := range []bool{false, true} {
		for _, mirror := range []bool{false, true} {
			if m := embed.Variant(base, five, mirror); m.Name == name {
				return m, true
			}
		}
	}
	return base, false
}

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
	case mirrorAuto, "": // "": flags built in code, not parsed
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
	cmd.Flags().StringVar(&f.detector, "detector", string(camera.Auto), "face detector: auto (yunet where the model directory has it, unless the identity store's people were described from hog's faces), yunet (finds turned and small faces, with five landmarks that align the face), hog (dlib) or cnn (dlib's MMOD: finds more faces, seconds per image)")
	cmd.Flags().IntVar(&f.jitter, "jitter", 0, "average each descriptor over this many jittered copies (slower, steadier)")
	cmd.Flags().StringVar(&f.mirror, "mirror", mirrorAuto, "with --detector yunet: average each descriptor with its mirror image's: on, off, or auto (on for dlib, where it raised ROC AUC by 0.04 for 60% more time; off for ONNX networks, where it changed nothing; docs/embedders.md)")
	cmd.Flags().IntVar(&f.maxSide, "max-side", 2000, "scale larger images down to this many pixels on their longer side before detection (0: never)")
	cmd.Flags().Int64Var(&f.maxPixels, "max-pixels", picture.DefaultMaxPixels, "refuse images whose header claims more pixels, before decoding them (the default fits a 2 GB Raspberry Pi)")
	cmd.Flags().IntVar(&f.workers, "workers", min(runtime.NumCPU(), 2), "images processed at once (each loads its own copy of the models)")
}

// faceFinder finds the faces of image files.
type faceFinder struct {
	recs  []vision.Embedder
	free  chan vision.Embedder
	opts  picture.Options
	model vocab.Model
	// decoding weighs the pictures being decoded by their pixels, up to
	// the limit of one: however many workers there are, decoding never
	// needs more memory than the largest picture allowed.
	decoding *semaphore.Weighted
}

func (f *faceFlags) open(modelDir string) (*faceFinder, error) {
	if f.jitter < 0 || f.maxSide < 0 {
		return nil, usagef("--jitter and --max-side must not be negative")
	}
	if err := picture.CheckMaxPixels("--max-pixels", f.maxPixels); err != nil {
		return nil, usagef("%v", err)
	}
	if err := f.settle(modelDir); err != nil {
		return nil, err
	}
	if f.detector == detectorYuNet {
		return f.openYuNet(modelDir)
	}
	if f.mirror != mirrorAuto && f.mirror != mirrorOff && f.mirror != "" {
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
			// dlib's ResNet only: YuNet's five points cut the chip.
			frames, err := dlib.OpenParts(modelDir, dlib.Parts{ResNet: true})
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
	ff := &faceFinder{
		free:     make(chan vision.Embedder, n),
		opts:     picture.Options{MaxSide: f.maxSide, MaxPixels: f.maxPixels},
		decoding: semaphore.NewWeighted(f.maxPixels),
	}
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
	data, err := picture.ReadFile(path, ff.opts.MaxPixels)
	if err != nil {
		return nil, err // names the file
	}
	p, err := ff.prepare(data)
	var large *picture.TooLargeError
	if errors.As(err, &large) && large.Limit > 0 {
		return nil, fmt.Errorf("%s: %w (raise the limit with --max-pixels)", path, err)
	}
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

// prepare decodes a picture once the pixels being decoded by the other
// workers leave room for it.
func (ff *faceFinder) prepare(data []byte) (picture.Prepared, error) {
	weight := int64(1)
	if h, err := picture.ReadHeader(data); err == nil {
		weight = min(max(h.Pixels(), 1), ff.opts.MaxPixels)
	}
	if err := ff.decoding.Acquire(context.Background(), weight); err != nil {
		return picture.Prepared{}, err
	}
	defer ff.decoding.Release(weight)
	return picture.Prepare(data, ff.opts)
}

func (ff *faceFinder) Close() {
	for _, r := range ff.recs {
		r.Close()
	}
}

// enrolFaces embeds the largest face of each image with the models in
// modelDir: one descriptor per image, named by the file, with their model;
// every image must give one before anything is stored.
func enrolFaces(g *globals, ff *faceFlags, modelDir string, images []string) (control.Faces, error) {
	ff.workers = min(ff.workers, len(images))
	finder, err := ff.open(modelDir)
	if err != nil {
		return control.Faces{}, err
	}
	defer finder.Close()
	var (
		faces  = control.Faces{Model: finder.model}
		failed []string
	)
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
			faces.Descriptors = append(faces.Descriptors, r.Faces[k].Descriptor)
			faces.Sources = append(faces.Sources, filepath.Base(r.File))
		}
	})
	if len(failed) > 0 {
		return control.Faces{}, fmt.Errorf("nothing enrolled: %s", strings.Join(failed, "; "))
	}
	return faces, nil
}
