package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/spf13/cobra"

	"joren/vision"
	"joren/vocab"
)

type embedFace struct {
	Box        [4]int    `json:"box"`
	Descriptor []float32 `json:"descriptor"`
}

type embedLine struct {
	File  string      `json:"file"`
	Model string      `json:"model,omitempty"`
	Faces []embedFace `json:"faces"`
	Error string      `json:"error,omitempty"`
}

// embedResult is the outcome for one input image.
type embedResult struct {
	File  string
	Faces []vision.Face
	Err   error
}

// embedFiles finds the faces of every file with the finder's workers and
// calls emit for each result in input order, as soon as it and all before
// it are done. It never stops on a bad file.
func embedFiles(finder *faceFinder, files []string, emit func(embedResult)) {
	results := make([]embedResult, len(files))
	done := make([]chan struct{}, len(files))
	for i := range done {
		done[i] = make(chan struct{})
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < finder.Workers(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				faces, err := finder.File(files[i])
				results[i] = embedResult{File: files[i], Faces: faces, Err: err}
				close(done[i])
			}
		}()
	}
	go func() {
		for i := range files {
			jobs <- i
		}
		close(jobs)
	}()
	for i := range files {
		<-done[i]
		emit(results[i])
	}
	wg.Wait()
}

func newEmbedCommand(g *globals) *cobra.Command {
	var (
		ff     faceFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "embed [--json] IMAGE...",
		Short: "Every face of every image, with its box and descriptor",
		Long: `embed prints every face found in each image: its box [x0, y0, x1, y1] in the
image's pixels and its descriptor. With --json, one line per image:
  {"file": "a.jpg", "model": "...", "faces": [{"box": [...], "descriptor": [...]}]}
An image that cannot be read gives {"file": "...", "error": "..."}; the others
still run, and the exit status is 1 at the end.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("embed needs at least one image file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ff.workers = min(ff.workers, len(args))
			finder, err := ff.open(g.modelDir)
			if err != nil {
				return err
			}
			defer finder.Close()
			bar := itemBar(g.stderr, len(args), "embedding")
			failed := 0
			enc := json.NewEncoder(g.stdout)
			embedFiles(finder, args, func(r embedResult) {
				bar.Add(1)
				if r.Err != nil {
					failed++
				}
				if asJSON {
					enc.Encode(toEmbedLine(r, finder.model))
					return
				}
				printEmbed(g.stdout, g.stderr, r)
			})
			bar.Finish()
			if failed > 0 {
				if !asJSON {
					return partialError{failed: failed, total: len(args)}
				}
				fmt.Fprintf(g.stderr, "joren: %d of %d images failed\n", failed, len(args))
				return partialError{failed: failed, total: len(args)}
			}
			return nil
		},
	}
	ff.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per image, one per line")
	return cmd
}

func toEmbedLine(r embedResult, model vocab.Model) embedLine {
	if r.Err != nil {
		return embedLine{File: r.File, Error: r.Err.Error()}
	}
	l := embedLine{File: r.File, Model: model.ID(), Faces: make([]embedFace, len(r.Faces))}
	for i, f := range r.Faces {
		l.Faces[i] = embedFace{Box: [4]int{f.Box.Min.X, f.Box.Min.Y, f.Box.Max.X, f.Box.Max.Y}, Descriptor: f.Descriptor}
	}
	return l
}

func printEmbed(stdout, stderr io.Writer, r embedResult) {
	if r.Err != nil {
		fmt.Fprintf(stderr, "joren: %v\n", r.Err)
		return
	}
	fmt.Fprintf(stdout, "%s: %d face(s)\n", r.File, len(r.Faces))
	for i, f := range r.Faces {
		d := f.Descriptor
		fmt.Fprintf(stdout, "  face %d  box [%d %d %d %d]  descriptor[%d] %.4f %.4f %.4f %.4f ...\n",
			i, f.Box.Min.X, f.Box.Min.Y, f.Box.Max.X, f.Box.Max.Y, len(d), d[0], d[1], d[2], d[3])
	}
}
