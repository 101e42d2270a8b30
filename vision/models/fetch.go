package models

import (
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"joren/internal/atomicfile"
)

// DlibBaseURL is where dlib's author publishes the official model files.
const DlibBaseURL = "http://dlib.net/files/"

// Remote is one model file to download.
type Remote struct {
	// Name is the installed (decompressed) file name.
	Name string
	// URL is where the file is downloaded from: a .bz2 file, or the file
	// itself if Raw is set.
	URL string
	// Mirrors are tried in turn when URL fails.
	Mirrors []string
	// Raw says the file is served as it is installed, not compressed.
	Raw bool
	// SHA256 is the pinned hex sha256 of the file as downloaded.
	SHA256 string
	// Licence of the file.
	Licence string
	// Notice, if set, is the licence notice that must travel with the
	// file: it is installed beside it as Name + ".LICENSE".
	Notice []byte
}

// origin is what MANIFEST records for r downloaded from url.
func (r Remote) origin(url string) string {
	if r.Raw {
		return "downloaded from " + url + " (sha256 " + r.SHA256 + ")"
	}
	return "downloaded from " + url + " (sha256 of .bz2 " + r.SHA256 + ")"
}

// NoticeFile is the name of the licence notice installed beside name.
func NoticeFile(name string) string { return name + ".LICENSE" }

// The sha256 of dlib's .bz2 files as published on dlib.net (and in the
// dlib-models repository). The MMOD detector's was checked here against the
// CC0 copy in ../shared/models, recompressed with bzip2 -9.
const (
	officialShapePredictorBZ2 = "6e787bbebf5c9efdb793f6cd1f023230c4413306605f24f299f12869f95aa472"
	officialResNetBZ2         = "abb1f61041e434465855ce81c2bd546e830d28bcbed8d27ffbe5bb408b11553a"
	officialDetectorBZ2       = "db9e9e40f092c118d5eb3e643935b216838170793559515541c56a2b50d9fc84"
	// OfficialDetectorSHA256 is the sha256 of the decompressed MMOD detector.
	OfficialDetectorSHA256 = "be467b1a76f482693de3b0f6a1ff91d092319be71523d4d4b0628f6a53fcb87a"
)

// Official lists dlib's three files under baseURL (DlibBaseURL, or a mirror
// holding the same files).
func Official(baseURL string) []Remote {
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	return []Remote{
		{Name: ShapePredictorFile, URL: baseURL + ShapePredictorFile + ".bz2", SHA256: officialShapePredictorBZ2, Licence: "CC0-1.0 (dlib-models, Davis King)"},
		{Name: ResNetFile, URL: baseURL + ResNetFile + ".bz2", SHA256: officialResNetBZ2, Licence: "CC0-1.0 (dlib-models, Davis King)"},
		{Name: DetectorFile, URL: baseURL + DetectorFile + ".bz2", SHA256: officialDetectorBZ2, Licence: "CC0-1.0 (dlib-models, Davis King)"},
	}
}

// FetchOptions configure Fetch.
type FetchOptions struct {
	// Dir is the model directory; it is created if needed.
	Dir string
	// Remotes are the files to fetch (Official(DlibBaseURL) in production).
	Remotes []Remote
	// Client does the downloads; nil means a client with a 10-minute timeout.
	Client *http.Client
	// Attempts is how many times a download that failed on the network or
	// with a server error is tried; 0 means 3. A checksum mismatch or a
	// client error such as 404 is never retried.
	Attempts int
	// Progress, if set, wraps each download's body (for a progress bar).
	Progress func(name string, size int64, r io.Reader) io.Reader
	// Log receives each download and check (nil: discarded).
	Log *slog.Logger
}

// ChecksumError says a downloaded file is not the pinned one.
type ChecksumError struct {
	URL       string
	Got, Want string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("checksum mismatch for %s: sha256 %s, want %s (file changed upstream or corrupted in transit; nothing was installed)", e.URL, e.Got, e.Want)
}

// Fetch downloads, checks and decompresses every remote file into Dir, and
// converts dlib's ResNet for OpenCV (ConvertResNet). A file already
// installed with the same origin is kept. Each file is
// installed atomically, and only after its checksum matched; a failure
// leaves Dir as it was for that file.
func Fetch(ctx context.Context, o FetchOptions) error {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Minute}
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("creating model directory: %w", err)
	}
	man, err := ReadManifest(o.Dir)
	if err != nil {
		return err
	}
	for _, r := range o.Remotes {
		urls := append([]string{r.URL}, r.Mirrors...)
		if present(o.Dir, man, r, urls) {
			o.Log.Info("model file already present", "file", r.Name)
		} else {
			entry, err := fetchAny(ctx, o, r, urls)
			if err != nil {
				return err
			}
			man.Set(entry)
			if err := man.write(o.Dir); err != nil {
				return err
			}
			o.Log.Info("model file installed", "file", r.Name, "sha256", entry.SHA256)
		}
		if r.Notice != nil {
			if err := installNotice(o.Dir, &man, r.Name, r.Notice, r.Licence); err != nil {
				return err
			}
		}
	}
	for _, r := range o.Remotes {
		if r.Name != ResNetFile {
			continue
		}
		if err := convertResNet(o.Dir, &man, time.Now(), o.Log); err != nil {
			// dlib still runs the file: only the faster path is missing.
			o.Log.Warn("dlib's ResNet was not converted for OpenCV: descriptors will be computed by dlib, which costs more CPU", "err", err)
		}
	}
	return nil
}

// present tells whether r is installed, intact, from one of its URLs.
func present(dir string, man Manifest, r Remote, urls []string) bool {
	e, ok := man.Lookup(r.Name)
	if !ok {
		return false
	}
	for _, u := range urls {
		if e.Origin == r.origin(u) {
			sum, _, err := fileSHA256(filepath.Join(dir, r.Name))
			return err == nil && sum == e.SHA256
		}
	}
	return false
}

// fetchAny downloads r from the first of urls that gives the pinned file,
// retrying each as FetchOptions.Attempts says.
func fetchAny(ctx context.Context, o FetchOptions, r Remote, urls []string) (Entry, error) {
	var errs []error
	for _, u := range urls {
		entry, err := fetchRetrying(ctx, o, r, u)
		if err == nil {
			entry.Origin = r.origin(u)
			return entry, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
		if len(urls) > 1 {
			o.Log.Warn("download failed, trying the next location", "url", u, "err", err)
		}
	}
	return Entry{}, errors.Join(errs...)
}

func fetchRetrying(ctx context.Context, o FetchOptions, r Remote, url string) (Entry, error) {
	for attempt := 1; ; attempt++ {
		entry, err := fetchOne(ctx, o, r, url)
		var (
			ce *ChecksumError
			pe permanentError
		)
		if err == nil || errors.As(err, &ce) || errors.As(err, &pe) || ctx.Err() != nil || attempt >= o.Attempts {
			return entry, err
		}
		wait := time.Duration(attempt) * 2 * time.Second
		o.Log.Warn("download failed, retrying", "url", url, "attempt", attempt, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// installNotice writes a model file's licence notice beside it (again if
// it was removed or changed) and records it in MANIFEST.
func installNotice(dir string, man *Manifest, name string, notice []byte, licence string) error {
	file := NoticeFile(name)
	sum := sha256.Sum256(notice)
	want := hex.EncodeToString(sum[:])
	if e, ok := man.Lookup(file); ok && e.SHA256 == want {
		if got, _, err := fileSHA256(filepath.Join(dir, file)); err == nil && got == want {
			return nil
		}
	}
	if err := atomicfile.Copy(filepath.Join(dir, file), bytes.NewReader(notice), 0o644); err != nil {
		return fmt.Errorf("installing the licence notice of %s: %w", name, err)
	}
	man.Set(Entry{Name: file, SHA256: want, Size: int64(len(notice)), Origin: "licence notice of " + name + ", shipped with it", Licence: licence, Installed: time.Now().UTC()})
	return man.write(dir)
}

// permanentError is a download failure that trying again cannot cure.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func fetchOne(ctx context.Context, o FetchOptions, r Remote, url string) (Entry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Entry{}, fmt.Errorf("downloading %s: %w", url, err)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return Entry{}, fmt.Errorf("downloading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("downloading %s: HTTP %s", url, resp.Status)
		if c := resp.StatusCode; c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests {
			return Entry{}, permanentError{err} // asking again gets the same answer
		}
		return Entry{}, err
	}
	// The downloaded file goes to disk first: its checksum must match
	// before anything is decompressed or installed.
	part, err := os.CreateTemp(o.Dir, "."+r.Name+".download.*.part")
	if err != nil {
		return Entry{}, fmt.Errorf("creating download file: %w", err)
	}
	defer func() {
		part.Close()
		os.Remove(part.Name())
	}()
	var body io.Reader = resp.Body
	if o.Progress != nil {
		body = o.Progress(path.Base(url), resp.ContentLength, body)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(part, h), body)
	if err != nil {
		return Entry{}, fmt.Errorf("downloading %s: %w after %d bytes (truncated download; nothing was installed)", url, err, n)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return Entry{}, fmt.Errorf("downloading %s: got %d of %d bytes (truncated download; nothing was installed)", url, n, resp.ContentLength)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != r.SHA256 {
		return Entry{}, &ChecksumError{URL: url, Got: got, Want: r.SHA256}
	}
	if _, err := part.Seek(0, io.SeekStart); err != nil {
		return Entry{}, fmt.Errorf("reading back %s: %w", part.Name(), err)
	}
	out := filepath.Join(o.Dir, r.Name)
	if r.Raw {
		err = atomicfile.Copy(out, part, 0o644)
	} else if err = atomicfile.Copy(out, bzip2.NewReader(part), 0o644); err != nil {
		err = fmt.Errorf("decompressing %s: %w", url, err)
	}
	if err != nil {
		return Entry{}, err
	}
	sum, size, err := fileSHA256(out)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Name: r.Name, SHA256: sum, Size: size, Licence: r.Licence, Installed: time.Now().UTC()}, nil
}
