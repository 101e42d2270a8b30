package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"joren/vision"
)

type compareSide struct {
	File  string `json:"file"`
	Faces int    `json:"faces"`
	Box   [4]int `json:"box"`
}

type compareResult struct {
	A         compareSide `json:"a"`
	B         compareSide `json:"b"`
	Distance  float64     `json:"distance"`
	Threshold float64     `json:"threshold"`
	Same      bool        `json:"same"`
	Model     string      `json:"model"`
}

func newCompareCommand(g *globals) *cobra.Command {
	var (
		ff        faceFlags
		asJSON    bool
		threshold float64
	)
	cmd := &cobra.Command{
		Use:   "compare A.jpg B.jpg",
		Short: "Distance between the largest faces of two images, and same or different person",
		Long: `compare finds the largest face in each image and prints the distance between
their descriptors, and "same person" when it is below the threshold.

The default threshold is measured, not dlib's 0.6: on look-alike faces 0.6 calls
most different people the same (docs/clustering.md).`,
		Args: exactArgs(2, "two image files"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ff.workers = 1
			finder, err := ff.open(g.modelDir)
			if err != nil {
				return err
			}
			defer finder.Close()
			model := finder.model
			if threshold < 0 {
				return usagef("--threshold must be positive")
			}
			if threshold == 0 {
				threshold = model.Threshold
			}
			var sides [2]compareSide
			var descs [2][]float32
			for i, path := range args {
				faces, err := finder.File(path)
				if err != nil {
					return err
				}
				k := vision.Largest(faces)
				if k < 0 {
					return fmt.Errorf("%s: %w", path, vision.ErrNoFace)
				}
				b := faces[k].Box
				sides[i] = compareSide{File: path, Faces: len(faces), Box: [4]int{b.Min.X, b.Min.Y, b.Max.X, b.Max.Y}}
				descs[i] = faces[k].Descriptor
			}
			d := model.Distance(descs[0], descs[1])
			res := compareResult{A: sides[0], B: sides[1], Distance: d, Threshold: threshold, Same: d < threshold, Model: model.ID()}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(res)
			}
			for _, s := range sides {
				fmt.Fprintf(g.stdout, "%s: %d face(s), the largest at %v\n", s.File, s.Faces, s.Box)
			}
			verdict := "different people"
			if res.Same {
				verdict = "same person"
			}
			fmt.Fprintf(g.stdout, "distance %.4f, threshold %.2f: %s\n", d, threshold, verdict)
			return nil
		},
	}
	ff.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().Float64Var(&threshold, "threshold", 0, "same-person distance threshold (default: the model's measured one)")
	return cmd
}
