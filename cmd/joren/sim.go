package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"joren/vision/doorsim"
	"joren/vision/doorsim/truth"
)

func newSimCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Synthesise test input: a door camera's video from still photos",
	}
	cmd.AddCommand(newSimVideoCommand(g))
	return cmd
}

func newSimVideoCommand(g *globals) *cobra.Command {
	var (
		o        doorsim.Options
		out      string
		images   string
		scenario string
		size     string
		start    string
	)
	defImages := filepath.Join("..", "shared", "faces", "images")
	if d := os.Getenv("JOREN_SHARED"); d != "" {
		defImages = filepath.Join(d, "faces", "images")
	}
	cmd := &cobra.Command{
		Use:   "video [-o door.avi]",
		Short: "Make a door-camera video (MJPG AVI) of people from photos, with its ground truth",
		Long: `video cuts the person out of every photo of --images that shows one face and
makes them walk through a drawn doorway: entering from one side (fast, motion-
blurred), growing as they approach the camera, leaving on the other side; empty
stretches in between; some people pass twice a day (in and out), some pass in
pairs; over --days days, --regulars of them come every day and the others once.

Beside the video, FILE.json lists every passage (person, photo, the frames in
which the face is entirely in view, their times), the empty stretches, and a
timeline of simulated wall-clock times (passages minutes apart, days a day
apart). Play it with
  joren watch --source door.avi --clock door.json

Scenarios: door (people passing), empty (the empty doorway for --duration, for
CPU measurements), steady (one person in view for --duration).

The photos' people are named after their files, without digits and extension
(bona2.jpg is "bona"). The same seed and photos give the same video.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := doorsim.ParseScenario(scenario)
			if err != nil {
				return usagef("--scenario: %v", err)
			}
			o.Scenario = sc
			if size != "" {
				w, h, ok := strings.Cut(strings.ToLower(size), "x")
				var e1, e2 error
				o.Width, e1 = strconv.Atoi(w)
				o.Height, e2 = strconv.Atoi(h)
				if !ok || e1 != nil || e2 != nil {
					return usagef("--size %q: want WIDTHxHEIGHT, such as 640x480", size)
				}
			}
			if start != "" {
				t, err := time.Parse(time.RFC3339, start)
				if err != nil {
					return usagef("--start %q: want an RFC 3339 time such as 2026-11-02T10:00:00+09:00", start)
				}
				o.Start = t
			}
			if !strings.EqualFold(filepath.Ext(out), ".avi") {
				return usagef("-o %s: the video is an MJPG AVI; name it .avi", out)
			}
			tr, err := makeDoorVideo(cmd.Context(), g, images, out, o)
			if err != nil {
				return err
			}
			people := map[string]bool{}
			for _, p := range tr.Passages {
				people[p.Person] = true
			}
			fmt.Fprintf(g.stdout, "%s: %d frames (%.1f s at %g fps, %dx%d), %d passages of %d people\n%s: the ground truth\n",
				out, tr.Frames, float64(tr.Frames)/tr.FPS, tr.FPS, tr.Width, tr.Height, len(tr.Passages), len(people), truth.Path(out))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&out, "output", "o", "door.avi", "the video to write (.avi); the truth goes beside it (.json)")
	fl.StringVar(&images, "images", defImages, "folder of photos to cut people from")
	fl.StringVar(&scenario, "scenario", string(doorsim.Door), "door, empty or steady")
	fl.StringVar(&size, "size", "640x480", "frame size, WIDTHxHEIGHT")
	fl.Float64Var(&o.FPS, "fps", 15, "frames per second")
	fl.Uint64Var(&o.Seed, "seed", 1, "the same seed gives the same video")
	fl.StringVar(&start, "start", "2026-11-02T10:00:00Z", "when the first simulated day starts (RFC 3339)")
	fl.IntVar(&o.Days, "days", 1, "simulated days")
	fl.IntVar(&o.People, "people", 0, "people who appear (0: everyone in the photos)")
	fl.IntVar(&o.Regulars, "regulars", 0, "people who come every day (0: a third when --days > 1, else everyone)")
	fl.DurationVar(&o.Duration, "duration", 10*time.Second, "length of the empty and steady scenarios")
	fl.BoolVar(&o.NoBlur, "no-blur", false, "no motion blur on people entering")
	return cmd
}

// makeDoorVideo draws a door-camera video with a progress bar.
func makeDoorVideo(ctx context.Context, g *globals, images, out string, o doorsim.Options) (truth.Truth, error) {
	var bar *progressbar.ProgressBar
	tr, err := doorsim.MakeVideo(ctx, g.modelDir, images, out, o, g.log, func(done, total int) {
		if bar == nil {
			bar = itemBar(g.stderr, total, "drawing")
		}
		bar.Set(done)
	})
	if bar != nil {
		bar.Finish()
	}
	return tr, err
}
