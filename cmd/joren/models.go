package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"joren/vision/dlib"
	"joren/vision/models"
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
	cmd.AddCommand(newModelsFetchCommand(g), newModelsBuildCommand(g), newModelsVerifyCommand(g))
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
	var o models.BuildOptions
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
				return r.Close()
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
