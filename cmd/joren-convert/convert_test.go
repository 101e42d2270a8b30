package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/internal/testenv"
	"joren/vision/models"
)

// resNetDir is a model directory holding a copy of the real ResNet file of
// the test models and a MANIFEST listing it with its entry there.
func resNetDir(t *testing.T) string {
	t.Helper()
	src := testenv.Models(t)
	dir := t.TempDir()
	dat, err := os.ReadFile(filepath.Join(src, models.ResNetFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, models.ResNetFile), dat, 0o644); err != nil {
		t.Fatal(err)
	}
	man, err := models.ReadManifest(src)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := man.Lookup(models.ResNetFile)
	if !ok {
		t.Fatalf("%s/MANIFEST does not list %s", src, models.ResNetFile)
	}
	writeManifest(t, dir, models.Manifest{Files: []models.Entry{e}})
	return dir
}

func writeManifest(t *testing.T, dir string, m models.Manifest) {
	t.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConvertsAsJorenModelsDoes: on the real ResNet file the tool writes
// the file and MANIFEST entry ConvertResNet (what `joren models fetch` and
// `build` run) writes, recorded at SOURCE_DATE_EPOCH; a second run changes
// nothing.
func TestConvertsAsJorenModelsDoes(t *testing.T) {
	dir := resNetDir(t)
	var stderr bytes.Buffer
	if err := run([]string{dir}, env("SOURCE_DATE_EPOCH", "1700000000"), &stderr); err != nil {
		t.Fatalf("joren-convert %s: %v\n%s", dir, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "model file converted") {
		t.Errorf("stderr %q does not say the file was converted", stderr.String())
	}

	ref := resNetDir(t)
	if err := models.ConvertResNet(ref, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, filepath.Join(dir, models.ResNetONNXFile)), read(t, filepath.Join(ref, models.ResNetONNXFile))) {
		t.Error("joren-convert wrote another file than ConvertResNet")
	}
	got, _ := models.ReadManifest(dir)
	want, _ := models.ReadManifest(ref)
	g, _ := got.Lookup(models.ResNetONNXFile)
	w, _ := want.Lookup(models.ResNetONNXFile)
	if !g.Installed.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("installed %v, want SOURCE_DATE_EPOCH 1700000000", g.Installed)
	}
	g.Installed = w.Installed
	if g != w {
		t.Errorf("MANIFEST entry\n  %+v\nConvertResNet records\n  %+v", g, w)
	}
	before := read(t, filepath.Join(dir, models.ManifestFile))
	if err := run([]string{dir}, env(), &stderr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, read(t, filepath.Join(dir, models.ManifestFile))) {
		t.Error("a second run changed MANIFEST: the conversion of the same file is kept")
	}
}

// TestRefuses: bad input is named and leaves the directory as it was.
func TestRefuses(t *testing.T) {
	dir := resNetDir(t)
	dat := read(t, filepath.Join(dir, models.ResNetFile))
	for _, tc := range []struct {
		name  string
		args  []string
		env   func(string) string
		setup func(t *testing.T, dir string)
		usage bool
		want  string
	}{
		{name: "no directory", args: nil, usage: true, want: "usage: joren-convert DIR"},
		{name: "two directories", args: []string{dir, dir}, usage: true, want: "usage: joren-convert DIR"},
		{name: "a flag", args: []string{"--help"}, usage: true, want: "usage: joren-convert DIR"},
		{name: "not a directory", args: []string{filepath.Join(dir, "nowhere")}, usage: true, want: "nowhere is not a directory"},
		{name: "SOURCE_DATE_EPOCH not a number", args: []string{dir}, env: env("SOURCE_DATE_EPOCH", "yesterday"), usage: true, want: `SOURCE_DATE_EPOCH="yesterday"`},
		{name: "MANIFEST does not list the ResNet", args: []string{dir}, setup: func(t *testing.T, dir string) {
			writeManifest(t, dir, models.Manifest{})
		}, want: "MANIFEST does not list " + models.ResNetFile},
		{name: "MANIFEST damaged", args: []string{dir}, setup: func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), []byte("{\"files\": ["), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: "parsing model manifest " + filepath.Join(dir, models.ManifestFile)},
		{name: "ResNet truncated", args: []string{dir}, setup: func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, models.ResNetFile), dat[:len(dat)/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: filepath.Join(dir, models.ResNetFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := resNetDir(t)
			args := tc.args
			for i, a := range args {
				args[i] = strings.Replace(a, dir, d, 1)
			}
			want := strings.Replace(tc.want, dir, d, 1)
			if tc.setup != nil {
				tc.setup(t, d)
			}
			manBefore, _ := os.ReadFile(filepath.Join(d, models.ManifestFile))
			datBefore := read(t, filepath.Join(d, models.ResNetFile))
			getenv := tc.env
			if getenv == nil {
				getenv = env()
			}
			var stderr bytes.Buffer
			err := run(args, getenv, &stderr)
			if err == nil {
				t.Fatalf("joren-convert %v succeeded", args)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q, want it to say %q", err, want)
			}
			var u usageError
			if errors.As(err, &u) != tc.usage {
				t.Errorf("usage error: %v, want %v", errors.As(err, &u), tc.usage)
			}
			wantCode := exitFailure
			if tc.usage {
				wantCode = exitUsage
			}
			var out bytes.Buffer
			if code := exitCode(err, &out); code != wantCode || !strings.HasPrefix(out.String(), "joren-convert: ") {
				t.Errorf("exit %d with %q, want %d and the error", code, out.String(), wantCode)
			}
			if _, err := os.Stat(filepath.Join(d, models.ResNetONNXFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s written after a refusal (%v)", models.ResNetONNXFile, err)
			}
			if b, _ := os.ReadFile(filepath.Join(d, models.ManifestFile)); !bytes.Equal(b, manBefore) {
				t.Error("MANIFEST changed after a refusal")
			}
			if !bytes.Equal(read(t, filepath.Join(d, models.ResNetFile)), datBefore) {
				t.Error("the ResNet file changed")
			}
		})
	}
}
