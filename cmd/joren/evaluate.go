package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"joren/vision"
	"joren/vision/quality"
	"joren/vision/verification"
)

type evaluateRow struct {
	Embedder   string  `json:"embedder"`
	Model      string  `json:"model"`
	Photos     int     `json:"photos"`
	Missed     int     `json:"missed"`
	Turned     int     `json:"turned"`
	People     int     `json:"people"`
	AUC        float64 `json:"roc_auc"`
	Balanced   float64 `json:"best_balanced_accuracy"`
	AtDistance float64 `json:"best_balanced_threshold"`
	EERAt      float64 `json:"equal_error_threshold"`
	Rank1      float64 `json:"rank1"`
	MsPerFace  float64 `json:"ms_per_face"`
}

func newEvaluateCommand(g *globals) *cobra.Command {
	var (
		ff        faceFlags
		embedders []string
		asJSON    bool
		minFront  float64
	)
	cmd := &cobra.Command{
		Use:   "evaluate DIR",
		Short: "Score embedders on labelled photos: ROC AUC, balanced accuracy, thresholds, rank-1, time per face",
		Long: `evaluate embeds every photo of DIR with each embedder and measures how well
distances separate photos of one person from photos of different people. A
photo's person is its file name without digits and extension (bona2.jpg: bona).
A photo's person is its largest face when that is at least 1.5 times as wide
as any other (a passer-by or a poster behind is left alone); photos with
several faces of about one size (group photos) are left out, and so are photos
where no face is found (counted as missed) and faces turned further than the
live pipeline's quality gate describes (--min-frontal; counted as turned: the
door never computes their descriptors either). Use it to choose a model's
same-person threshold (--threshold of joren models add-onnx).`,
		Args: exactArgs(1, "a folder of labelled photos"),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := imageFiles(args[0])
			if err != nil {
				return err
			}
			var rows []evaluateRow
			for _, name := range embedders {
				f := ff
				f.embedder, f.workers = name, 1
				row, err := evaluateEmbedder(g, &f, files, minFront)
				if err != nil {
					return fmt.Errorf("evaluating %s: %w", name, err)
				}
				rows = append(rows, row)
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				for _, r := range rows {
					enc.Encode(r)
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMBEDDER\tPHOTOS\tMISSED\tTURNED\tPEOPLE\tROC AUC\tBEST BALANCED ACC (AT)\tEQUAL-ERROR AT\tRANK-1\tMS/FACE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.3f\t%.3f (%.3f)\t%.3f\t%.3f\t%.1f\n", r.Embedder, r.Photos, r.Missed, r.Turned, r.People,
					r.AUC, r.Balanced, r.AtDistance, r.EERAt, r.Rank1, r.MsPerFace)
			}
			return tw.Flush()
		},
	}
	ff.register(cmd)
	cmd.Flags().StringSliceVar(&embedders, "embedders", []string{embedderDlib, embedderONNX}, "embedders to compare")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per embedder")
	cmd.Flags().Float64Var(&minFront, "min-frontal", quality.DefaultMinFrontal, "leave out faces less frontal than this (0: keep profiles too)")
	return cmd
}

func evaluateEmbedder(g *globals, f *faceFlags, files []string, minFrontal float64) (evaluateRow, error) {
	finder, err := f.open(g.modelDir)
	if err != nil {
		return evaluateRow{}, err
	}
	defer finder.Close()
	row := evaluateRow{Embedder: f.embedder, Model: finder.model.ID()}
	var (
		samples []verification.Sample
		faces   int
		spent   time.Duration
	)
	bar := itemBar(g.stderr, len(files), f.embedder)
	for _, p := range files {
		t0 := time.Now()
		found, err := finder.File(p)
		spent += time.Since(t0)
		bar.Add(1)
		if err != nil {
			return row, err
		}
		faces += len(found)
		k := vision.Dominant(found)
		switch {
		case len(found) == 0:
			row.Missed++
			g.log.Info("no face found", "file", p, "embedder", f.embedder)
		case k < 0:
			g.log.Info("not a single-person photo, left out", "file", p, "faces", len(found))
		case quality.FrontalnessOf(found[k]) < minFrontal:
			row.Turned++
			g.log.Info("face turned away, left out", "file", p, "frontal", quality.FrontalnessOf(found[k]))
		default:
			samples = append(samples, verification.Sample{Person: verification.PersonOf(p), Descriptor: found[k].Descriptor})
		}
	}
	bar.Finish()
	s, err := verification.Evaluate(samples, finder.model.Distance)
	if err != nil {
		return row, err
	}
	row.Photos, row.People = s.Samples, s.People
	row.AUC, row.Balanced, row.AtDistance, row.EERAt, row.Rank1 = s.AUC, s.BestBalanced, s.BestThreshold, s.EERThreshold, s.Rank1
	if faces > 0 {
		row.MsPerFace = float64(spent.Microseconds()) / 1000 / float64(faces)
	}
	return row, nil
}
