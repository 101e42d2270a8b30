package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"joren/cluster"
	"joren/cluster/figure"
	"joren/vision"
	"joren/vision/camera"
	"joren/vision/dlib"
	"joren/vision/embed"
	"joren/vision/models"
	"joren/vision/onnx"
	"joren/vocab"
)

type clusterFlags struct {
	ff         faceFlags
	embeddings string
	method     string
	threshold  float64
	eps        float64
	minSamples int
	neighbours int
	asJSON     bool
	plot       string
	evaluate   bool
	sweep      bool
}

func newClusterCommand(g *globals) *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "cluster DIR | --embeddings FILE.jsonl",
		Short: "Group the faces of a folder (or a descriptor file) into people",
		Long: `cluster groups faces into people without knowing how many people there are.

  joren cluster DIR                    embeds every face of every JPEG and PNG in DIR
                                       (and its subfolders) and prints, per person, the
                                       images and faces: most frequent people first,
                                       people seen once last
  joren cluster --embeddings F.jsonl   reads one JSON object a line with
                                       "descriptor": [floats]; --json prints
                                       {"line": n, "cluster": id} per input line

Methods (--method):
  adaptive  average linkage over locally scaled distances (default: most accurate
            measured, see docs/clustering.md); --threshold (about 1.16), --neighbours
  average   average linkage over plain distances; --threshold
  dbscan    the article's DBSCAN; --eps, --min-samples (-1 in output: noise)
  whispers  dlib's chinese whispers; --threshold

--plot out.png|out.svg draws the article's figure: PCA to 50 dimensions, t-SNE
to 2-D, one colour per cluster. With "person" labels in the descriptor file,
--evaluate prints BCubed and pairwise F1, and --sweep compares every method over
a range of settings (the table of docs/clustering.md).`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case f.embeddings != "" && len(args) > 0:
				return usagef("give either a folder or --embeddings, not both")
			case f.embeddings == "" && len(args) != 1:
				return usagef("cluster needs one folder, or --embeddings FILE")
			}
			if _, err := cluster.ParseMethod(f.method); err != nil {
				return usagef("--method: %v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.embeddings != "" {
				return clusterEmbeddings(cmd.Context(), g, &f)
			}
			return clusterFolder(cmd.Context(), g, &f, args[0])
		},
	}
	f.ff.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.embeddings, "embeddings", "", "cluster the descriptors of this JSON-lines file (- for standard input)")
	fl.StringVar(&f.method, "method", string(cluster.Adaptive), "adaptive, average, dbscan or whispers")
	fl.Float64Var(&f.threshold, "threshold", 0, "merge threshold of adaptive, average and whispers (default: measured per model)")
	fl.Float64Var(&f.eps, "eps", 0, "DBSCAN's neighbourhood radius (default: measured per model)")
	fl.IntVar(&f.minSamples, "min-samples", 0, "DBSCAN's minimum neighbourhood size, the point included (default 1, the article's)")
	fl.IntVar(&f.neighbours, "neighbours", 0, "adaptive: the k-th nearest face sets a face's neighbourhood radius (default 5)")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON lines")
	fl.StringVar(&f.plot, "plot", "", "also draw the t-SNE figure to this .png or .svg file")
	fl.BoolVar(&f.evaluate, "evaluate", false, "score the clustering against the file's \"person\" labels")
	fl.BoolVar(&f.sweep, "sweep", false, "score every method over a range of settings against the file's labels")
	return cmd
}

func (f *clusterFlags) params() cluster.Params {
	return cluster.Params{
		Method:     cluster.Method(f.method),
		Threshold:  f.threshold,
		Eps:        f.eps,
		MinSamples: f.minSamples,
		Neighbours: f.neighbours,
	}
}

// clusterEmbeddings clusters a descriptor file.
func clusterEmbeddings(ctx context.Context, g *globals, f *clusterFlags) error {
	var (
		r    io.Reader = os.Stdin
		name           = "standard input"
	)
	if f.embeddings != "-" {
		fh, err := os.Open(f.embeddings)
		if err != nil {
			return err
		}
		defer fh.Close()
		r, name = fh, f.embeddings
	}
	auto := f.ff.detector == string(camera.Auto)
	model, err := embeddingsModel(g.modelDir, &f.ff)
	if err != nil {
		return err
	}
	es, err := cluster.ReadEmbeddings(r, name, model.Dim)
	if err != nil {
		return err
	}
	if auto && f.ff.embedder == embedderDlib {
		// A file's descriptors were cut by whichever detector made them:
		// its model says which (none: dlib's own chips, as the shared
		// labelled descriptors).
		model, _ = dlibVariant(dlib.Describe(), es[0].Model)
	}
	if model.Dim == 0 { // an ONNX network's dimension: the file's
		model.Dim = len(es[0].Descriptor)
	}
	points := make([][]float32, len(es))
	truth := make([]string, len(es))
	labelled := true
	for i, e := range es {
		if e.Model != "" && e.Model != model.Name && !strings.HasPrefix(e.Model, model.Name+"@") {
			return fmt.Errorf("%s:%d: descriptor of model %q, but --embedder %s is %s", name, e.Line, e.Model, f.ff.embedder, model.Name)
		}
		points[i], truth[i] = e.Descriptor, e.Person
		labelled = labelled && e.Person != ""
	}
	if (f.evaluate || f.sweep) && !labelled {
		return usagef("--evaluate and --sweep need a \"person\" label on every line of %s", name)
	}
	if f.sweep {
		return printSweep(g.stdout, points, truth, model)
	}
	labels, err := cluster.Cluster(points, model, f.params())
	if err != nil {
		return err
	}
	if f.plot != "" {
		if err := plotClusters(ctx, g, f.plot, points, labels, fmt.Sprintf("%d descriptors of %s", len(points), name)); err != nil {
			return err
		}
	}
	if f.asJSON {
		enc := json.NewEncoder(g.stdout)
		for i, e := range es {
			enc.Encode(struct {
				Line    int `json:"line"`
				Cluster int `json:"cluster"`
			}{e.Line, labels[i]})
		}
	} else {
		printEmbeddingClusters(g.stdout, es, labels)
	}
	if f.evaluate {
		s, err := cluster.Evaluate(labels, truth)
		if err != nil {
			return err
		}
		out := g.stdout
		if f.asJSON {
			out = g.stderr // keep standard output one object per input line
		}
		fmt.Fprintf(out, "%s: BCubed F1 %.3f (precision %.3f, recall %.3f), pairwise F1 %.3f; %d clusters for %d people\n",
			f.params().Method, s.BCubedF1, s.BCubedP, s.BCubedR, s.PairF1, s.Clusters, s.People)
	}
	return nil
}

func printEmbeddingClusters(w io.Writer, es []cluster.Embedding, labels cluster.Labels) {
	members := map[int][]int{}
	for i, l := range labels {
		members[l] = append(members[l], i)
	}
	ids := slices.Sorted(func(yield func(int) bool) {
		for k := range members {
			if !yield(k) {
				return
			}
		}
	})
	// Noise (-1) goes last.
	if len(ids) > 0 && ids[0] == -1 {
		ids = append(ids[1:], -1)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tSIZE\tLINES\tPEOPLE (labels, if any)")
	for _, id := range ids {
		m := members[id]
		var lines []string
		for k, i := range m {
			if k == 12 {
				lines = append(lines, fmt.Sprintf("... (%d more)", len(m)-12))
				break
			}
			lines = append(lines, fmt.Sprint(es[i].Line))
		}
		count := map[string]int{}
		for _, i := range m {
			if es[i].Person != "" {
				count[es[i].Person]++
			}
		}
		var people []string
		for p, c := range count {
			people = append(people, fmt.Sprintf("%s ×%d", p, c))
		}
		slices.Sort(people)
		name := fmt.Sprint(id)
		if id < 0 {
			name = "noise"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", name, len(m), strings.Join(lines, " "), strings.Join(people, ", "))
	}
	tw.Flush()
}

// imageFiles lists the JPEG and PNG files under dir, sorted.
func imageFiles(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder (to cluster descriptors, use --embeddings)", dir)
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png":
			// Symbolic links to pictures count; links to folders are not
			// followed (no loops).
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no JPEG or PNG images", dir)
	}
	slices.Sort(files)
	return files, nil
}

type folderFace struct {
	File  string
	Index int
	Face  vision.Face
}

// clusterFolder embeds the faces of a folder and clusters them.
func clusterFolder(ctx context.Context, g *globals, f *clusterFlags, dir string) error {
	if f.evaluate || f.sweep {
		return usagef("--evaluate and --sweep work on labelled descriptor files (--embeddings)")
	}
	files, err := imageFiles(dir)
	if err != nil {
		return err
	}
	f.ff.workers = min(f.ff.workers, len(files))
	finder, err := f.ff.open(g.modelDir)
	if err != nil {
		return err
	}
	defer finder.Close()
	bar := itemBar(g.stderr, len(files), "embedding")
	var (
		faces  []folderFace
		failed int
	)
	embedFiles(finder, files, func(r embedResult) {
		bar.Add(1)
		if r.Err != nil {
			failed++
			bar.Clear()
			fmt.Fprintf(g.stderr, "joren: %v\n", r.Err)
			return
		}
		for i, fc := range r.Faces {
			faces = append(faces, folderFace{File: r.File, Index: i, Face: fc})
		}
	})
	bar.Finish()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(faces) == 0 {
		return fmt.Errorf("%s: no faces found in %d image(s) (%d unreadable)", dir, len(files), failed)
	}
	points := make([][]float32, len(faces))
	pf := make([]cluster.PhotoFace, len(faces))
	for i, fc := range faces {
		points[i] = fc.Face.Descriptor
		pf[i] = cluster.PhotoFace{Photo: fc.File, Descriptor: fc.Face.Descriptor}
	}
	labels, err := cluster.ClusterPhotos(pf, finder.model, f.params())
	if err != nil {
		return err
	}
	if f.plot != "" {
		title := fmt.Sprintf("%d faces in %d images of %s, %d clusters", len(faces), len(files)-failed, dir, labels.Count())
		if err := plotClusters(ctx, g, f.plot, points, labels, title); err != nil {
			return err
		}
	}
	printFolderClusters(g.stdout, f.asJSON, faces, labels)
	if failed > 0 {
		fmt.Fprintf(g.stderr, "joren: %d of %d images could not be read\n", failed, len(files))
		return partialError{failed: failed, total: len(files)}
	}
	return nil
}

func printFolderClusters(w io.Writer, asJSON bool, faces []folderFace, labels cluster.Labels) {
	order := make([]int, len(faces))
	for i := range order {
		order[i] = i
	}
	sizes := labels.Sizes()
	rank := func(i int) int { // clusters by label (= by size), singletons then noise last
		l := labels[i]
		switch {
		case l < 0:
			return 1 << 30
		case sizes[l] == 1:
			return 1<<29 + l
		}
		return l
	}
	slices.SortStableFunc(order, func(a, b int) int { return rank(a) - rank(b) })
	if asJSON {
		enc := json.NewEncoder(w)
		for _, i := range order {
			b := faces[i].Face.Box
			enc.Encode(struct {
				Cluster int    `json:"cluster"`
				File    string `json:"file"`
				Face    int    `json:"face"`
				Box     [4]int `json:"box"`
			}{labels[i], faces[i].File, faces[i].Index, [4]int{b.Min.X, b.Min.Y, b.Max.X, b.Max.Y}})
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tFACES\tIMAGE\tFACE\tBOX")
	for _, i := range order {
		l := labels[i]
		name, size := fmt.Sprint(l), 1
		if l >= 0 {
			size = sizes[l]
		} else {
			name = "noise"
		}
		b := faces[i].Face.Box
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t[%d %d %d %d]\n", name, size, faces[i].File, faces[i].Index, b.Min.X, b.Min.Y, b.Max.X, b.Max.Y)
	}
	tw.Flush()
}

// plotClusters draws the t-SNE figure, sampling down to what exact t-SNE
// can take.
func plotClusters(ctx context.Context, g *globals, path string, points [][]float32, labels cluster.Labels, title string) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".png" && ext != ".svg" {
		return usagef("--plot %s: the file name must end in .png or .svg", path)
	}
	idx := make([]int, len(points))
	for i := range idx {
		idx[i] = i
	}
	if len(idx) > figure.MaxPoints {
		rng := rand.New(rand.NewPCG(1, 2))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		idx = idx[:figure.MaxPoints]
		slices.Sort(idx)
		title += fmt.Sprintf(" (%d shown)", len(idx))
		g.log.Warn("plotting a random sample", "shown", len(idx), "of", len(points))
	}
	sub := make([][]float32, len(idx))
	subLabels := make([]int, len(idx))
	for k, i := range idx {
		sub[k], subLabels[k] = points[i], labels[i]
	}
	o := figure.DefaultOptions
	x, err := figure.PCA(sub, o.PCADims)
	if err != nil {
		return err
	}
	bar := itemBar(g.stderr, o.Iterations, "t-SNE")
	o.Progress = func(int, int) { bar.Add(1) }
	xy, err := figure.TSNE(ctx, x, o)
	bar.Finish()
	if err != nil {
		return err
	}
	if err := figure.Render(path, xy, subLabels, title, nil); err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "figure written to %s\n", path)
	return nil
}

// printSweep prints the sweep's table (docs/clustering.md).
func printSweep(w io.Writer, points [][]float32, truth []string, model vocab.Model) error {
	trials, err := cluster.Sweep(points, truth, model)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "| method and setting | BCubed P | BCubed R | BCubed F1 | pairwise F1 | clusters |\n|---|---|---|---|---|---|\n")
	for _, tr := range trials {
		mark := ""
		if tr.Best {
			mark = " **best**"
		}
		if tr.Default {
			mark += " (default)"
		}
		s := tr.Score
		fmt.Fprintf(w, "| %s%s | %.3f | %.3f | %.3f | %.3f | %d |\n", describe(tr.Params), mark, s.BCubedP, s.BCubedR, s.BCubedF1, s.PairF1, s.Clusters)
	}
	return nil
}

// describe names a sweep's setting by what the sweep varies.
func describe(p cluster.Params) string {
	switch p.Method {
	case cluster.DBSCANMethod:
		return fmt.Sprintf("dbscan eps=%.3f min-samples=%d", p.Eps, p.MinSamples)
	case cluster.Adaptive:
		return fmt.Sprintf("adaptive k=%d threshold=%.2f", p.Neighbours, p.Threshold)
	}
	return fmt.Sprintf("%s threshold=%.3f", p.Method, p.Threshold)
}

// embeddingsModel is the model of a descriptor file: the one --embedder
// names (a file does not say which threshold or metric its numbers need).
func embeddingsModel(modelDir string, ff *faceFlags) (vocab.Model, error) {
	if err := ff.settle(modelDir); err != nil {
		return vocab.Model{}, err
	}
	yn := ff.detector == detectorYuNet
	mirror, err := ff.mirrored()
	if err != nil {
		return vocab.Model{}, err
	}
	switch ff.embedder {
	case embedderDlib:
		return embed.Variant(dlib.Describe(), yn, mirror), nil
	case embedderONNX:
		s, err := models.FindONNX(modelDir, ff.onnxModel)
		if err != nil {
			return vocab.Model{}, err
		}
		return embed.Variant(onnx.Describe(s), false, mirror), nil
	}
	return vocab.Model{}, usagef("--embedder %q: want %s or %s", ff.embedder, embedderDlib, embedderONNX)
}
