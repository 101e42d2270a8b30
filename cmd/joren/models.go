package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"joren/vision/dlib"
	"joren/vision/models"
	"joren/vision/onnx"
)

func newModelsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Provision and check the face models (fetch, build, verify)",
		Long: `The face pipeline loads three dlib files from one directory (--models):
  ` + models.ShapePredictorFile + `   landmarks, to align each face
  ` + models.ResNetFile + `   the 128-D descriptor network
  ` + models.DetectorFile + `   the CNN face detector

fetch downloads dlib's official files (needs internet); build makes them offline
from face-api's weights, a checked detector file and Debian's landmark model.`,
	}
	cmd.AddCommand(newModelsFetchCommand(g), newModelsBuildCommand(g), newModelsVerifyCommand(g), newModelsAddONNXCommand(g), newModelsProbeONNXCommand())
	return cmd
}

func newModelsFetchCommand(g *globals) *cobra.Command {
	base := models.DlibBaseURL
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Download dlib's official model files, check their sha256 and install them",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := models.Fetch(cmd.Context(), models.FetchOptions{
				Dir:      g.modelDir,
				Remotes:  models.Official(base),
				Progress: downloadBar(g.stderr),
				Log:      g.log,
			})
			if err != nil {
				return fmt.Errorf("fetching models into %s: %w", g.modelDir, err)
			}
			fmt.Fprintf(g.stdout, "models in %s are dlib's official files\n", g.modelDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "base-url", base, "where the .bz2 files are served (a mirror of dlib.net/files)")
	return cmd
}

func newModelsBuildCommand(g *globals) *cobra.Command {
	var (
		o        models.BuildOptions
		testONNX bool
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the model files offline (converted ResNet, checked detector, Debian's landmarks)",
		Long: `build provisions the model directory without dlib.net:
  - ` + models.ResNetFile + ` is converted from npm ` + models.FaceAPI.Package + `@` + models.FaceAPI.Version + `
    (MIT): dlib's network, stored 8-bit quantised; descriptors move by about 0.04.
    --face-api takes the npm tarball or its model/ directory; without it the
    pinned tarball is downloaded from the npm registry once and cached.
  - ` + models.DetectorFile + ` is copied from --detector-dir after checking it
    against that directory's SHA256SUMS and the official sha256.
  - ` + models.ShapePredictorFile + ` is Debian's 68-point model (libdlib-data):
    NOT for commercial use; a warning says so every time.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Dir, o.Log, o.WriteResNet = g.modelDir, g.log, dlib.WriteResNet
			warnings, err := models.Build(cmd.Context(), o)
			if err != nil {
				return fmt.Errorf("building models into %s: %w", g.modelDir, err)
			}
			if testONNX {
				if err := models.RegisterTestONNX(cmd.Context(), g.modelDir, o.CacheDir, nil, g.log, probeONNX); err != nil {
					return fmt.Errorf("registering the test ONNX model: %w", err)
				}
				warnings = append(warnings, "the test ONNX model "+models.TestONNX.Settings.Name+"'s licence is "+models.TestONNX.Licence)
			}
			for _, w := range warnings {
				fmt.Fprintf(g.stderr, "WARNING: %s\n", w)
			}
			fmt.Fprintf(g.stdout, "models built in %s\n", g.modelDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.FaceAPI, "face-api", "", "face-api npm tarball or its model/ directory (default: download the pinned tarball)")
	cmd.Flags().StringVar(&o.CacheDir, "cache", "", "download cache (default: the user cache directory, joren/)")
	cmd.Flags().StringVar(&o.DetectorDir, "detector-dir", "", "directory with "+models.DetectorFile+" and SHA256SUMS (required)")
	cmd.Flags().StringVar(&o.ShapePredictor68, "shape-predictor", models.DebianShapePredictor68, "dlib 68-point landmark model to install")
	cmd.Flags().BoolVar(&testONNX, "test-onnx", false, "also register the ONNX test network (npm "+models.TestONNX.Package+"@"+models.TestONNX.Version+"; tests and measurement only)")
	return cmd
}

func newModelsAddONNXCommand(g *globals) *cobra.Command {
	var (
		o    models.RegisterOptions
		swap bool
	)
	cmd := &cobra.Command{
		Use:   "add-onnx FILE.onnx --name NAME --threshold T [--size 112 --scale S --mean M --swap-rb]",
		Short: "Register an ArcFace-style ONNX face network for --embedder onnx",
		Long: `add-onnx copies an ONNX face recognition network into the model directory and
records its input settings and sha256 in MANIFEST. The network must take an
aligned size x size face (ArcFace's 112-pixel template) and output one
descriptor, compared by cosine distance. It is loaded and run once before it is
accepted.

Input: pixels are (value - mean) * scale, in RGB order with --swap-rb.
  OpenCV Zoo's SFace (Apache-2.0):  --size 112 --scale 1 --mean 0 --swap-rb
  InsightFace-style MobileFaceNet:  --size 112 --scale 0.0078125 --mean 127.5 --swap-rb
--threshold is the cosine distance under which two faces are one person:
measure it on labelled photos of your own with ` + "`joren evaluate`" + `.`,
		Args: exactArgs(1, "one .onnx file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir, o.Source, o.Probe = g.modelDir, args[0], probeONNX
			o.Settings.SwapRB = swap
			if err := models.RegisterONNX(o); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "registered %s as %s in %s (use --embedder onnx)\n", args[0], o.Settings.Name, g.modelDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Settings.Name, "name", "", "name of the network (required)")
	f.IntVar(&o.Settings.Size, "size", 112, "side of the square input, in pixels")
	f.Float64Var(&o.Settings.Scale, "scale", 1.0/128, "multiplier applied after the mean is subtracted")
	f.Float64Var(&o.Settings.Mean, "mean", 127.5, "value subtracted from every channel")
	f.BoolVar(&swap, "swap-rb", true, "feed RGB (most networks) instead of OpenCV's BGR")
	f.Float64Var(&o.Settings.Threshold, "threshold", 0, "same-person cosine distance, measured (required)")
	f.StringVar(&o.SHA256, "sha256", "", "expected sha256 of the file")
	f.StringVar(&o.Licence, "licence", "", "the network's licence, recorded in MANIFEST")
	return cmd
}

// probeONNX loads and runs a network once, in a child process: OpenCV
// aborts the process on a network it cannot run (its C++ exception crosses
// gocv uncaught), and that must not take joren down with it.
func probeONNX(path string, s models.ONNX) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("trying the network: %w", err)
	}
	settings, _ := json.Marshal(s)
	cmd := exec.Command(exe, "models", "probe-onnx", "--settings", string(settings), path)
	// A test binary runs main when it sees this (see main_test.go).
	cmd.Env = append(os.Environ(), "JOREN_RUN_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	// Keep OpenCV's own explanation (the exception's what()), or joren's
	// error, and drop the Go runtime's stack dump.
	why := err.Error()
	for _, l := range strings.Split(string(out), "\n") {
		if _, msg, ok := strings.Cut(l, "what():"); ok {
			why = strings.TrimSpace(msg)
			break
		}
		if msg, ok := strings.CutPrefix(l, "joren: "); ok {
			why = msg
		}
	}
	return fmt.Errorf("OpenCV cannot run this network with these settings: %s", why)
}

func newModelsProbeONNXCommand() *cobra.Command {
	var settings string
	cmd := &cobra.Command{
		Use:    "probe-onnx --settings JSON FILE",
		Short:  "Load and run an ONNX network once (used by add-onnx, in a child process)",
		Hidden: true,
		Args:   exactArgs(1, "one .onnx file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s models.ONNX
			if err := json.Unmarshal([]byte(settings), &s); err != nil {
				return usagef("--settings: %v", err)
			}
			n, err := onnx.Open(args[0], s)
			if err != nil {
				return err
			}
			return n.Close()
		},
	}
	cmd.Flags().StringVar(&settings, "settings", "", "the network's settings as JSON")
	return cmd
}

func newModelsVerifyCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check every model file against MANIFEST and load the models",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			status, err := models.Verify(g.modelDir, func(dir string) error {
				r, err := dlib.Open(dir, dlib.Options{})
				if err != nil {
					return err
				}
				r.Close()
				man, err := models.ReadManifest(dir)
				if err != nil {
					return err
				}
				for _, e := range man.Files {
					if e.ONNX != nil {
						if err := probeONNX(filepath.Join(dir, e.Name), *e.ONNX); err != nil {
							return err
						}
					}
				}
				return nil
			})
			printModelStatus(g.stdout, status)
			if err != nil {
				return fmt.Errorf("verifying models in %s: %w", g.modelDir, err)
			}
			fmt.Fprintf(g.stdout, "all model files present, intact and loadable\n")
			return nil
		},
	}
}

func printModelStatus(w io.Writer, status []models.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSIZE\tSHA256\tSTATUS\tORIGIN")
	for _, s := range status {
		st := "ok"
		if s.Problem != "" {
			st = s.Problem
		}
		sum := s.SHA256
		if len(sum) > 12 {
			sum = sum[:12]
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", s.Name, s.Size, sum, st, s.Origin)
	}
	tw.Flush()
}
