package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"joren/internal/testenv"
)

// TestDemo runs the README's first command, shortened to three days: the
// newcomer must see visits decided, regulars recognised on their third day
// with the indicator, and head office receiving one event per decision;
// the store must be encrypted with a key outside the data.
func TestDemo(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, code := run(t, "demo", "--days", "3", "--regulars", "2", "--seed", "3",
		"--images", testenv.Faces(t), "--out", out)
	if code != exitOK {
		t.Fatalf("demo: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Log(stdout)
	for _, want := range []string{
		"Joren at the door of a demo shop",
		"-- day 3",
		"BECAME REGULAR",
		">> staff indicator (became-regular)",
		"none carries a face, a descriptor or an internal id",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the demo does not show %q", want)
		}
	}
	m := regexp.MustCompile(`received (\d+) visit events for (\d+) decisions`).FindStringSubmatch(stdout)
	if m == nil || m[1] != m[2] || m[1] == "0" {
		t.Errorf("head office did not get one event per decision: %v", m)
	}
	s := regexp.MustCompile(`(\d+) passages: (\d+) decided, (\d+) with the right regular status`).FindStringSubmatch(stdout)
	if s == nil {
		t.Fatal("the demo prints no score")
	}
	passages, _ := strconv.Atoi(s[1])
	right, _ := strconv.Atoi(s[3])
	if right*10 < passages*8 {
		t.Errorf("regular status right for %d of %d passages", right, passages)
	}
	if _, err := os.Stat(filepath.Join(out, "store.key")); err != nil {
		t.Errorf("no store key: %v", err)
	}
	// No picture, no descriptor outside the encrypted store: the store,
	// its verified backup, the list of erased keys (docs/privacy.md), the
	// outbox and the device's secret.
	if got := listDir(t, filepath.Join(out, "data")); strings.Join(got, " ") != "device-secret outbox.db store/identities.db store/identities.db.backup store/identities.db.erased" {
		t.Errorf("the demo's data directory holds %v", got)
	}
}

// listDir returns the files below dir, relative to it, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
