package models

import (
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"joren/internal/testenv"
)

// The image's model files come from Buildroot's joren-models package
// (buildroot/package/joren-models), not from Fetch. These tests keep the
// two in step: GNU make reads the package's .mk as Buildroot would, its
// extract, build and install steps run on the real YuNet and MMOD files,
// and the model directory they install must be one Fetch would leave as
// it is.

// brPackage is buildroot/package/joren-models, read and run by make.
type brPackage struct {
	root, pkg string
	vars      map[string]string
}

// brVars are the package's variables the tests read, and Buildroot's
// list of its downloads (pkg-generic.mk's _ALL_DOWNLOADS without the
// site method: a full URL in EXTRA_DOWNLOADS is taken as it is).
var brVars = []string{"JOREN_MODELS_LICENSE", "JOREN_MODELS_LICENSE_FILES", "JOREN_MODELS_FILES", "ALL_DOWNLOADS"}

// brStub stands in for Buildroot around the package: the variables its
// steps use, and a target whose recipe runs them in order as Buildroot's
// stamps would ($(@D) is the package's build directory).
const brStub = `SHELL := /bin/bash
BR2_EXTERNAL_JOREN_PATH := {{root}}/buildroot
JOREN_MODELS_PKGDIR := {{pkg}}
JOREN_MODELS_DL_DIR := {{work}}/dl
HOST_DIR := {{work}}/host
TARGET_DIR := {{work}}/target
INSTALL := /usr/bin/install
define sep


endef
generic-package :=
include {{pkg}}/joren-models.mk
ALL_DOWNLOADS = $(JOREN_MODELS_SITE)/$(JOREN_MODELS_SOURCE) \
	$(foreach p,$(JOREN_MODELS_EXTRA_DOWNLOADS),\
		$(if $(findstring ://,$(p)),$(p),$(JOREN_MODELS_SITE)/$(p)))
vars:
{{vars}}
{{work}}/build/.stamp_installed:
	mkdir -p $(@D)
	$(JOREN_MODELS_EXTRACT_CMDS)
	$(JOREN_MODELS_BUILD_CMDS)
	$(JOREN_MODELS_INSTALL_TARGET_CMDS)
	touch $@
`

func newBRPackage(t *testing.T, work string) *brPackage {
	t.Helper()
	root := testenv.Root(t)
	p := &brPackage{root: root, pkg: filepath.Join(root, "buildroot", "package", "joren-models"), vars: map[string]string{}}
	var vars strings.Builder
	for _, v := range brVars {
		vars.WriteString("\t@echo '" + v + "=$(strip $(" + v + "))'\n")
	}
	stub := strings.NewReplacer("{{root}}", root, "{{pkg}}", p.pkg, "{{work}}", work, "{{vars}}", vars.String()).Replace(brStub)
	if err := os.WriteFile(filepath.Join(work, "Makefile"), []byte(stub), 0o644); err != nil {
		t.Fatal(err)
	}
	out := p.make(t, work, "vars")
	for line := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			p.vars[k] = v
		}
	}
	return p
}

func (p *brPackage) make(t *testing.T, work, target string) string {
	t.Helper()
	cmd := exec.Command("make", "-s", "-f", filepath.Join(work, "Makefile"), target)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s with joren-models.mk: %v\n%s", target, err, out)
	}
	return string(out)
}

// pins reads joren-models.hash: file name to sha256.
func (p *brPackage) pins(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.pkg, "joren-models.hash"))
	if err != nil {
		t.Fatal(err)
	}
	pins := map[string]string{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "sha256" {
			pins[f[2]] = f[1]
		}
	}
	return pins
}

// imageRemotes is what the image ships, as Fetch knows it: dlib's files
// from dlib.net and YuNet from its first pinned location.
func imageRemotes() []Remote {
	yunet := YuNetRemote()
	yunet.Mirrors = nil // Buildroot tries one URL (then its own mirrors)
	return append(Official(DlibBaseURL), yunet)
}

func TestBuildrootPackagePinsWhatFetchPins(t *testing.T) {
	p := newBRPackage(t, t.TempDir())
	var want []string
	for _, r := range imageRemotes() {
		want = append(want, r.URL)
	}
	got := strings.Fields(p.vars["ALL_DOWNLOADS"])
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("joren-models downloads\n  %s\nbut joren models fetch downloads\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	pins := p.pins(t)
	for _, r := range imageRemotes() {
		if got := pins[path.Base(r.URL)]; got != r.SHA256 {
			t.Errorf("joren-models.hash pins %s as %q, vision/models as %q", path.Base(r.URL), got, r.SHA256)
		}
	}
	notice := NoticeFile(YuNetFile)
	if got, want := pins[notice], sha256Hex(yunetNotice); got != want {
		t.Errorf("joren-models.hash pins %s as %q, vision/models/yunet.LICENSE has %q", notice, got, want)
	}
	if len(pins) != len(imageRemotes())+1 {
		t.Errorf("joren-models.hash pins %d files, want the %d downloads and YuNet's notice: %v", len(pins), len(imageRemotes()), pins)
	}

	if got, want := p.vars["JOREN_MODELS_LICENSE"], "CC0-1.0 (dlib models), Apache-2.0 (YuNet)"; got != want {
		t.Errorf("JOREN_MODELS_LICENSE = %q, want %q", got, want)
	}
	// Buildroot's legal-info copies the licence files from the build
	// directory: the notice the extract step puts there.
	if got := p.vars["JOREN_MODELS_LICENSE_FILES"]; got != notice {
		t.Errorf("JOREN_MODELS_LICENSE_FILES = %q, want %q", got, notice)
	}
}

// hostJorenConvert builds cmd/joren-convert for this machine into bin, as
// Buildroot's host-joren does (pure Go, no cgo, host GOOS/GOARCH even
// when the tests run as another architecture's binaries).
func hostJorenConvert(t *testing.T, root, bin string) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH: host-joren's joren-convert is built with it")
	}
	cmd := exec.Command(gobin, "build", "-trimpath", "-o", filepath.Join(bin, "joren-convert"), "./cmd/joren-convert")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=", "GOARCH=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building joren-convert as host-joren does: %v\n%s", err, out)
	}
}

// TestBuildrootPackageInstallsWhatFetchWould runs the package's steps on a
// download directory as Buildroot leaves it: the real YuNet, dlib's real
// MMOD detector and the test models' real ResNet (bzip2-compressed as
// dlib.net serves them), with joren-convert built as host-joren builds
// it. The landmark model in the test model directory is not the file the
// image ships (Debian's 68-point model), so a small stand-in takes its
// place: the steps only decompress and record it. The ResNet is face-api's
// conversion, not dlib.net's file, but the same network in the same
// format: what the steps do with it is what they do with dlib's.
func TestBuildrootPackageInstallsWhatFetchWould(t *testing.T) {
	work := t.TempDir()
	p := newBRPackage(t, work)
	dl := filepath.Join(work, "dl")
	hostBin := filepath.Join(work, "host", "bin")
	for _, d := range []string{dl, hostBin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bz, err := exec.LookPath("bzip2")
	if err != nil {
		t.Fatal("bzip2 is missing (scripts/setup-debian installs it)")
	}
	if err := os.Symlink(bz, filepath.Join(hostBin, "bzip2")); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(testenv.Shared(t), "models")
	mmod, err := os.ReadFile(filepath.Join(shared, DetectorFile))
	if err != nil {
		t.Fatal(err)
	}
	bzip := func(name string, data []byte) {
		t.Helper()
		cmd := exec.Command(bz, "-1", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("bzip2 %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dl, name+".bz2"), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bzip(DetectorFile, mmod)
	bzip(ShapePredictorFile, []byte("stand-in for dlib's 5-point landmark model\n"))
	resnet, err := os.ReadFile(filepath.Join(testenv.Models(t), ResNetFile))
	if err != nil {
		t.Fatal(err)
	}
	bzip(ResNetFile, resnet)
	hostJorenConvert(t, p.root, hostBin)
	yunet, err := os.ReadFile(testenv.YuNet(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dl, YuNetFile), yunet, 0o644); err != nil {
		t.Fatal(err)
	}

	p.make(t, work, filepath.Join(work, "build", ".stamp_installed"))
	dir := filepath.Join(work, "target", "usr", "share", "joren", "models")

	man, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range man.Files {
		names = append(names, e.Name)
	}
	wantNames := strings.Fields(p.vars["JOREN_MODELS_FILES"])
	if !slices.Equal(slices.Sorted(slices.Values(names)), slices.Sorted(slices.Values(wantNames))) {
		t.Errorf("MANIFEST lists %v, the package installs %v", names, wantNames)
	}
	// Every file is intact, and Fetch would keep each as it is: same
	// origin, same sum (so `joren models fetch` and the image agree).
	if _, err := Verify(dir, nil); err != nil {
		t.Errorf("Verify of the installed directory: %v", err)
	}
	for _, r := range imageRemotes() {
		if !present(dir, man, r, []string{r.URL}) {
			e, _ := man.Lookup(r.Name)
			t.Errorf("Fetch would download %s again: MANIFEST records origin %q, Fetch %q", r.Name, e.Origin, r.origin(r.URL))
		}
		e, _ := man.Lookup(r.Name)
		if e.Licence != r.Licence {
			t.Errorf("%s: licence %q, Fetch records %q", r.Name, e.Licence, r.Licence)
		}
	}
	y, _ := man.Lookup(YuNetFile)
	if y.SHA256 != YuNetSHA256 || y.Size != YuNetSize {
		t.Errorf("YuNet installed with sha256 %s, %d bytes; want %s, %d", y.SHA256, y.Size, YuNetSHA256, YuNetSize)
	}
	d, _ := man.Lookup(DetectorFile)
	if d.SHA256 != OfficialDetectorSHA256 {
		t.Errorf("MMOD detector decompressed to sha256 %s, want dlib's %s", d.SHA256, OfficialDetectorSHA256)
	}
	n, _ := man.Lookup(NoticeFile(YuNetFile))
	want := Entry{Name: NoticeFile(YuNetFile), SHA256: sha256Hex(yunetNotice), Size: int64(len(yunetNotice)), Origin: "licence notice of " + YuNetFile + ", shipped with it", Licence: YuNetLicence}
	n.Installed = want.Installed
	if n != want {
		t.Errorf("notice entry %+v, want %+v (as installNotice records it)", n, want)
	}
	// dlib's ResNet converted for OpenCV, recorded as `joren models
	// fetch` records it: the same bytes and entry as ConvertResNet makes
	// from the same .dat (which then keeps it), so the box's joren
	// verifies it and runs the network through OpenCV.
	ref := t.TempDir()
	if err := os.WriteFile(filepath.Join(ref, ResNetFile), resnet, 0o644); err != nil {
		t.Fatal(err)
	}
	refMan := Manifest{}
	rd, _ := man.Lookup(ResNetFile)
	refMan.Set(rd)
	if err := refMan.write(ref); err != nil {
		t.Fatal(err)
	}
	if err := ConvertResNet(ref, nil); err != nil {
		t.Fatal(err)
	}
	onnx, err := os.ReadFile(filepath.Join(dir, ResNetONNXFile))
	if err != nil {
		t.Fatalf("the package installs no converted ResNet: %v", err)
	}
	if want, _ := os.ReadFile(filepath.Join(ref, ResNetONNXFile)); !bytes.Equal(onnx, want) {
		t.Errorf("%s installed is not the file ConvertResNet makes from the same %s", ResNetONNXFile, ResNetFile)
	}
	if src, err := ResNetONNXSource(onnx); err != nil || src != sha256Hex(resnet) || src != rd.SHA256 {
		t.Errorf("%s converted from sha256 %s (%v), want the installed %s's %s", ResNetONNXFile, src, err, ResNetFile, sha256Hex(resnet))
	}
	refMan, _ = ReadManifest(ref)
	c, _ := man.Lookup(ResNetONNXFile)
	wantC, _ := refMan.Lookup(ResNetONNXFile)
	wantC.Installed = c.Installed
	if c != wantC {
		t.Errorf("converted ResNet recorded as\n  %+v\nConvertResNet records\n  %+v", c, wantC)
	}
	if c.Licence != rd.Licence || rd.Licence != "CC0-1.0 (dlib-models, Davis King)" {
		t.Errorf("converted ResNet's licence %q, want dlib's %q", c.Licence, rd.Licence)
	}
	before, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := ConvertResNet(dir, nil); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, ManifestFile)); !bytes.Equal(after, before) {
		t.Error("ConvertResNet (joren models fetch on the box) would convert the image's ResNet again")
	}

	for _, e := range man.Files {
		if got := e.Installed.Unix(); got != 1700000000 {
			t.Errorf("%s installed at %v, want SOURCE_DATE_EPOCH", e.Name, e.Installed)
		}
	}
	// The licence file legal-info saves is in the build directory.
	if b, err := os.ReadFile(filepath.Join(work, "build", p.vars["JOREN_MODELS_LICENSE_FILES"])); err != nil || !bytes.Equal(b, yunetNotice) {
		t.Errorf("licence file for legal-info: %v (equal to the notice: %v)", err, bytes.Equal(b, yunetNotice))
	}
	// The stand-ins came out of bzip2 as they went in.
	f, err := os.Open(filepath.Join(dl, ShapePredictorFile+".bz2"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	orig, _ := io.ReadAll(bzip2.NewReader(f))
	if got, _ := os.ReadFile(filepath.Join(dir, ShapePredictorFile)); !bytes.Equal(got, orig) {
		t.Errorf("%s installed as %q, want %q", ShapePredictorFile, got, orig)
	}
}

// TestBuildrootManifestRefuses: the manifest script stops the build on a
// file it cannot vouch for, naming it.
func TestBuildrootManifestRefuses(t *testing.T) {
	root := testenv.Root(t)
	script := filepath.Join(root, "buildroot", "package", "joren-models", "manifest")
	hash := filepath.Join(root, "buildroot", "package", "joren-models", "joren-models.hash")
	yunet, err := os.ReadFile(testenv.YuNet(t))
	if err != nil {
		t.Fatal(err)
	}
	zoo := YuNetZooURL
	for _, tc := range []struct {
		name   string
		files  map[string][]byte
		urls   []string
		hash   string
		errSub string
	}{
		{"notice missing", map[string][]byte{YuNetFile: yunet}, []string{zoo}, hash, YuNetFile + ".LICENSE is missing or not the notice pinned"},
		{"notice changed", map[string][]byte{YuNetFile: yunet, NoticeFile(YuNetFile): []byte("MIT\n")}, []string{zoo}, hash, YuNetFile + ".LICENSE is missing or not the notice pinned"},
		{"YuNet not the pinned file", map[string][]byte{YuNetFile: yunet[:1000], NoticeFile(YuNetFile): yunetNotice}, []string{zoo}, hash, YuNetFile + " is missing or not the file pinned"},
		{"file not pinned", map[string][]byte{"other.onnx": yunet}, []string{"https://example.com/other.onnx"}, hash, "no sha256 for other.onnx"},
		{"downloaded file missing", nil, []string{DlibBaseURL + DetectorFile + ".bz2"}, hash, DetectorFile + " is missing"},
		{"unknown model file", map[string][]byte{"x.onnx": yunet}, []string{"https://example.com/x.onnx"}, "", "x.onnx: unknown model file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			h := tc.hash
			if h == "" {
				h = filepath.Join(dir, "pins.hash")
				if err := os.WriteFile(h, []byte("sha256  "+sha256Hex(yunet)+"  x.onnx\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(script, append([]string{dir, h}, tc.urls...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err == nil {
				t.Fatalf("manifest succeeded; stderr %q", stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.errSub) {
				t.Errorf("manifest said %q, want it to say %q", stderr.String(), tc.errSub)
			}
		})
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
