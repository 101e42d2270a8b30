package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// Root is the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Models is the model directory: $JOREN_MODELS, or models/ at the root.
func Models(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("JOREN_MODELS")
	if dir == "" {
		dir = filepath.Join(Root(t), "models")
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatalf("testenv: no models in %s (run `make models`): %v", dir, err)
	}
	return dir
}

// Shared is the read-only shared data: $JOREN_SHARED, or ../shared beside
// the checkout.
func Shared(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("JOREN_SHARED")
	if dir == "" {
		dir = filepath.Join(Root(t), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(dir, "faces", "descriptors-dev.jsonl")); err != nil {
		t.Fatalf("testenv: shared data not found at %s (set JOREN_SHARED): %v", dir, err)
	}
	return dir
}

// Faces is the shared face images folder.
func Faces(t testing.TB) string {
	return filepath.Join(Shared(t), "faces", "images")
}

// DevDescriptors is the shared file of labelled dlib descriptors.
func DevDescriptors(t testing.TB) string {
	return filepath.Join(Shared(t), "faces", "descriptors-dev.jsonl")
}

// YuNet is the YuNet face detector's file: the model directory's copy
// (`make models` installs it), else the shared one it is copied from.
func YuNet(t testing.TB) string {
	t.Helper()
	const name = "face_detection_yunet_2023mar.onnx"
	if p := filepath.Join(Models(t), name); regular(p) {
		return p
	}
	p := filepath.Join(Shared(t), "models", name)
	if !regular(p) {
		t.Fatalf("testenv: %s is neither in the model directory nor in the shared models", name)
	}
	return p
}

// ModelsWithYuNet is the model directory if it has YuNet (`make models`
// installs it), else a directory of links to its files and to the shared
// YuNet (a model directory made before YuNet was provisioned).
func ModelsWithYuNet(t testing.TB) string {
	t.Helper()
	src, yn := Models(t), YuNet(t)
	if filepath.Dir(yn) == src {
		return src
	}
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(yn, filepath.Join(dir, filepath.Base(yn))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func regular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
