//go:build cgo

package appliance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// freeAddr returns a loopback address nothing listens on (for a page
// whose listener the appliance opens itself).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// pageWatcher is an installer at the page while the appliance runs: it
// logs in and polls the live view and the status, as the page's script
// does, and remembers what it saw.
type pageWatcher struct {
	mu         sync.Mutex
	frames     int  // live frames announced
	jpegs      int  // of which the JPEG was fetched
	withFaces  int  // live frames with a face box
	passed     bool // a face passed the quality gate
	decisions  int  // most decisions the status listed
	whos       []string
	maxVisits  int
	statusErrs []string // failures followed by a success: the page failed while up
	tailErrs   []string // failures since the last success: the page may just have stopped
	refused    int      // requests without a session refused
	loginErr   error
	tested     int // the status of "Test the light"
}

// watchPage runs until ctx is done.
func watchPage(ctx context.Context, addr, password string, w *pageWatcher) {
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	get := func(path string, v any) (int, error) {
		resp, err := c.Get(base + path)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if v == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			return resp.StatusCode, err
		}
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
	}
	// The page comes up with the appliance: wait for it, and check that
	// nothing private is served without a session on the way.
	for {
		code, err := get("/api/live", nil)
		if err == nil {
			if code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusSeeOther {
				w.mu.Lock()
				w.refused++
				w.mu.Unlock()
			}
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	resp, err := c.PostForm(base+"/login", url.Values{"password": {password}})
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK { // followed the 303 to the page
			err = fmt.Errorf("login: %s", resp.Status)
		}
	}
	if err != nil {
		w.mu.Lock()
		w.loginErr = err
		w.mu.Unlock()
		return
	}
	// The installer tries the staff light once, after the lamp test of
	// the start has played (a request while it waits would replace it).
	select {
	case <-ctx.Done():
		return
	case <-time.After(1500 * time.Millisecond):
	}
	req, _ := http.NewRequest("POST", base+"/api/test-indicator", nil)
	req.Header.Set("Origin", base)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		w.mu.Lock()
		w.tested = resp.StatusCode
		w.mu.Unlock()
	}
	var last int64
	for tick := 0; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		var live struct {
			Seq   int64  `json:"seq"`
			Image string `json:"image"`
			Faces []struct {
				Box    [4]int `json:"box"`
				Passed bool   `json:"passed"`
			} `json:"faces"`
		}
		if code, err := get("/api/live", &live); err == nil && code == http.StatusOK && live.Seq > last {
			last = live.Seq
			jpeg := false
			if code, err := get(live.Image, nil); err == nil && code == http.StatusOK {
				jpeg = true
			}
			w.mu.Lock()
			w.frames++
			if jpeg {
				w.jpegs++
			}
			if len(live.Faces) > 0 {
				w.withFaces++
			}
			for _, f := range live.Faces {
				w.passed = w.passed || f.Passed
			}
			w.mu.Unlock()
		}
		if tick%5 != 0 {
			continue
		}
		var st struct {
			Counts struct {
				Frames      int64 `json:"frames"`
				VisitsToday int   `json:"visits_today"`
			} `json:"counts"`
			Decisions []struct {
				Who    string `json:"who"`
				Kind   string `json:"kind"`
				Visits int    `json:"visits"`
			} `json:"decisions"`
		}
		code, err := get("/api/status", &st)
		w.mu.Lock()
		switch {
		case err != nil:
			w.tailErrs = append(w.tailErrs, err.Error())
		case code != http.StatusOK:
			w.tailErrs = append(w.tailErrs, fmt.Sprint("status ", code))
		default:
			// The page closes when the video ends, a moment before the
			// watcher is stopped: only failures the page came back from
			// are failures of the page.
			w.statusErrs = append(w.statusErrs, w.tailErrs...)
			w.tailErrs = nil
			w.decisions = max(w.decisions, len(st.Decisions))
			for _, d := range st.Decisions {
				w.whos = append(w.whos, d.Who)
				w.maxVisits = max(w.maxVisits, d.Visits)
			}
		}
		w.mu.Unlock()
	}
}

// check reports what the installer should have seen of a run.
func (w *pageWatcher) check(t *testing.T, decided int) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("installer page: %d live frames (%d JPEGs, %d with faces), up to %d decisions listed", w.frames, w.jpegs, w.withFaces, w.decisions)
	if w.loginErr != nil {
		t.Fatalf("installer page: %v", w.loginErr)
	}
	if w.tested != http.StatusOK {
		t.Errorf("installer page: testing the staff light answered %d", w.tested)
	}
	if w.refused == 0 {
		t.Error("installer page: the live view was served without a session")
	}
	if w.frames < 3 || w.jpegs < w.frames/2 {
		t.Errorf("installer page: %d live frames, %d JPEGs fetched, want several", w.frames, w.jpegs)
	}
	if w.withFaces == 0 || !w.passed {
		t.Errorf("installer page: no face shown (%d frames with faces, one passed the gate: %v)", w.withFaces, w.passed)
	}
	if decided > 0 && w.decisions == 0 {
		t.Errorf("installer page: %d decisions made, none listed", decided)
	}
	if len(w.statusErrs) > 0 {
		t.Errorf("installer page: status failed: %v", w.statusErrs[:min(3, len(w.statusErrs))])
	}
	// Visitors appear by pseudonym only: never the store's ids.
	internal := regexp.MustCompile(`^p\d+$`)
	for _, who := range w.whos {
		if internal.MatchString(who) || len(who) > 8 || strings.Contains(who, "p0000") {
			t.Errorf("installer page showed visitor %q, not a short pseudonym", who)
			break
		}
	}
}
