package models_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"joren/internal/testenv"
	"joren/vision/models"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// bzip2 compresses b with the bzip2 command, as dlib's files were made.
func bzip2(t testing.TB, b []byte) []byte {
	t.Helper()
	cmd := exec.Command("bzip2", "-9", "-c")
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bzip2 -9 -c (Debian package bzip2): %v: %s", err, stderr.Bytes())
	}
	return out
}

// modelBytes is n bytes of fake model data: repetitive enough to compress,
// random enough not to vanish.
func modelBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(16)) + 'a'
	}
	return b
}

// server serves handlers by path and counts requests per path.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	routes map[string]http.HandlerFunc
}

func newServer(t testing.TB) *server {
	s := &server{hits: map[string]int{}, routes: map[string]http.HandlerFunc{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		h := s.routes[r.URL.Path]
		s.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) route(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[path] = h
}

func (s *server) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func (s *server) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.hits {
		n += v
	}
	return n
}

// serveBytes answers with b and its Content-Length.
func serveBytes(b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}
}

// serveRaw writes a raw HTTP response and closes the connection, for
// responses net/http would not send: a body shorter than its
// Content-Length, or a body ended by closing the connection.
func serveRaw(t testing.TB, header string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijacking: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString(header)
		buf.Write(body)
		buf.Flush()
	}
}

// fixture is a model file and its .bz2 as served.
type fixture struct {
	name     string // installed name
	raw, bz2 []byte
	path     string // URL path
}

func newFixture(t testing.TB, name string, size int, seed uint64) fixture {
	raw := modelBytes(size, seed)
	return fixture{name: name, raw: raw, bz2: bzip2(t, raw), path: "/dlib/" + name + ".bz2"}
}

func (f fixture) remote(s *server) models.Remote {
	return models.Remote{Name: f.name, URL: s.URL + f.path, SHA256: sha(f.bz2), Licence: "test licence " + f.name}
}

// noPartFiles fails if dir holds a temporary file of an unfinished write.
func noPartFiles(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".part") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("stray file %s left in %s", e.Name(), dir)
		}
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFetchInstallsThenSkips(t *testing.T) {
	s := newServer(t)
	fx := []fixture{
		newFixture(t, models.ShapePredictorFile, 50_000, 1),
		newFixture(t, models.ResNetFile, 300_000, 2),
		newFixture(t, models.DetectorFile, 20_000, 3),
	}
	var remotes []models.Remote
	for _, f := range fx {
		s.route(f.path, serveBytes(f.bz2))
		remotes = append(remotes, f.remote(s))
	}
	dir := filepath.Join(t.TempDir(), "new", "models") // created by Fetch
	var progressed sync.Map
	o := models.FetchOptions{
		Dir:     dir,
		Remotes: remotes,
		Progress: func(name string, size int64, r io.Reader) io.Reader {
			progressed.Store(name, size)
			return r
		},
	}
	if err := models.Fetch(context.Background(), o); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	man, err := models.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Files) != len(fx) {
		t.Errorf("MANIFEST has %d entries, want %d", len(man.Files), len(fx))
	}
	for _, f := range fx {
		if got := readFile(t, filepath.Join(dir, f.name)); !bytes.Equal(got, f.raw) {
			t.Errorf("%s: installed %d bytes differ from the %d decompressed ones", f.name, len(got), len(f.raw))
		}
		e, ok := man.Lookup(f.name)
		if !ok {
			t.Errorf("MANIFEST lacks %s", f.name)
			continue
		}
		if e.SHA256 != sha(f.raw) || e.Size != int64(len(f.raw)) {
			t.Errorf("%s: MANIFEST says sha256 %s size %d, want %s %d (of the decompressed file)", f.name, e.SHA256, e.Size, sha(f.raw), len(f.raw))
		}
		if !strings.Contains(e.Origin, s.URL+f.path) || !strings.Contains(e.Origin, sha(f.bz2)) {
			t.Errorf("%s: origin %q does not name the URL and the .bz2's sha256", f.name, e.Origin)
		}
		if e.Licence != "test licence "+f.name || e.Installed.IsZero() {
			t.Errorf("%s: licence %q, installed %v", f.name, e.Licence, e.Installed)
		}
		if size, ok := progressed.Load(filepath.Base(f.path)); !ok || size.(int64) != int64(len(f.bz2)) {
			t.Errorf("Progress for %s: size %v, want %d", filepath.Base(f.path), size, len(f.bz2))
		}
		if n := s.count(f.path); n != 1 {
			t.Errorf("%s downloaded %d times, want once", f.path, n)
		}
	}
	noPartFiles(t, dir)
	manBefore := readFile(t, filepath.Join(dir, models.ManifestFile))

	// Again: everything is there, nothing is downloaded or rewritten.
	if err := models.Fetch(context.Background(), o); err != nil {
		t.Fatalf("second Fetch: %v", err)
	}
	if n := s.total(); n != len(fx) {
		t.Errorf("second Fetch made %d requests, want none", n-len(fx))
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, models.ManifestFile)), manBefore) {
		t.Error("second Fetch rewrote MANIFEST")
	}

	// A file changed on disk is downloaded again, and only that one.
	p := filepath.Join(dir, models.ResNetFile)
	if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := models.Fetch(context.Background(), o); err != nil {
		t.Fatalf("third Fetch: %v", err)
	}
	if !bytes.Equal(readFile(t, p), fx[1].raw) {
		t.Error("a damaged file was not replaced")
	}
	if n0, n1, n2 := s.count(fx[0].path), s.count(fx[1].path), s.count(fx[2].path); n0 != 1 || n1 != 2 || n2 != 1 {
		t.Errorf("downloads after damaging %s: %d, %d, %d; want 1, 2, 1", models.ResNetFile, n0, n1, n2)
	}

	// A file from another origin (another URL, another pinned file) is
	// replaced.
	other := newFixture(t, models.DetectorFile, 25_000, 4)
	other.path = "/mirror/" + models.DetectorFile + ".bz2"
	s.route(other.path, serveBytes(other.bz2))
	o.Remotes = []models.Remote{other.remote(s)}
	if err := models.Fetch(context.Background(), o); err != nil {
		t.Fatalf("Fetch from a new origin: %v", err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, models.DetectorFile)), other.raw) {
		t.Error("a file from a new origin was not installed")
	}
	man, _ = models.ReadManifest(dir)
	if e, _ := man.Lookup(models.DetectorFile); !strings.Contains(e.Origin, other.path) || e.SHA256 != sha(other.raw) {
		t.Errorf("MANIFEST entry after the new origin: %+v", e)
	}
	noPartFiles(t, dir)
}

func TestFetchTruncatedDownload(t *testing.T) {
	f := newFixture(t, models.ResNetFile, 200_000, 5)
	half := f.bz2[:len(f.bz2)/2]
	for _, c := range []struct {
		name     string
		handler  func(t testing.TB) http.HandlerFunc
		attempts int
		want     []string
		checksum bool // a *ChecksumError
	}{
		{
			name: "connection closed before Content-Length bytes",
			handler: func(t testing.TB) http.HandlerFunc {
				return serveRaw(t, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(f.bz2)), half)
			},
			attempts: 1, // each retry waits 2 s
			want:     []string{"truncated download", "nothing was installed", f.path},
		},
		{
			name: "short body without Content-Length",
			handler: func(t testing.TB) http.HandlerFunc {
				return serveRaw(t, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", half)
			},
			attempts: 3, // a checksum mismatch is never retried
			want:     []string{"checksum mismatch", sha(half), sha(f.bz2), "nothing was installed"},
			checksum: true,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t)
			s.route(f.path, c.handler(t))
			dir := t.TempDir()
			err := models.Fetch(context.Background(), models.FetchOptions{Dir: dir, Remotes: []models.Remote{f.remote(s)}, Attempts: c.attempts})
			if err == nil {
				t.Fatal("Fetch succeeded on a truncated download")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var ce *models.ChecksumError
			if errors.As(err, &ce) != c.checksum {
				t.Errorf("error %q: is a ChecksumError: %v, want %v", err, !c.checksum, c.checksum)
			}
			if n := s.count(f.path); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if _, err := os.Stat(filepath.Join(dir, f.name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s installed after a truncated download (stat: %v)", f.name, err)
			}
			if _, err := os.Stat(filepath.Join(dir, models.ManifestFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("MANIFEST written after a failed download (stat: %v)", err)
			}
			noPartFiles(t, dir)
		})
	}
}

func TestFetchWrongChecksumKeepsInstalledFile(t *testing.T) {
	s := newServer(t)
	old := newFixture(t, models.ResNetFile, 40_000, 6)
	s.route(old.path, serveBytes(old.bz2))
	dir := t.TempDir()
	if err := models.Fetch(context.Background(), models.FetchOptions{Dir: dir, Remotes: []models.Remote{old.remote(s)}}); err != nil {
		t.Fatal(err)
	}
	manBefore := readFile(t, filepath.Join(dir, models.ManifestFile))

	// A new version is pinned, but the server sends something else.
	pinned := newFixture(t, models.ResNetFile, 40_000, 7)
	wrong := newFixture(t, models.ResNetFile, 40_000, 8)
	pinned.path = "/v2/" + models.ResNetFile + ".bz2"
	s.route(pinned.path, serveBytes(wrong.bz2))
	sp := newFixture(t, models.ShapePredictorFile, 1000, 9)
	s.route(sp.path, serveBytes(sp.bz2))
	err := models.Fetch(context.Background(), models.FetchOptions{
		Dir:      dir,
		Remotes:  []models.Remote{pinned.remote(s), sp.remote(s)},
		Attempts: 3,
	})
	var ce *models.ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("Fetch error = %v, want a *ChecksumError", err)
	}
	if ce.URL != s.URL+pinned.path || ce.Got != sha(wrong.bz2) || ce.Want != sha(pinned.bz2) {
		t.Errorf("ChecksumError{URL %s, Got %s, Want %s}, want {%s, %s, %s}", ce.URL, ce.Got, ce.Want, s.URL+pinned.path, sha(wrong.bz2), sha(pinned.bz2))
	}
	if !strings.Contains(err.Error(), "nothing was installed") {
		t.Errorf("error %q does not say nothing was installed", err)
	}
	if n := s.count(pinned.path); n != 1 {
		t.Errorf("the mismatching file was downloaded %d times, want once (never retried)", n)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, models.ResNetFile)), old.raw) {
		t.Error("the installed file was changed by a download that failed its checksum")
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, models.ManifestFile)), manBefore) {
		t.Error("MANIFEST changed by a failed download")
	}
	if n := s.count(sp.path); n != 0 {
		t.Errorf("Fetch went on to the next file after a checksum mismatch (%d requests)", n)
	}
	noPartFiles(t, dir)
}

// TestFetchNotBzip2: a file that matches its pinned checksum but does not
// decompress is not installed either.
func TestFetchNotBzip2(t *testing.T) {
	s := newServer(t)
	body := []byte("BZh9 this is not bzip2 data at all")
	s.route("/x.bz2", serveBytes(body))
	dir := t.TempDir()
	err := models.Fetch(context.Background(), models.FetchOptions{Dir: dir, Attempts: 1, Remotes: []models.Remote{
		{Name: models.DetectorFile, URL: s.URL + "/x.bz2", SHA256: sha(body)},
	}})
	if err == nil || !strings.Contains(err.Error(), "decompressing") {
		t.Fatalf("Fetch error = %v, want one saying decompressing", err)
	}
	if _, err := os.Stat(filepath.Join(dir, models.DetectorFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file that did not decompress was installed (stat: %v)", err)
	}
	noPartFiles(t, dir)
}

func TestFetchHTTPError(t *testing.T) {
	for _, c := range []struct {
		status   int
		attempts int
		requests int
	}{
		{http.StatusNotFound, 3, 1},  // the same answer again: not retried
		{http.StatusForbidden, 3, 1}, // likewise
		{http.StatusInternalServerError, 1, 1},
	} {
		t.Run(strconv.Itoa(c.status), func(t *testing.T) {
			s := newServer(t)
			s.route("/f.bz2", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no", c.status)
			})
			dir := t.TempDir()
			err := models.Fetch(context.Background(), models.FetchOptions{Dir: dir, Attempts: c.attempts, Remotes: []models.Remote{
				{Name: models.DetectorFile, URL: s.URL + "/f.bz2", SHA256: strings.Repeat("0", 64)},
			}})
			if err == nil {
				t.Fatal("Fetch succeeded")
			}
			for _, w := range []string{"HTTP " + strconv.Itoa(c.status), http.StatusText(c.status), s.URL + "/f.bz2"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if n := s.count("/f.bz2"); n != c.requests {
				t.Errorf("%d requests, want %d", n, c.requests)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("directory holds %d files after a failed download", len(ents))
			}
		})
	}
}

// TestFetchRetries: a download that failed once on the network or with a
// server error is tried again (after 2 s) and installed.
func TestFetchRetries(t *testing.T) {
	f := newFixture(t, models.ShapePredictorFile, 30_000, 10)
	for _, c := range []struct {
		name  string
		first func(t testing.TB) http.HandlerFunc
	}{
		{"connection cut", func(t testing.TB) http.HandlerFunc {
			return serveRaw(t, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(f.bz2)), f.bz2[:100])
		}},
		{"HTTP 503", func(testing.TB) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			first := c.first(t)
			var mu sync.Mutex
			calls := 0
			s.route(f.path, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				n := calls
				mu.Unlock()
				if n == 1 {
					first(w, r)
					return
				}
				serveBytes(f.bz2)(w, r)
			})
			dir := t.TempDir()
			if err := models.Fetch(context.Background(), models.FetchOptions{Dir: dir, Attempts: 2, Remotes: []models.Remote{f.remote(s)}}); err != nil {
				t.Fatalf("Fetch with one retry: %v", err)
			}
			if n := s.count(f.path); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
			if !bytes.Equal(readFile(t, filepath.Join(dir, f.name)), f.raw) {
				t.Error("the file installed after a retry differs")
			}
			noPartFiles(t, dir)
		})
	}
}

// TestFetchCancelled: a cancelled context ends Fetch without retrying.
func TestFetchCancelled(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.route("/f.bz2", func(w http.ResponseWriter, r *http.Request) {
		cancel()
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	err := models.Fetch(ctx, models.FetchOptions{Dir: t.TempDir(), Attempts: 3, Remotes: []models.Remote{
		{Name: models.DetectorFile, URL: s.URL + "/f.bz2", SHA256: strings.Repeat("0", 64)},
	}})
	if err == nil {
		t.Fatal("Fetch succeeded")
	}
	if n := s.count("/f.bz2"); n != 1 {
		t.Errorf("%d requests after the context was cancelled, want 1", n)
	}
}

func TestFetchBadManifest(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := models.Fetch(context.Background(), models.FetchOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "parsing model manifest") {
		t.Fatalf("Fetch error = %v, want one about parsing MANIFEST", err)
	}
}

func TestOfficial(t *testing.T) {
	for _, base := range []string{"http://dlib.net/files", "http://dlib.net/files/"} {
		rs := models.Official(base)
		if len(rs) != len(models.Files) {
			t.Fatalf("Official lists %d files, want %d", len(rs), len(models.Files))
		}
		seen := map[string]bool{}
		for i, r := range rs {
			if r.Name != models.Files[i] {
				t.Errorf("Official[%d] is %s, want %s", i, r.Name, models.Files[i])
			}
			if want := "http://dlib.net/files/" + r.Name + ".bz2"; r.URL != want {
				t.Errorf("Official(%q) URL %s, want %s", base, r.URL, want)
			}
			if b, err := hex.DecodeString(r.SHA256); err != nil || len(b) != 32 || seen[r.SHA256] {
				t.Errorf("%s: pinned sha256 %q is not a distinct sha256", r.Name, r.SHA256)
			}
			seen[r.SHA256] = true
			if !strings.Contains(r.Licence, "CC0") {
				t.Errorf("%s: licence %q", r.Name, r.Licence)
			}
		}
	}
}

// TestFetchOfficialDetector serves the shared MMOD detector compressed with
// bzip2 -9 under its official name: the pinned sha256 of dlib.net's .bz2
// must accept it, and the installed file must be the official one.
func TestFetchOfficialDetector(t *testing.T) {
	src := filepath.Join(testenv.Shared(t), "models", models.DetectorFile)
	raw := readFile(t, src)
	if sha(raw) != models.OfficialDetectorSHA256 {
		t.Fatalf("%s: sha256 %s, want the official %s", src, sha(raw), models.OfficialDetectorSHA256)
	}
	bz := bzip2(t, raw)
	s := newServer(t)
	s.route("/files/"+models.DetectorFile+".bz2", serveBytes(bz))
	var remotes []models.Remote
	for _, r := range models.Official(s.URL + "/files") {
		if r.Name == models.DetectorFile {
			remotes = append(remotes, r)
		}
	}
	if len(remotes) != 1 {
		t.Fatalf("Official lists %d detector files", len(remotes))
	}
	if remotes[0].SHA256 != sha(bz) {
		t.Errorf("bzip2 -9 of the official detector has sha256 %s, Official pins %s", sha(bz), remotes[0].SHA256)
	}
	dir := t.TempDir()
	if err := models.Fetch(context.Background(), models.FetchOptions{Dir: dir, Remotes: remotes, Attempts: 1}); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got := sha(readFile(t, filepath.Join(dir, models.DetectorFile))); got != models.OfficialDetectorSHA256 {
		t.Errorf("installed detector sha256 %s, want %s", got, models.OfficialDetectorSHA256)
	}
	man, err := models.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := man.Lookup(models.DetectorFile); !ok || e.SHA256 != models.OfficialDetectorSHA256 || len(man.Files) != 1 {
		t.Errorf("MANIFEST %+v, want only the detector with the official sha256", man.Files)
	}
}

// TestFetchRaw: a file served as it is installed (YuNet), from the second
// of its locations when the first fails, with its licence notice; kept
// when present, its notice restored if deleted.
func TestFetchRaw(t *testing.T) {
	s := newServer(t)
	content := modelBytes(30_000, 7)
	s.route("/gone/model.onnx", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "moved", http.StatusNotFound) })
	s.route("/mirror/model.onnx", serveBytes(content))
	notice := []byte("Copyright someone. Apache License 2.0\n")
	r := models.Remote{Name: models.YuNetFile, URL: s.URL + "/gone/model.onnx", Mirrors: []string{s.URL + "/mirror/model.onnx"},
		Raw: true, SHA256: sha(content), Licence: "Apache-2.0 (test)", Notice: notice}
	dir := t.TempDir()
	o := models.FetchOptions{Dir: dir, Remotes: []models.Remote{r}, Attempts: 1}
	if err := models.Fetch(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, models.YuNetFile)), content) {
		t.Error("installed file differs from the served one")
	}
	man, _ := models.ReadManifest(dir)
	e, _ := man.Lookup(models.YuNetFile)
	if e.SHA256 != sha(content) || e.Origin != "downloaded from "+s.URL+"/mirror/model.onnx (sha256 "+sha(content)+")" || e.Licence != r.Licence {
		t.Errorf("MANIFEST entry %+v", e)
	}
	n, _ := man.Lookup(models.NoticeFile(models.YuNetFile))
	if !bytes.Equal(readFile(t, filepath.Join(dir, models.NoticeFile(models.YuNetFile))), notice) || n.SHA256 != sha(notice) || n.Licence != r.Licence {
		t.Errorf("notice entry %+v", n)
	}
	noPartFiles(t, dir)
	// Again: nothing downloaded (the origin is the mirror's, which is
	// one of the file's locations).
	before := s.total()
	if err := models.Fetch(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if s.total() != before {
		t.Errorf("second Fetch made %d requests", s.total()-before)
	}
	// The notice deleted: written again, the file not downloaded.
	os.Remove(filepath.Join(dir, models.NoticeFile(models.YuNetFile)))
	if err := models.Fetch(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if s.total() != before || !bytes.Equal(readFile(t, filepath.Join(dir, models.NoticeFile(models.YuNetFile))), notice) {
		t.Errorf("notice not restored, or the file downloaded again (%d requests)", s.total()-before)
	}
	// Every location failing: both are named.
	r.Mirrors = []string{s.URL + "/gone/other.onnx"}
	err := models.Fetch(context.Background(), models.FetchOptions{Dir: t.TempDir(), Remotes: []models.Remote{r}, Attempts: 1})
	if err == nil || !strings.Contains(err.Error(), "/gone/model.onnx: HTTP 404") || !strings.Contains(err.Error(), "/gone/other.onnx: HTTP 404") {
		t.Errorf("all locations failing: %v", err)
	}
}

func TestYuNetRemote(t *testing.T) {
	r := models.YuNetRemote()
	if r.URL != models.YuNetZooURL || len(r.Mirrors) != 1 || r.Mirrors[0] != models.YuNetTrainURL || !r.Raw || r.SHA256 != models.YuNetSHA256 || len(r.Notice) == 0 {
		t.Errorf("YuNet's upstream %+v", r)
	}
	for _, u := range []string{r.URL, r.Mirrors[0], models.SFace.URL} {
		if !strings.HasPrefix(u, "https://github.com/") || !strings.Contains(u, "/raw/") {
			t.Errorf("%s is not a pinned GitHub raw URL", u)
		}
	}
	if r := models.YuNetRemote("http://a/x", "http://b/y"); r.URL != "http://a/x" || len(r.Mirrors) != 1 {
		t.Errorf("given locations: %+v", r)
	}
	if r := models.SFaceRemote(); r.SHA256 != models.SFace.SHA256 || !r.Raw || len(r.Notice) == 0 {
		t.Errorf("SFace's upstream %+v", r)
	}
	if err := models.SFace.Settings.Check(); err != nil {
		t.Errorf("SFace's settings: %v", err)
	}
}
