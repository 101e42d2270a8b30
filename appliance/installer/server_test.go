package installer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"joren/internal/logtest"
	"joren/vision/frame"
	"joren/vision/quality"
	"joren/vision/track"
	"joren/vocab"
)

const testPassword = "correct horse battery" // testdata/password

// fakeStatus is a Status the tests change as they go.
type fakeStatus struct {
	mu        sync.Mutex
	counts    Counts
	decisions []vocab.Decision // newest first
}

func (f *fakeStatus) Counts() Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts
}

// Decisions returns all it has, more than n: the page must cut.
func (f *fakeStatus) Decisions(n int) []vocab.Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]vocab.Decision(nil), f.decisions...)
}

func (f *fakeStatus) set(c Counts, ds ...vocab.Decision) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts, f.decisions = c, ds
}

// testPseudonym stands for the appliance's: a keyed hash in production,
// here anything that is not the internal id.
func testPseudonym(d vocab.Decision) string {
	if d.Visitor == "" {
		return ""
	}
	return "p" + strings.Repeat(strings.TrimPrefix(d.Visitor, "visitor-"), 4)
}

type harness struct {
	srv    *Server
	http   *httptest.Server
	live   *Live
	status *fakeStatus
	log    *logtest.Buffer
	clock  *clock
}

// clock is a settable time for the server and the live view.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newHarness(t *testing.T, edit func(*Options)) *harness {
	t.Helper()
	h := &harness{live: NewLive(LiveOptions{}), status: &fakeStatus{}, log: &logtest.Buffer{}, clock: &clock{t: time.Date(2026, 5, 4, 10, 0, 0, 0, time.Local)}}
	o := Options{
		Listen:       "127.0.0.1:0",
		PasswordFile: "testdata/password",
		Live:         h.live,
		Status:       h.status,
		Pseudonym:    testPseudonym,
		Title:        "door-1",
		Log:          h.log.Logger(),
	}
	if edit != nil {
		edit(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv.now = h.clock.now
	h.live.now = h.clock.now
	h.srv = srv
	h.http = httptest.NewServer(srv.handler())
	t.Cleanup(h.http.Close)
	return h
}

// client is a browser without JavaScript: a cookie jar, no redirects
// followed (the tests look at them).
func (h *harness) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (h *harness) login(t *testing.T, c *http.Client, password string) *http.Response {
	t.Helper()
	resp, err := c.PostForm(h.http.URL+"/login", url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// feed gives the live view a frame with a red square where the face is,
// as the pipeline's preview hook does.
func feed(l *Live, w, h int, at time.Time, faces ...track.Detection) {
	im := frame.New(w, h)
	for i := range im.Pix {
		im.Pix[i] = 40
	}
	var tracks []string
	for i, f := range faces {
		for y := f.Box.Min.Y; y < f.Box.Max.Y; y++ {
			for x := f.Box.Min.X; x < f.Box.Max.X; x++ {
				p := y*im.Step + 3*x
				im.Pix[p], im.Pix[p+1], im.Pix[p+2] = 0, 0, 250 // BGR: red
			}
		}
		tracks = append(tracks, fmt.Sprintf("01J00000000000000000TRK%03d", i))
	}
	l.Frame(im, at, faces, tracks)
}

func face(x0, y0, x1, y1 int, score float64, reject quality.Reason) track.Detection {
	return track.Detection{Box: image.Rect(x0, y0, x1, y1), Quality: quality.Assessment{Width: x1 - x0, Score: score, Reject: reject}}
}

var privateURLs = []string{"/api/status", "/api/config", "/api/live", "/live/1"}

// TestNew: New refuses what would make an unsafe or useless page, naming
// what is wrong.
func TestNew(t *testing.T) {
	ok := Options{PasswordFile: "testdata/password", Live: NewLive(LiveOptions{}), Status: &fakeStatus{}, Pseudonym: testPseudonym}
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string // in the error; "" for none
	}{
		{"good", func(*Options) {}, ""},
		{"CRLF and spaces around the password", func(o *Options) { o.PasswordFile = "testdata/password-crlf" }, ""},
		{"no password file", func(o *Options) { o.PasswordFile = "" }, "installer.password_file"},
		{"missing password file", func(o *Options) { o.PasswordFile = "testdata/nope" }, "testdata/nope"},
		{"empty password", func(o *Options) { o.PasswordFile = "testdata/empty-password" }, "testdata/empty-password: the first line is empty"},
		{"short password", func(o *Options) { o.PasswordFile = "testdata/short-password" }, "has 3 characters, want at least 8"},
		{"no live view", func(o *Options) { o.Live = nil }, "no live view"},
		{"no status", func(o *Options) { o.Status = nil }, "no status"},
		{"no pseudonyms", func(o *Options) { o.Pseudonym = nil }, "internal visitor ids"},
		{"negative off", func(o *Options) { o.OffAfter = -time.Minute }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			s, err := New(o)
			good := o.PasswordFile == "testdata/password" || o.PasswordFile == "testdata/password-crlf"
			if check := CheckPasswordFile(o.PasswordFile); (check == nil) != good {
				t.Errorf("CheckPasswordFile(%q): %v", o.PasswordFile, check)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "":
				if s.password != sha256.Sum256([]byte(testPassword)) {
					t.Error("the password read is not the file's first line, trimmed")
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestNothingWithoutLogin: without a session the page serves the login
// form and static files only: no frame, no face, no count, no setting.
func TestNothingWithoutLogin(t *testing.T) {
	h := newHarness(t, nil)
	feed(h.live, 320, 240, h.clock.now(), face(100, 60, 200, 160, 0.8, quality.OK))
	h.status.set(Counts{Frames: 4242}, vocab.Decision{Visitor: "visitor-1", Time: h.clock.now(), Visits: 2})
	c := h.client(t)
	resp, body := get(t, c, h.http.URL+"/")
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`type="password"`)) || !bytes.Contains(body, []byte("live video")) {
		t.Fatalf("GET / without a session: %d, not the login form saying the page shows live video:\n%s", resp.StatusCode, body)
	}
	for _, u := range privateURLs {
		resp, body := get(t, c, h.http.URL+u)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d, want 401", u, resp.StatusCode)
		}
		if bytes.Contains(body, []byte{0xff, 0xd8}) || bytes.Contains(body, []byte("4242")) || bytes.Contains(body, []byte("faces")) {
			t.Errorf("%s without a session leaks: %q", u, body)
		}
	}
	// The address a failed login leaves in the bar leads to the form.
	if resp, _ := get(t, c, h.http.URL+"/login"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("GET /login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A forged cookie is no session.
	u, _ := url.Parse(h.http.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: "forged"}})
	if resp, _ := get(t, c, h.http.URL+"/api/live"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged cookie: %d", resp.StatusCode)
	}
	// The static files are public, and carry no data.
	for _, u := range []string{"/static/app.js", "/static/style.css"} {
		if resp, _ := get(t, c, h.http.URL+u); resp.StatusCode != 200 {
			t.Errorf("%s: %d", u, resp.StatusCode)
		}
	}
	for _, u := range []string{"/static/", "/static/../index.html", "/index.html", "/web/index.html"} {
		// 404, or a redirect to the cleaned path, which is a 404.
		if resp, body := get(t, http.DefaultClient, h.http.URL+u); resp.StatusCode != http.StatusNotFound || bytes.Contains(body, []byte("app.js")) {
			t.Errorf("%s: %d, want 404: %s", u, resp.StatusCode, body)
		}
	}
	// Nobody watched: the pipeline was never asked for a frame.
	h.live.lastWanted.Store(0)
	if h.live.Wants() {
		t.Error("the live view wants frames though nobody logged in watched")
	}
}

// TestLoginSessionLogout: the password opens a session cookie (HttpOnly,
// SameSite=Strict) that opens every endpoint; logging out ends it.
func TestLoginSessionLogout(t *testing.T) {
	h := newHarness(t, nil)
	c := h.client(t)
	if resp := h.login(t, c, "wrong password!"); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong password: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	resp := h.login(t, c, testPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cs := resp.Cookies()
	if len(cs) != 1 || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/" || len(cs[0].Value) < 40 {
		t.Fatalf("session cookie %+v: want one HttpOnly SameSite=Strict cookie with a long random value", cs)
	}
	stolen := cs[0].Value
	if resp, body := get(t, c, h.http.URL+"/"); resp.StatusCode != 200 || !bytes.Contains(body, []byte("/static/app.js")) || !bytes.Contains(body, []byte("Live video")) {
		t.Fatalf("GET / logged in: %d\n%s", resp.StatusCode, body)
	}
	for _, u := range privateURLs[:3] {
		if resp, body := get(t, c, h.http.URL+u); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s logged in: %d, Cache-Control %q: %s", u, resp.StatusCode, resp.Header.Get("Cache-Control"), body)
		}
	}
	if !strings.Contains(h.log.String(), "logged in") || !strings.Contains(h.log.String(), "wrong password") {
		t.Errorf("login and failed login not logged:\n%s", h.log)
	}
	resp, err := c.Post(h.http.URL+"/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	for _, u := range privateURLs {
		if resp, _ := get(t, c, h.http.URL+u); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s after logout: %d", u, resp.StatusCode)
		}
	}
	// The old cookie, replayed, is dead too: the session ended on the
	// box, not only in the browser.
	req, _ := http.NewRequest("GET", h.http.URL+"/api/status", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: stolen})
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized {
		t.Errorf("old session cookie after logout: %d", r2.StatusCode)
	}
}

// TestSessionsBounded: a login beyond the most sessions open ends the
// oldest; expired sessions are refused.
func TestSessionsBounded(t *testing.T) {
	h := newHarness(t, nil)
	var clients []*http.Client
	for i := 0; i <= maxSessions; i++ {
		c := h.client(t)
		if resp := h.login(t, c, testPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %d: %d", i, resp.StatusCode)
		}
		clients = append(clients, c)
		h.clock.add(time.Second)
	}
	for i, c := range clients {
		resp, _ := get(t, c, h.http.URL+"/api/status")
		if want := map[bool]int{true: 401, false: 200}[i == 0]; resp.StatusCode != want {
			t.Errorf("session %d of %d: %d, want %d", i+1, len(clients), resp.StatusCode, want)
		}
	}
	h.clock.add(sessionMax)
	if resp, _ := get(t, clients[maxSessions], h.http.URL+"/api/status"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a session after %v: %d", sessionMax, resp.StatusCode)
	}
	if n := len(h.srv.sessions.m); n > maxSessions {
		t.Errorf("%d sessions held", n)
	}
}

// TestCrossSitePosts: another site cannot log a browser in or out.
func TestCrossSitePosts(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct {
		name, origin, fetchSite string
		ok                      bool
	}{
		{"another site", "http://evil.example", "", false},
		{"another site, browser says so", "http://evil.example", "cross-site", false},
		{"another port of the box", "http://" + strings.Replace(h.http.Listener.Addr().String(), ":", "x:", 1), "same-site", false},
		{"opaque origin", "null", "", false},
		{"the page itself", h.http.URL, "", true},
		{"the page itself, browser says so", h.http.URL, "same-origin", true},
		{"the page under no-referrer", "null", "same-origin", true},
		{"a tool (curl)", "", "", true},
	} {
		for _, path := range []string{"/login", "/logout"} {
			req, _ := http.NewRequest("POST", h.http.URL+path, strings.NewReader("password="+url.QueryEscape(testPassword)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.fetchSite != "" {
				req.Header.Set("Sec-Fetch-Site", tc.fetchSite)
			}
			resp, err := h.client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.StatusCode != http.StatusForbidden; got != tc.ok {
				t.Errorf("%s: POST %s: %d", tc.name, path, resp.StatusCode)
			}
			if !tc.ok && len(resp.Cookies()) != 0 {
				t.Errorf("%s: POST %s set cookies %v", tc.name, path, resp.Cookies())
			}
		}
	}
	if !strings.Contains(h.log.String(), `msg="installer page: request from another site refused" path=/login remote=127.0.0.1 origin=http://evil.example`) {
		t.Errorf("the refusals are not logged with the path, address and origin:\n%s", h.log)
	}
}

// TestRateLimit: five wrong passwords from one address make it wait (the
// right password is not even checked then), and the wait is told; other
// addresses are not held up until there were twenty failures in all;
// failures are logged, refusals without flooding the log, and the waits
// end when they said.
func TestRateLimit(t *testing.T) {
	h := newHarness(t, nil)
	post := func(ip, password string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/login", strings.NewReader("password="+url.QueryEscape(password)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = ip + ":40000"
		// Proxy headers are anyone's to set: they must not matter.
		req.Header.Set("X-Forwarded-For", "192.0.2.99")
		w := httptest.NewRecorder()
		h.srv.handler().ServeHTTP(w, req)
		return w
	}
	refused := func(what string, w *httptest.ResponseRecorder, retry string) {
		t.Helper()
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != retry || len(w.Result().Cookies()) != 0 {
			t.Errorf("%s: %d, Retry-After %q, cookies %v; want 429, Retry-After %s and no session", what, w.Code, w.Header().Get("Retry-After"), w.Result().Cookies(), retry)
		}
	}
	start := h.clock.now()
	for i := 0; i < 5; i++ {
		if w := post("10.0.0.5", fmt.Sprintf("guess-%d-guess", i)); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
		h.clock.add(time.Second)
	}
	// Five failures in 4 s: the next guess is due a minute after the
	// first, 55 s from now.
	w := post("10.0.0.5", testPassword)
	refused("sixth attempt, right password", w, "55")
	if !strings.Contains(w.Body.String(), "Too many wrong passwords: try again in 55s.") {
		t.Errorf("the refusal does not say why and for how long:\n%s", w.Body)
	}
	if w := post("10.0.0.6", testPassword); w.Code != http.StatusSeeOther {
		t.Errorf("another address: %d, want a login", w.Code)
	}
	// A flood of attempts while refused: none is checked, one log line.
	for range 100 {
		refused("flood", post("10.0.0.5", "flood-guess"), "55")
	}
	log := h.log.String()
	if n := strings.Count(log, "wrong password\""); n != 5 || !strings.Contains(log, "remote=10.0.0.5 failures=5") {
		t.Errorf("%d failures logged, want 5 with the address and the count:\n%s", n, log)
	}
	if n := strings.Count(log, "too many wrong passwords"); n != 1 || !strings.Contains(log, "retry_after=55s") {
		t.Errorf("%d refusals logged, want 1 with the wait:\n%s", n, log)
	}
	// The wait ends when it said: a second before, still refused (and
	// logged again, 10 s having passed); at the minute, one more try.
	h.clock.add(start.Add(time.Minute - time.Second).Sub(h.clock.now()))
	refused("a second before the wait ends", post("10.0.0.5", testPassword), "1")
	if n := strings.Count(h.log.String(), "too many wrong passwords"); n != 2 {
		t.Errorf("%d refusals logged after 54 s, want 2", n)
	}
	h.clock.add(time.Second + time.Millisecond)
	if w := post("10.0.0.5", testPassword); w.Code != http.StatusSeeOther {
		t.Errorf("after the wait: %d, want a login", w.Code)
	}

	// Many addresses: twenty failures in all hold everybody up, for the
	// 15 s the shared bucket takes to refill by one.
	h.clock.add(10 * time.Minute)
	for i := 0; i < 20; i++ {
		if w := post(fmt.Sprintf("10.1.0.%d", i), "not the password"); w.Code != http.StatusUnauthorized {
			t.Fatalf("distributed failure %d: %d", i, w.Code)
		}
	}
	refused("after 20 failures from 20 addresses, a new address", post("10.2.0.1", testPassword), "15")
	if n := len(h.srv.limit.perIP); n > allBurst {
		t.Errorf("the limiter holds %d addresses", n)
	}
	h.clock.add(15*time.Second + time.Millisecond)
	if w := post("10.2.0.1", testPassword); w.Code != http.StatusSeeOther {
		t.Errorf("15 s later: %d, want a login", w.Code)
	}
	// Addresses whose buckets are full again are forgotten.
	h.clock.add(10 * time.Minute)
	post("10.3.0.1", "not the password")
	if n := len(h.srv.limit.perIP); n != 1 {
		t.Errorf("the limiter holds %d addresses after 10 quiet minutes and one failure, want 1", n)
	}
}

// TestOffAfter: the page turns itself off: Serve returns, the address no
// longer answers; requests in between are refused.
func TestOffAfter(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.OffAfter = 1500 * time.Millisecond })
	h.srv.now = time.Now // Serve's timer runs on the real clock
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- h.srv.Serve(context.Background(), l) }()
	c := h.client(t)
	resp, err := c.PostForm(base+"/login", url.Values{"password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	// The session lasts no longer than the page.
	if age := resp.Cookies()[0].MaxAge; age < 1 || age > 2 {
		t.Errorf("the session cookie lasts %d s, the page 1.5 s", age)
	}
	if resp, body := get(t, c, base+"/api/status"); resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"off_at":"`)) {
		t.Errorf("status before off: %d %s", resp.StatusCode, body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the page did not turn itself off")
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("off after %v, want 1.5 s", took)
	}
	if _, err := c.Get(base + "/"); err == nil {
		t.Error("the page still answers after turning off")
	}
	if !strings.Contains(h.log.String(), "turned itself off") {
		t.Errorf("not logged:\n%s", h.log)
	}
	// A request that slips in at the last moment is refused.
	h.srv.off = true
	w := httptest.NewRecorder()
	h.srv.handler().ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("request after off: %d", w.Code)
	}
}

// TestRunStops: Run listens on the configured address, says where, and
// returns nil when its context ends; a bad address is an error naming it.
func TestRunStops(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Run(ctx) }()
	if !h.log.WaitFor(10*time.Second, func(log string) bool { return strings.Contains(log, "installer page on") }) {
		t.Fatalf("Run did not say it was on:\n%s", h.log)
	}
	line := h.log.Line("installer page on")
	_, addr, ok := strings.Cut(line, "addr=")
	addr, _, _ = strings.Cut(addr, " ")
	if !ok || !strings.HasPrefix(addr, "http://127.0.0.1:") {
		t.Fatalf("the address is not logged: %s", line)
	}
	if resp, body := get(t, h.client(t), addr+"/"); resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`name="password"`)) {
		t.Errorf("GET %s/: %d %s", addr, resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	for _, addr := range []string{"8080", "256.0.0.1:80"} {
		h2 := newHarness(t, func(o *Options) { o.Listen = addr })
		if err := h2.srv.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "installer page") {
			t.Errorf("listen %q: %v", addr, err)
		}
	}
}

// TestStatus: counts and the last decisions, by pseudonym only, never the
// internal visitor id, even when the pseudonym function returns it.
func TestStatus(t *testing.T) {
	var leaky bool
	h := newHarness(t, func(o *Options) {
		o.Decisions = 3
		o.Pseudonym = func(d vocab.Decision) string {
			if leaky {
				return d.Visitor
			}
			return testPseudonym(d)
		}
	})
	c := h.client(t)
	h.login(t, c, testPassword)
	at := h.clock.now()
	// The status gives the decisions oldest first: the page shows the
	// newest first.
	h.status.set(Counts{Frames: 100, Dropped: 2, VisitsToday: 7, RegularsToday: 3, Outbox: 1, Visitors: 40, StoreBytes: 81920},
		vocab.Decision{Visit: "v2", Visitor: "visitor-2", Time: at.Add(-3 * time.Minute), Visits: 2, Days: 2},
		vocab.Decision{Visit: "v3", Visitor: "visitor-3", Time: at.Add(-2 * time.Minute), Visits: 1, Days: 1, New: true},
		vocab.Decision{Visit: "v4", Time: at.Add(-time.Minute), Staff: "Aiko"},
		vocab.Decision{Visit: "v5", Visitor: "visitor-5", Time: at, Visits: 6, Days: 3, Regular: true, BecameRegular: true},
	)
	var st statusJSON
	_, body := get(t, c, h.http.URL+"/api/status")
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Counts.Frames != 100 || st.Counts.VisitsToday != 7 || st.Counts.RegularsToday != 3 || st.Counts.Outbox != 1 || st.Counts.StoreBytes != 81920 || st.OffAt != nil {
		t.Errorf("counts %+v, off at %v", st.Counts, st.OffAt)
	}
	want := []decisionJSON{
		{Time: at, Who: "p5555", Kind: "new regular", Visits: 6, Days: 3},
		{Time: at.Add(-time.Minute), Kind: "staff"},
		{Time: at.Add(-2 * time.Minute), Who: "p3333", Kind: "new", Visits: 1, Days: 1},
	}
	if len(st.Decisions) != len(want) {
		t.Fatalf("%d decisions, want the last %d: %+v", len(st.Decisions), len(want), st.Decisions)
	}
	for i, d := range st.Decisions {
		if !d.Time.Equal(want[i].Time) || d.Who != want[i].Who || d.Kind != want[i].Kind || d.Visits != want[i].Visits || d.Days != want[i].Days {
			t.Errorf("decision %d: %+v, want %+v", i, d, want[i])
		}
	}
	if bytes.Contains(body, []byte("visitor-")) || bytes.Contains(body, []byte("Aiko")) {
		t.Errorf("internal ids or staff names in the status: %s", body)
	}
	// The frame rate comes from the frame count between two requests.
	h.clock.add(2 * time.Second)
	h.status.set(Counts{Frames: 130})
	_, body = get(t, c, h.http.URL+"/api/status")
	json.Unmarshal(body, &st)
	if st.Counts.FPS != 15 {
		t.Errorf("%.1f frames/s over 30 frames in 2 s", st.Counts.FPS)
	}
	// Long pseudonyms are cut; a pseudonym function that returns the
	// internal id shows "?", and it is logged.
	h.status.set(Counts{}, vocab.Decision{Visitor: "visitor-123456789"})
	_, body = get(t, c, h.http.URL+"/api/status")
	json.Unmarshal(body, &st)
	if st.Decisions[0].Who != "p1234567" {
		t.Errorf("long pseudonym shown as %q", st.Decisions[0].Who)
	}
	leaky = true
	_, body = get(t, c, h.http.URL+"/api/status")
	json.Unmarshal(body, &st)
	if st.Decisions[0].Who != "?" || bytes.Contains(body, []byte("visitor-")) || !strings.Contains(h.log.String(), "internal visitor id") {
		t.Errorf("leaky pseudonym function: shown as %q: %s", st.Decisions[0].Who, body)
	}
}

// TestConfigRedacted: the configuration summary hides secrets, whoever
// made it.
func TestConfigRedacted(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Settings = []Setting{
			{"camera.source", "rtsp://admin:hunter2@192.168.1.20:554/stream1"},
			{"events.broker", "mqtts://broker.example:8883"},
			{"events.password", "hunter2"},
			{"events.password_file", "/boot/joren/mqtt.password"},
			{"events.command_key", "hunter2"},
			{"store.key_file", "/boot/joren/store.key"},
			{"camera.width", "640"},
		}
	})
	c := h.client(t)
	h.login(t, c, testPassword)
	_, body := get(t, c, h.http.URL+"/api/config")
	var got struct{ Settings []Setting }
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("hunter2")) {
		t.Errorf("a secret is shown: %s", body)
	}
	want := map[string]string{
		"camera.source":        "rtsp://admin:[redacted]@192.168.1.20:554/stream1",
		"events.broker":        "mqtts://broker.example:8883",
		"events.password":      Redacted,
		"events.password_file": "/boot/joren/mqtt.password",
		"events.command_key":   Redacted,
		"store.key_file":       "/boot/joren/store.key",
		"camera.width":         "640",
	}
	for _, s := range got.Settings {
		if want[s.Key] != s.Value {
			t.Errorf("%s = %q, want %q", s.Key, s.Value, want[s.Key])
		}
	}
	if len(got.Settings) != len(want) {
		t.Errorf("%d settings, want %d", len(got.Settings), len(want))
	}
}

// TestLiveEndpoints: the newest frame's faces in frame pixels, and its
// JPEG: the frame itself, colours right, served to a logged-in browser
// only and never cached.
func TestLiveEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	c := h.client(t)
	h.login(t, c, testPassword)
	var lv liveJSON
	_, body := get(t, c, h.http.URL+"/api/live")
	if err := json.Unmarshal(body, &lv); err != nil || !lv.Waiting {
		t.Fatalf("before any frame: %s", body)
	}
	// The page asked: the pipeline is asked for a frame now.
	if !h.live.Wants() {
		t.Fatal("the live view does not want a frame while watched")
	}
	feed(h.live, 640, 480, h.clock.now(),
		face(200, 120, 320, 240, 0.734, quality.OK),
		face(500, 300, 560, 360, 0, quality.Small))
	h.clock.add(300 * time.Millisecond)
	_, body = get(t, c, h.http.URL+"/api/live")
	lv = liveJSON{}
	if err := json.Unmarshal(body, &lv); err != nil {
		t.Fatal(err)
	}
	if lv.Waiting || lv.Width != 640 || lv.Height != 480 || lv.AgeMS != 300 || len(lv.Faces) != 2 {
		t.Fatalf("live: %s", body)
	}
	want := []faceJSON{
		{[4]int{200, 120, 320, 240}, 0.73, true, "", "K000"},
		{[4]int{500, 300, 560, 360}, 0, false, "small", "K001"},
	}
	for i, f := range lv.Faces {
		if f != want[i] {
			t.Errorf("face %d: %+v, want %+v", i, f, want[i])
		}
	}
	resp, data := get(t, c, h.http.URL+lv.Image)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s: %d %q %q", lv.Image, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	im := decodeJPEG(t, data)
	if im.Bounds().Dx() != 640 || im.Bounds().Dy() != 480 {
		t.Fatalf("JPEG %v", im.Bounds())
	}
	if r, g, b := rgbAt(im, 260, 180); r < 200 || g > 60 || b > 60 {
		t.Errorf("the face's pixel is (%d,%d,%d), want red: blue and red swapped?", r, g, b)
	}
	if r, g, b := rgbAt(im, 20, 20); r > 60 || g > 60 || b > 60 {
		t.Errorf("the background is (%d,%d,%d), want dark gray", r, g, b)
	}
	// Another client without a session gets nothing of it.
	if resp, data := get(t, h.client(t), h.http.URL+lv.Image); resp.StatusCode != http.StatusUnauthorized || bytes.Contains(data, []byte{0xff, 0xd8}) {
		t.Errorf("JPEG without a session: %d", resp.StatusCode)
	}
	// A frame announced is served for a while even when newer ones come,
	// so that a page shows the faces it was told about; then it goes.
	feed(h.live, 640, 480, h.clock.now())
	if resp, _ := get(t, c, h.http.URL+lv.Image); resp.StatusCode != 200 {
		t.Errorf("announced frame after a newer one came: %d", resp.StatusCode)
	}
	h.clock.add(jpegKeep)
	if resp, _ := get(t, c, h.http.URL+lv.Image); resp.StatusCode != http.StatusNotFound {
		t.Errorf("frame %v after it was announced: %d, want 404", jpegKeep, resp.StatusCode)
	}
	if resp, _ := get(t, c, h.http.URL+"/live/x"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/live/x: %d", resp.StatusCode)
	}
}

// TestHeaders: every response forbids framing, sniffing, caching, and
// anything but the page's own scripts.
func TestHeaders(t *testing.T) {
	h := newHarness(t, nil)
	for _, u := range []string{"/", "/static/app.js", "/api/live"} {
		resp, _ := get(t, h.client(t), h.http.URL+u)
		for k, v := range map[string]string{
			"Content-Security-Policy": csp, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
			"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", u, k, got, v)
			}
		}
	}
	// The page pulls nothing from elsewhere: no CDN, no web font.
	for _, name := range []string{"web/index.html", "web/login.html", "web/static/app.js", "web/static/style.css"} {
		b, err := web.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url("} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s refers to %q: the page must work offline", name, bad)
			}
		}
	}
}

// TestNoFileWritten: serving the page writes nothing to disk, frames
// included.
func TestNoFileWritten(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Options) { o.PasswordFile = pw })
	c := h.client(t)
	h.login(t, c, testPassword)
	get(t, c, h.http.URL+"/api/live")
	feed(h.live, 640, 480, h.clock.now(), face(10, 10, 110, 110, 0.9, quality.OK))
	var lv liveJSON
	_, body := get(t, c, h.http.URL+"/api/live")
	json.Unmarshal(body, &lv)
	if resp, _ := get(t, c, h.http.URL+lv.Image); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	for _, d := range []string{dir, tmp} {
		if es, _ := os.ReadDir(d); len(es) != 0 {
			t.Errorf("files written in %s: %v", d, es)
		}
	}
}

// TestIndicatorButton: the page's "Test the light" plays the pattern only
// for a logged-in installer on the page itself, at most once every few
// seconds, and says when the indicator failed; without the hook there is
// no button and no endpoint.
func TestIndicatorButton(t *testing.T) {
	var played int
	var fail error
	h := newHarness(t, func(o *Options) {
		o.TestIndicator = func() error {
			if fail != nil {
				return fail
			}
			played++
			return nil
		}
	})
	post := func(c *http.Client, origin string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", h.http.URL+"/api/test-indicator", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	anon := h.client(t)
	if code := post(anon, ""); code != http.StatusUnauthorized || played != 0 {
		t.Errorf("without a session: %d, played %d times", code, played)
	}
	c := h.client(t)
	h.login(t, c, testPassword)
	if _, page := get(t, c, h.http.URL+"/"); !strings.Contains(string(page), `id="test-indicator"`) {
		t.Error("the page has no test button")
	}
	if code := post(c, "http://evil.example"); code != http.StatusForbidden || played != 0 {
		t.Errorf("from another site: %d, played %d times", code, played)
	}
	if code := post(c, h.http.URL); code != http.StatusOK || played != 1 {
		t.Errorf("from the page: %d, played %d times", code, played)
	}
	if code := post(c, h.http.URL); code != http.StatusTooManyRequests || played != 1 {
		t.Errorf("again at once: %d, played %d times", code, played)
	}
	h.clock.add(testEvery)
	fail = errors.New("indicator is off (indicator.kind: none)")
	if code := post(c, h.http.URL); code != http.StatusServiceUnavailable {
		t.Errorf("failing indicator: %d", code)
	}
	if !strings.Contains(h.log.String(), "indicator is off") {
		t.Errorf("the failure is not logged:\n%s", h.log)
	}

	plain := newHarness(t, nil)
	pc := plain.client(t)
	plain.login(t, pc, testPassword)
	if _, page := get(t, pc, plain.http.URL+"/"); strings.Contains(string(page), "test-indicator") {
		t.Error("a test button without a test hook")
	}
	req, _ := http.NewRequest("POST", plain.http.URL+"/api/test-indicator", nil)
	resp, err := pc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Error("the endpoint answers without a test hook")
	}
}
