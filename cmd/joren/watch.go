package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"joren/vision/camera"
	"joren/vision/camera/cv"
	"joren/vision/capture"
	"joren/vision/doorsim/truth"
	"joren/vision/models"
	"joren/vision/picture"
	"joren/vision/pipeline"
	"joren/vision/quality"
	"joren/vision/track"
)

type watchFlags struct {
	source      string
	asJSON      bool
	descriptors bool
	size        string
	fps         float64
	realtime    bool
	start       string
	clock       string
	detector    string
	embedder    string
	onnxModel   string
	detectWidth int
	minFace     int
	k           int
	debugDir    string
	retries     int
	stall       time.Duration
	maxPixels   int64
}

// watchLine is one visit in --json output. "visit", "time" and
// "descriptors" are what `joren replay --visits` reads.
type watchLine struct {
	Visit       string             `json:"visit"`
	Time        time.Time          `json:"time"`
	End         time.Time          `json:"end"`
	Duration    float64            `json:"duration_s"`
	Faces       int                `json:"faces"`
	Quality     float64            `json:"quality"`
	Described   int                `json:"described"`
	FacePx      [2]int             `json:"face_px"`
	Rejected    quality.Rejections `json:"rejected"`
	Together    []string           `json:"together,omitempty"`
	Model       string             `json:"model"`
	Descriptors [][]float32        `json:"descriptors,omitempty"`
}

func newWatchCommand(g *globals) *cobra.Command {
	var f watchFlags
	cmd := &cobra.Command{
		Use:   "watch --source SRC [--json]",
		Short: "Watch a camera (or a recording) and print every visit: aim the camera with it",
		Long: `watch runs the live pipeline (motion gate, face detection, tracking, quality
gate, descriptors) on a source and prints one line per visit, one person's
passage through the door: when, how long, how many frames showed the face, how
many were good enough to describe, the best face's quality, and the face's size.
Use it when mounting the camera: a good position gives every passer-by a visit
with descriptors and faces of 120 pixels or more.

Sources (--source):
` + capture.Usage + `

A camera that disappears or a stream that stalls is reopened with backoff
(logged); --retries gives up after that many failures in a row. A recording is
read frame by frame as fast as the pipeline goes (--realtime plays it at its
frame rate and drops frames when busy, as a camera does); its frames are timed
from --start, or from the timeline of a ` + "`joren sim video`" + ` truth file (--clock).

With --json, one JSON object per visit:
  {"visit": ULID, "time": start, "end", "duration_s", "faces", "quality",
   "described", "face_px": [min, max], "rejected": {"small", "blurred", "turned"},
   "together": [visits seen at the same time], "model"}
and with --descriptors also "descriptors": [[...]] (visits without a usable
face are then left out), so that
  joren watch --source door.avi --clock door.json --json --descriptors > visits.jsonl
makes the input of ` + "`joren replay --visits`" + `. Visits come in the order their
passages began.

Privacy: frames and faces stay in memory. Nothing is written to disk unless
--debug-dir DIR is given, which saves every described face as a JPEG there.`,
		Args: exactArgs(0, "no arguments (the source is --source)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWatch(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "camera, stream, video file or image folder (see above)")
	fl.BoolVar(&f.asJSON, "json", false, "one JSON object per visit, one per line")
	fl.BoolVar(&f.descriptors, "descriptors", false, "with --json: include the descriptors (for joren replay --visits)")
	fl.StringVar(&f.size, "size", "", "resolution asked of a camera, WIDTHxHEIGHT (e.g. 640x480)")
	fl.Float64Var(&f.fps, "fps", 0, "frame rate asked of a camera; rate of an image folder (default 15)")
	fl.BoolVar(&f.realtime, "realtime", false, "play recordings at their frame rate, dropping frames when busy")
	fl.StringVar(&f.start, "start", "", "time of a recording's first frame, RFC 3339 (default: now)")
	fl.StringVar(&f.clock, "clock", "", "time frames from the \"timeline\" of this JSON file (a joren sim video truth file)")
	fl.StringVar(&f.detector, "detector", string(camera.Auto), "face detector: auto (yunet where the model directory has it, else hog), yunet (finds turned and small faces, with five landmarks that align them, for less CPU; its descriptors are another model: a store of hog's refuses them), hog (dlib's), or mmod (dlib's CNN: about 10 s per megapixel; lower --detect-width)")
	fl.StringVar(&f.embedder, "embedder", embedderDlib, "face descriptors: dlib (ResNet, 128-D) or onnx (a registered ArcFace-style network)")
	fl.StringVar(&f.onnxModel, "onnx-model", "", "with --embedder onnx: the registered network's name (default: the only one)")
	fl.IntVar(&f.detectWidth, "detect-width", 640, "frames wider than this are shrunk to it for detection (YuNet finds faces of about 20 px there, HOG of about 80)")
	fl.IntVar(&f.minFace, "min-face", quality.DefaultMinFace, "smallest face width, in pixels, that gets a descriptor")
	fl.IntVar(&f.k, "descriptors-per-visit", 3, "descriptors kept per visit, best first")
	fl.StringVar(&f.debugDir, "debug-dir", "", "write every described face (JPEG) and visits.jsonl here: face pictures on disk, for debugging only")
	fl.IntVar(&f.retries, "retries", 0, "give up after this many failures in a row to (re)open the source (0: never for cameras and streams, 3 for recordings)")
	fl.DurationVar(&f.stall, "stall", 10*time.Second, "a camera or stream without a frame for this long is reopened")
	fl.Int64Var(&f.maxPixels, "max-pixels", picture.DefaultMaxPixels, "image folder: skip images whose header claims more pixels, before decoding them; any other source: refuse frames with more pixels")
	return cmd
}

func (f watchFlags) captureOptions(g *globals) (capture.Options, error) {
	o := capture.Options{FPS: f.fps, Realtime: f.realtime, Stall: f.stall, Retry: capture.Retry{Attempts: f.retries}, MaxPixels: f.maxPixels, Log: g.log}
	if f.size != "" {
		w, h, ok := strings.Cut(strings.ToLower(f.size), "x")
		var err1, err2 error
		o.Width, err1 = strconv.Atoi(w)
		o.Height, err2 = strconv.Atoi(h)
		if !ok || err1 != nil || err2 != nil || o.Width <= 0 || o.Height <= 0 {
			return o, usagef("--size %q: want WIDTHxHEIGHT, such as 640x480", f.size)
		}
	}
	if f.fps < 0 || f.retries < 0 || f.stall <= 0 {
		return o, usagef("--fps and --retries must not be negative, --stall must be positive")
	}
	if err := picture.CheckMaxPixels("--max-pixels", f.maxPixels); err != nil {
		return o, usagef("%v", err)
	}
	if f.start != "" {
		t, err := time.Parse(time.RFC3339Nano, f.start)
		if err != nil {
			return o, usagef("--start %q: want an RFC 3339 time such as 2026-11-02T10:00:00+09:00", f.start)
		}
		o.Start = t
	}
	if f.clock != "" {
		tl, err := truth.ReadTimeline(f.clock)
		if err != nil {
			return o, fmt.Errorf("--clock: %w", err)
		}
		o.Timeline = tl
	}
	return o, nil
}

func runWatch(ctx context.Context, g *globals, f watchFlags) error {
	if f.source == "" {
		return usagef("watch needs --source (a camera such as /dev/video0, a stream URL, a video file or an image folder)")
	}
	if f.descriptors && !f.asJSON {
		return usagef("--descriptors goes with --json")
	}
	det, err := camera.ParseDetector(f.detector)
	if err != nil {
		return usagef("--detector: %v", err)
	}
	det, _ = camera.Choose(det, g.modelDir, "") // no store: as a new box's
	if f.detectWidth < 80 || f.minFace < 1 || f.k < 1 {
		return usagef("--detect-width must be at least 80, --min-face and --descriptors-per-visit at least 1")
	}
	if f.embedder != embedderDlib && f.embedder != embedderONNX {
		return usagef("--embedder %q: want %s or %s", f.embedder, embedderDlib, embedderONNX)
	}
	co, err := f.captureOptions(g)
	if err != nil {
		return err
	}
	src, err := capture.Open(f.source, co)
	if err != nil {
		return usagef("--source: %v", err)
	}
	fo := camera.FaceOptions{Detector: det, Log: g.log}
	if f.embedder == embedderONNX {
		s, err := models.FindONNX(g.modelDir, f.onnxModel)
		if err != nil {
			return err
		}
		fo.ONNX = &s
	}
	faces, err := cv.Open(g.modelDir, fo)
	if err != nil {
		return err
	}
	defer faces.Close()
	cfg := pipeline.Config{
		DetectWidth: f.detectWidth,
		Gate:        quality.Gate{MinFace: f.minFace},
		Log:         g.log,
	}
	cfg.Track.K = f.k
	if f.debugDir != "" {
		dbg, err := pipeline.NewDebugDir(f.debugDir)
		if err != nil {
			return err
		}
		defer dbg.Close()
		cfg.Debug = dbg
		g.log.Warn("writing the pictures of described faces to disk (--debug-dir)", "dir", f.debugDir)
	}
	p := pipeline.New(faces, faces, cfg)
	out := make(chan track.Visit)
	done := make(chan error, 1)
	begin := time.Now()
	go func() { done <- p.Run(ctx, src, out) }()
	enc := json.NewEncoder(g.stdout)
	for v := range out {
		if f.asJSON {
			if f.descriptors && !v.Usable() {
				g.log.Info("visit without a usable face left out", "visit", v.ID, "faces", v.Faces, "rejected", fmt.Sprintf("%+v", v.Rejected))
				continue
			}
			enc.Encode(toWatchLine(v, f.descriptors))
		} else {
			printVisit(g.stdout, v)
		}
	}
	err = <-done
	summary(g, f.asJSON, p.Stats(), src.Stats(), time.Since(begin))
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // interrupted: what was seen is printed
	}
	return err
}

func toWatchLine(v track.Visit, withDescriptors bool) watchLine {
	l := watchLine{
		Visit: v.ID, Time: v.Start, End: v.End, Duration: v.End.Sub(v.Start).Seconds(),
		Faces: v.Faces, Quality: v.Quality, Described: len(v.Descriptors),
		FacePx: [2]int{v.MinFace, v.MaxFace}, Rejected: v.Rejected, Together: v.Together, Model: v.Model.ID(),
	}
	if withDescriptors {
		l.Descriptors = v.Descriptors
	}
	return l
}

func printVisit(w io.Writer, v track.Visit) {
	fmt.Fprintf(w, "%s  %5.1f s  %3d faces  ", v.Start.Format("2006-01-02 15:04:05"), v.End.Sub(v.Start).Seconds(), v.Faces)
	if v.Usable() {
		fmt.Fprintf(w, "%d described, quality %.2f", len(v.Descriptors), v.Quality)
	} else {
		fmt.Fprintf(w, "no usable face")
	}
	fmt.Fprintf(w, "  face %d-%d px", v.MinFace, v.MaxFace)
	if r := v.Rejected; r.Total() > 0 {
		var why []string
		for _, c := range []struct {
			n    int
			what string
		}{{r.Small, "small"}, {r.Blurred, "blurred"}, {r.Turned, "turned"}, {r.Cut, "cut by the frame's edge"}} {
			if c.n > 0 {
				why = append(why, fmt.Sprintf("%d %s", c.n, c.what))
			}
		}
		fmt.Fprintf(w, "  (%s)", strings.Join(why, ", "))
	}
	if len(v.Together) > 0 {
		fmt.Fprintf(w, "  with %d other(s)", len(v.Together))
	}
	fmt.Fprintf(w, "  %s\n", v.ID)
}

// summary reports the run, with advice for the installer when faces were
// mostly too small, blurred or turned.
func summary(g *globals, asJSON bool, st pipeline.Stats, cs capture.Stats, took time.Duration) {
	fps := float64(st.Frames) / max(took.Seconds(), 1e-9)
	if asJSON {
		g.log.Info("watch done", "frames", st.Frames, "dropped", cs.Dropped, "searched", st.Searched, "faces", st.Faces,
			"described", st.Described, "visits", st.Visits, "usable", st.Usable, "fps", fmt.Sprintf("%.1f", fps))
		return
	}
	w := g.stdout
	fmt.Fprintf(w, "%d visit(s), %d with descriptors; %d frames (%d dropped, %d unreadable, %d reconnections) in %s: %.1f frames/s\n",
		st.Visits, st.Usable, st.Frames, cs.Dropped, cs.Unreadable, cs.Reconnects, took.Round(time.Millisecond), fps)
	fmt.Fprintf(w, "motion in %d frames, faces searched in %d, %d faces found, %d good enough, %d described\n",
		st.Moving, st.Searched, st.Faces, st.Worth, st.Described)
	if st.Faces > 0 && st.Worth*2 < st.Faces {
		fmt.Fprintln(w, "hint: most faces were too small, blurred or turned away: see the reasons per visit; move the camera closer to where faces look at it, or raise --size")
	}
	if cs.Dropped > st.Frames {
		fmt.Fprintln(w, "hint: most frames were dropped: the pipeline is too slow for this resolution; lower --size or --detect-width")
	}
}
