package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"joren/vision/embed"
	"joren/vision/models"
	"joren/vision/onnx"
	"joren/vision/yunet"
)

// photosHelp says what --photos wants.
const photosHelp = "labelled photos the network is checked on before it is accepted: at least 4 with a frontal face, of 2 people or more, 2 of one person, named person1.jpg, person2.jpg, ... (the people at your door, ideally)"

func newModelsAddONNXCommand(g *globals) *cobra.Command {
	var (
		o      models.RegisterOptions
		swap   bool
		photos string
	)
	cmd := &cobra.Command{
		Use:   "add-onnx FILE.onnx --name NAME --threshold T --photos DIR [--size 112 --scale S --mean M --swap-rb]",
		Short: "Register an ArcFace-style ONNX face network for --embedder onnx, after checking it",
		Long: `add-onnx copies an ONNX face recognition network into the model directory and
records its input settings and sha256 in MANIFEST. The network must take an
aligned size x size face (ArcFace's 112-pixel template) and output one
descriptor, compared by cosine distance.

Before it is accepted, the network is checked: the input and output the file
declares (one 3 x size x size image, one descriptor of 32-4096 values); then,
in a child process (OpenCV aborts on a network it cannot run), it is loaded,
run, and tried on the labelled photos of --photos, faces found and aligned by
YuNet: the same face at 3/4 size must give nearly the same descriptor,
photos of different people must be at least 10% farther apart on average than
photos of one person, and --threshold must lie between the two.

Input: pixels are (value - mean) * scale, in RGB order with --swap-rb.
  OpenCV Zoo's SFace (Apache-2.0):  --size 112 --scale 1 --mean 0 --swap-rb
    (or simply: joren models fetch --sface --photos DIR)
  InsightFace-style MobileFaceNet:  --size 112 --scale 0.0078125 --mean 127.5 --swap-rb
--threshold is the cosine distance under which two faces are one person:
measure it on labelled photos of your own with ` + "`joren evaluate`" + `.`,
		Args: exactArgs(1, "one .onnx file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			check, err := newONNXCheck(g, photos)
			if err != nil {
				return err
			}
			o.Dir, o.Source, o.Probe = g.modelDir, args[0], check.probe
			o.Settings.SwapRB = swap
			if err := models.RegisterONNX(o); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "registered %s as %s in %s (use --embedder onnx)\n%s\n", args[0], o.Settings.Name, g.modelDir, check.report)
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
	f.StringVar(&photos, "photos", "", photosHelp+" (required)")
	return cmd
}

// onnxCheck tries networks before they are registered: in a child
// process, with YuNet from the model directory, on labelled photos.
type onnxCheck struct {
	photos, yunet string
	// report describes the last successful check.
	report string
}

// newONNXCheck checks networks on photos with the model directory's
// YuNet, which must be there.
func newONNXCheck(g *globals, photos string) (*onnxCheck, error) {
	c, err := newONNXCheckPhotos(photos)
	if err != nil {
		return nil, err
	}
	c.yunet = filepath.Join(g.modelDir, models.YuNetFile)
	if _, err := os.Stat(c.yunet); err != nil {
		return nil, fmt.Errorf("checking the network needs YuNet to find faces: %s is missing (run `joren models build` or `joren models fetch` first)", c.yunet)
	}
	return c, nil
}

// newONNXCheckPhotos checks the photos folder only (YuNet is fetched
// after it).
func newONNXCheckPhotos(photos string) (*onnxCheck, error) {
	if photos == "" {
		return nil, usagef("--photos: %s", photosHelp)
	}
	if st, err := os.Stat(photos); err != nil || !st.IsDir() {
		return nil, usagef("--photos %s: not a folder of photos", photos)
	}
	return &onnxCheck{photos: photos}, nil
}

// probe runs and checks the network (models.RegisterOptions.Probe).
func (c *onnxCheck) probe(path string, s models.ONNX) error {
	out, err := probeONNX(path, s, "--photos", c.photos, "--yunet", c.yunet)
	if err != nil {
		return err
	}
	var r embed.Consistency
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("checking the network: the check's report %q: %w", out, err)
	}
	c.report = fmt.Sprintf("checked on %d photos of %d people: %d values per face; the same face at 3/4 size %.3f apart at most, photos of one person %.3f on average, of different people %.3f (threshold %.3f); ROC AUC %.3f",
		r.Photos, r.People, r.Dim, r.Repeat, r.Same, r.Different, s.Threshold, r.AUC)
	return nil
}

// probeONNX loads and runs a network once, in a child process, with more
// arguments for the child (--photos, --yunet: check it too) and returns
// the child's output: OpenCV aborts the process on a network it cannot
// run (its C++ exception crosses gocv uncaught), and that must not take
// joren down with it.
func probeONNX(path string, s models.ONNX, more ...string) ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("trying the network: %w", err)
	}
	settings, _ := json.Marshal(s)
	args := append([]string{"models", "probe-onnx", "--settings", string(settings)}, more...)
	cmd := exec.Command(exe, append(args, path)...)
	// A test binary runs main when it sees this (see main_test.go).
	cmd.Env = append(os.Environ(), "JOREN_RUN_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	// Keep OpenCV's own explanation (the exception's what()), or joren's
	// error, and drop the Go runtime's stack dump.
	why := err.Error()
	for _, l := range strings.Split(stderr.String(), "\n") {
		if _, msg, ok := strings.Cut(l, "what():"); ok {
			return nil, fmt.Errorf("OpenCV cannot run this network with these settings: %s", strings.TrimSpace(msg))
		}
		if msg, ok := strings.CutPrefix(l, "joren: "); ok {
			why = msg
		}
	}
	return nil, fmt.Errorf("the network failed its check: %s", why)
}

func newModelsProbeONNXCommand(g *globals) *cobra.Command {
	var settings, photos, yunetFile string
	cmd := &cobra.Command{
		Use:    "probe-onnx --settings JSON [--photos DIR --yunet FILE] FILE",
		Short:  "Load and run an ONNX network once, and check it on photos (used by add-onnx, in a child process)",
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
			defer n.Close()
			if photos == "" {
				return nil
			}
			det, err := yunet.Open(yunetFile, yunet.Options{})
			if err != nil {
				return err
			}
			defer det.Close()
			files, err := imageFiles(photos)
			if err != nil {
				return err
			}
			faces, err := embed.CheckFaces(det, files)
			if err != nil {
				return err
			}
			r, err := embed.CheckNetwork(n, faces)
			if err != nil {
				return err
			}
			return json.NewEncoder(g.stdout).Encode(r)
		},
	}
	cmd.Flags().StringVar(&settings, "settings", "", "the network's settings as JSON")
	cmd.Flags().StringVar(&photos, "photos", "", "labelled photos to check the network on")
	cmd.Flags().StringVar(&yunetFile, "yunet", "", "YuNet's model file, to find the faces of --photos")
	return cmd
}
