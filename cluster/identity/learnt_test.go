package identity_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"testing"

	"joren/cluster"
	"joren/cluster/identity"
	"joren/cluster/month"
	"joren/internal/testenv"
	"joren/vocab"
)

var update = flag.Bool("update", false, "rewrite the shipped learnt space from the shared descriptors")

const spaceFile = "dlib_resnet_v1.space.json"

// dev loads the shared labelled descriptors.
func dev(t testing.TB) (names []string, by map[string][][]float32, model vocab.Model) {
	t.Helper()
	f, err := os.Open(testenv.DevDescriptors(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := cluster.ReadEmbeddings(f, f.Name(), 0)
	if err != nil {
		t.Fatal(err)
	}
	names, by, err = month.People(es)
	if err != nil {
		t.Fatal(err)
	}
	// The file holds dlib's descriptors.
	model = vocab.DlibResNet()
	return names, by, model
}

func flatten(by map[string][][]float32, names []string) ([][]float32, []string) {
	var p [][]float32
	var l []string
	for _, n := range names {
		for _, d := range by[n] {
			p = append(p, d)
			l = append(l, n)
		}
	}
	return p, l
}

// fitShipped fits the space exactly as the shipped one is fitted.
func fitShipped(t testing.TB) *identity.Space {
	names, by, model := dev(t)
	p, l := flatten(by, names)
	sp, err := identity.Fit(model.Name, p, l, identity.DefaultFit(len(names), model.Dim))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(testenv.DevDescriptors(t))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	sp.Provenance = identity.Provenance{
		Source:      "../shared/faces/descriptors-dev.jsonl",
		SourceSHA:   hex.EncodeToString(sum[:]),
		People:      len(names),
		Descriptors: len(p),
		Options:     identity.DefaultFit(len(names), model.Dim),
		Command:     "go test ./cluster/identity -run TestLearntSpaceArtefact -update",
	}
	return sp
}

// TestLearntSpaceArtefact refits the shipped space from the shared data
// and checks the file in the repository is what its provenance says.
func TestLearntSpaceArtefact(t *testing.T) {
	want := fitShipped(t)
	if *update {
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(spaceFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", spaceFile, len(b))
	}
	b, err := os.ReadFile(spaceFile)
	if err != nil {
		t.Fatal(err)
	}
	got, err := identity.ParseSpace(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Provenance != want.Provenance {
		t.Fatalf("%s provenance %+v, refit gives %+v (run %s)", spaceFile, got.Provenance, want.Provenance, want.Provenance.Command)
	}
	for name, pair := range map[string][2][]float32{"mean": {got.Mean, want.Mean}, "proj": {got.Proj, want.Proj}, "psi": {got.Psi, want.Psi}} {
		if len(pair[0]) != len(pair[1]) {
			t.Fatalf("%s: %d values, refit gives %d", name, len(pair[0]), len(pair[1]))
		}
		for i := range pair[0] {
			if d := math.Abs(float64(pair[0][i] - pair[1][i])); d > 1e-4*math.Max(1, math.Abs(float64(pair[1][i]))) {
				t.Fatalf("%s[%d] = %v, refit gives %v (run %s)", name, i, pair[0][i], pair[1][i], want.Provenance.Command)
			}
		}
	}
	// Tied to dlib's family and length, whatever the weights' digest;
	// absent for any other model.
	_, _, model := dev(t)
	model.Digest = "cdb1d47b961fe310ef1f3aa2974c5f65d29c079346760f6b6785c7e405f7266a"
	if identity.LearntSpace(model) == nil {
		t.Errorf("no learnt space for %s", model.ID())
	}
	for _, other := range []vocab.Model{
		{Name: "arcface_r100", Dim: 512, Metric: vocab.Cosine, Threshold: 0.6},
		{Name: vocab.DlibResNetName, Dim: 64, Metric: vocab.Euclidean, Threshold: vocab.DlibResNetThreshold},
	} {
		if identity.LearntSpace(other) != nil {
			t.Errorf("learnt space offered for %s (%d values)", other.ID(), other.Dim)
		}
	}
}
