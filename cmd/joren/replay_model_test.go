package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"joren/cluster/store"
	"joren/internal/testenv"
	"joren/vision/models"
	"joren/vocab"
)

// TestReplayVisitsModel: visits of YuNet's five-point descriptors (what
// `joren watch` writes by default) are replayed into a store of their
// model; a store of dlib's own chips refuses them at once, naming both.
func TestReplayVisitsModel(t *testing.T) {
	file, visits := monthFile(t, 10, 3)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	man, err := models.ReadManifest(testenv.Models(t))
	if err != nil {
		t.Fatal(err)
	}
	resnet, ok := man.Lookup(models.ResNetFile)
	if !ok {
		t.Fatalf("no %s in the manifest", models.ResNetFile)
	}
	five := vocab.DlibResNetName + "+five+mirror"
	fiveFile := filepath.Join(t.TempDir(), "five.jsonl")
	tagged := strings.ReplaceAll(string(b), `"descriptors"`, `"model":"`+five+"@"+resnet.SHA256[:12]+`","descriptors"`)
	if err := os.WriteFile(fiveFile, []byte(tagged), 0o644); err != nil {
		t.Fatal(err)
	}

	out, stderr, code := run(t, "replay", "--visits", fiveFile)
	if code != exitOK || len(outcomes(t, out)) != len(visits) {
		t.Fatalf("a temporary store: exit %d, %d decisions for %d visits: %s", code, len(outcomes(t, out)), len(visits), stderr)
	}
	kept := filepath.Join(t.TempDir(), "five")
	if _, stderr, code := run(t, "replay", "--visits", fiveFile, "--store", kept); code != exitOK {
		t.Fatalf("a new store: exit %d: %s", code, stderr)
	}
	if m, err := store.ReadModel(kept); err != nil || m.Name != five {
		t.Errorf("the new store's model: %s, %v; want %s", m.ID(), err, five)
	}

	plain := filepath.Join(t.TempDir(), "plain")
	if _, stderr, code := run(t, "replay", "--visits", file, "--store", plain); code != exitOK {
		t.Fatalf("dlib's own chips: exit %d: %s", code, stderr)
	}
	out, stderr, code = run(t, "replay", "--visits", fiveFile, "--store", plain)
	want := "holds descriptors of model " + vocab.DlibResNetName + "@" + resnet.SHA256[:12] + " (128 values), not " + five + "@"
	if code != exitFailure || out != "" || !strings.Contains(stderr, want) {
		t.Errorf("five-point visits into dlib's store: exit %d, %d lines out, %q; want %q", code, strings.Count(out, "\n"), stderr, want)
	}
}
