package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad feeds the loader any bytes as a configuration file. Whatever
// the file, Load returns (no panic, no hang) either an *Error whose every
// problem says where and what, or a configuration that passes its own
// checks again once written out by Annotated: what the loader accepts it
// can also print. The seeds are testdata/configs/*.yaml, the shipped
// init/joren.yaml and the annotated defaults.
func FuzzLoad(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "configs", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, filepath.Join("..", "..", "init", "joren.yaml"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	defaults, err := Annotated(Default())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(defaults)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "joren.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := Load(path, Options{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("Load: %v (%T), want an *Error with problems", err, err)
			}
			for _, p := range e.Problems {
				if p.Msg == "" || p.Where == "" && p.Key == "" {
					t.Errorf("problem %+v says neither where nor what", p)
				}
			}
			return
		}
		out, err := Annotated(cfg)
		if err != nil {
			t.Fatalf("Annotated: %v", err)
		}
		back := filepath.Join(dir, "annotated.yaml")
		if err := os.WriteFile(back, out, 0o600); err != nil {
			t.Fatal(err)
		}
		again, _, err := Load(back, Options{})
		if err != nil {
			t.Fatalf("the annotated form of an accepted configuration is refused: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(again, cfg) {
			t.Fatalf("the annotated form loads as something else:\n%+v\n%+v", cfg, again)
		}
	})
}

// The seed corpus, checked as a table: what each file is known to hold.
func TestSeedCorpus(t *testing.T) {
	for name, want := range map[string]string{
		"full.yaml":    "",
		"crlf.yaml":    "",
		"bom.yaml":     "",
		"issue12.yaml": "indicator.button",
		"anchors.yaml": `unknown key "base"`,
		"numbers.yaml": "camera.fps",
		"shapes.yaml":  "camera: want a section of keys",
		"strings.yaml": "device.id",
	} {
		_, _, err := Load(filepath.Join("testdata", "configs", name), Options{})
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}
