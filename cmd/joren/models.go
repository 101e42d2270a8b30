package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"joren/vision/dlib"
	"joren/vision/models"
	"joren/vision/yunet"
)

func newModelsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Provision and check the face models (fetch, build, verify)",
		Long: `The face pipeline loads its models from one directory (--models):
  ` + models.ShapePredictorFile + `   landmarks, to align each face
  ` + models.ResNetFile + `   the 128-D descriptor network
  ` + models.DetectorFile + `   the CNN face detector
  ` + models.YuNetFile + `   YuNet, faces and five landmarks in one pass

fetch downloads dlib's official files (needs internet); build makes them offline
from face-api's weights, a checked detector file and Debian's landmark model.`,
	}
	cmd.AddCommand(newModelsFetchCommand(g), newModelsBuildCommand(g), newModelsVerifyCommand(g), newModelsAddONNXCommand(g), newModelsProbeONNXCommand(g))
	return cmd
}

func newModelsFetchCommand(g *globals) *cobra.Command {
	var (
		base      = models.DlibBaseURL
		yunetURLs []string
		sfaceURLs []string
		photos    string
	)
	cmd := &cobra.Command{
		Use:   "fetch [dlib] [yunet] [sface]",
		Short: "Download model files (default: dlib's official files and YuNet), check their sha256 and install them",
		Long: `fetch downloads model files, checks each against its pinned sha256 and
installs it, with its licence notice where its licence requires one:
  dlib    dlib's official files (CC0) from dlib.net
  yunet   YuNet (Apache-2.0) from OpenCV Zoo, or libfacedetection.train if
          that fails
  sface   OpenCV Zoo's SFace face recognition network (Apache-2.0, 39 MB),
          registered for --embedder onnx as add-onnx would, after checking it
          on the labelled photos of --photos (needs YuNet)
Without arguments: dlib and yunet.`,
		ValidArgs: []string{"dlib", "yunet", "sface"},
		RunE: func(cmd *cobra.Command, args []string) error {
			want := map[string]bool{}
			for _, a := range args {
				switch a {
				case "dlib", "yunet", "sface":
					want[a] = true
				default:
					return usagef("fetch %q: want dlib, yunet or sface", a)
				}
			}
			if len(args) == 0 {
				want["dlib"], want["yunet"] = true, true
			}
			var check *onnxCheck
			if want["sface"] {
				c, err := newONNXCheckPhotos(photos)
				if err != nil {
					return err
				}
				check = c
			}
			var remotes []models.Remote
			if want["dlib"] {
				remotes = append(remotes, models.Official(base)...)
			}
			if want["yunet"] {
				remotes = append(remotes, models.YuNetRemote(yunetURLs...))
			}
			if len(remotes) > 0 {
				err := models.Fetch(cmd.Context(), models.FetchOptions{Dir: g.modelDir, Remotes: remotes, Progress: downloadBar(g.stderr), Log: g.log})
				if err != nil {
					return fmt.Errorf("fetching models into %s: %w", g.modelDir, err)
				}
				fmt.Fprintf(g.stdout, "%d model file(s) in %s checked and installed\n", len(remotes), g.modelDir)
			}
			if !want["sface"] {
				return nil
			}
			check.yunet = filepath.Join(g.modelDir, models.YuNetFile)
			if _, err := os.Stat(check.yunet); err != nil {
				return fmt.Errorf("checking SFace needs YuNet to find faces: %s is missing (joren models fetch yunet sface)", check.yunet)
			}
			err := models.FetchONNX(cmd.Context(), models.FetchONNXOptions{
				Dir: g.modelDir, Remote: models.SFaceRemote(sfaceURLs...), Settings: models.SFace.Settings,
				Progress: downloadBar(g.stderr), Log: g.log, Probe: check.probe,
			})
			if err != nil {
				return fmt.Errorf("fetching SFace into %s: %w", g.modelDir, err)
			}
			fmt.Fprintf(g.stdout, "SFace registered as %s (use --embedder onnx --onnx-model %s)\n", models.SFace.Settings.Name, models.SFace.Settings.Name)
			if check.report != "" {
				fmt.Fprintln(g.stdout, check.report)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&base, "base-url", base, "where dlib's .bz2 files are served (a mirror of dlib.net/files)")
	f.StringSliceVar(&yunetURLs, "yunet-url", nil, "where YuNet is downloaded from, tried in turn (default: OpenCV Zoo, then libfacedetection.train)")
	f.StringSliceVar(&sfaceURLs, "sface-url", nil, "where SFace is downloaded from, tried in turn (default: OpenCV Zoo)")
	f.StringVar(&photos, "photos", "", "with sface: "+photosHelp)
	return cmd
}

func newModelsBuildCommand(g *globals) *cobra.Command {
	var (
		o        models.BuildOptions
		testONNX bool
		photos   string
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the model files offline (converted ResNet, checked detector, Debian's landmarks)",
		Long: `build provisions the model directory without dlib.net:
  - ` + models.ResNetFile + ` is converted from npm ` + models.FaceAPI.Package + `@` + models.FaceAPI.Version + `
    (MIT): dlib's network, stored 8-bit quantised; descriptors move by about 0.04.
    --face-api takes the npm tarball or its model/ directory; without it the
    pinned tarball is downloaded from the npm registry once and cached.
  - ` + models.DetectorFile + ` and ` + models.YuNetFile + ` are copied from
    --detector-dir after checking them against that directory's SHA256SUMS and
    their pinned sha256; YuNet's licence notice (Apache-2.0) is installed
    beside it.
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
				check, err := newONNXCheck(g, photos)
				if err != nil {
					return err
				}
				if err := models.RegisterTestONNX(cmd.Context(), g.modelDir, o.CacheDir, nil, g.log, check.probe); err != nil {
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
	cmd.Flags().StringVar(&o.DetectorDir, "detector-dir", "", "directory with "+models.DetectorFile+", "+models.YuNetFile+" and SHA256SUMS (required)")
	cmd.Flags().StringVar(&o.ShapePredictor68, "shape-predictor", models.DebianShapePredictor68, "dlib 68-point landmark model to install")
	cmd.Flags().BoolVar(&testONNX, "test-onnx", false, "also register the ONNX test network (npm "+models.TestONNX.Package+"@"+models.TestONNX.Version+"; tests and measurement only; needs --photos)")
	cmd.Flags().StringVar(&photos, "photos", "", "with --test-onnx: "+photosHelp)
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
				if _, ok := man.Lookup(models.YuNetFile); ok {
					d, err := yunet.Open(filepath.Join(dir, models.YuNetFile), yunet.Options{})
					if err != nil {
						return err
					}
					d.Close()
				}
				for _, e := range man.Files {
					if e.ONNX != nil {
						if _, err := probeONNX(filepath.Join(dir, e.Name), *e.ONNX); err != nil {
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
