//go:build cgo

// The browser test drives the page in Debian's headless Chromium, with
// faces found by dlib in the real pipeline: it needs cgo, which the rest
// of the package does without (CGO_ENABLED=0 builds and tests it).
package installer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"joren/appliance/config"
	"joren/appliance/installer"
	"joren/internal/facescene"
	"joren/internal/testenv"
	"joren/sync/event"
	"joren/vision/camera"
	"joren/vision/camera/cv"
	"joren/vision/frame"
	"joren/vision/pipeline"
	"joren/vision/track"
	"joren/vocab"
)

// The page's live view is what the pipeline's preview hook feeds.
var _ pipeline.Preview = (*installer.Live)(nil)

const chromium = "/usr/bin/chromium"

// scene is a camera that films one real face (a shared photo, shrunk so
// that the face is 150 pixels wide) in front of a plain wall, the face
// shifting by a few pixels between frames as a person standing in the
// door does, so that the motion gate lets detection run.
type scene struct {
	frames [2]frame.Image
	boxes  [2]image.Rectangle // the face dlib finds in each frame
	fps    int
}

func newScene(t *testing.T, det *cv.Faces, photo string) *scene {
	t.Helper()
	f, err := os.Open(photo)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", photo, err)
	}
	dets, err := det.Detect(facescene.BGR(src), 1)
	if err != nil || len(dets) != 1 {
		t.Fatalf("%s: %d faces (%v), want 1", photo, len(dets), err)
	}
	small := facescene.Portrait(src, dets[0], 150)
	s := &scene{fps: 10}
	for i, dx := range []int{0, 14} {
		at := image.Pt(200+dx, 90)
		s.frames[i] = facescene.BGR(facescene.On(facescene.Wall(640, 480), small, at))
		dets, err := det.Detect(s.frames[i], 1)
		if err != nil || len(dets) != 1 {
			t.Fatalf("the synthesised frame %d: %d faces (%v), want 1", i, len(dets), err)
		}
		s.boxes[i] = dets[0]
		if !s.boxes[i].In(small.Bounds().Add(at)) {
			t.Fatalf("dlib finds the face at %v, outside the photo pasted at %v", s.boxes[i], small.Bounds().Add(at))
		}
	}
	return s
}

// Run sends frames at the scene's rate as a live camera does: it never
// waits for the pipeline, and counts the frames it drops.
func (s *scene) Run(ctx context.Context, out chan<- *frame.Frame) error {
	defer close(out)
	tick := time.NewTicker(time.Second / time.Duration(s.fps))
	defer tick.Stop()
	var seq, dropped int64
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-tick.C:
			f := frame.NewFrame(s.frames[seq%2], seq, now, nil)
			f.Live, f.Dropped, f.Source = true, dropped, "scene"
			select {
			case out <- f:
			default:
				dropped++
			}
			seq++
		}
	}
}

// countingPreview is the page's live view, counting the frames the
// pipeline copies for it and noting when it last wanted one.
type countingPreview struct {
	*installer.Live
	copied atomic.Int64

	mu       sync.Mutex
	lastWant time.Time     // when Wants last said yes
	after    time.Time     // offers after this are counted (zero: none)
	offers   int           // frames offered after after
	enough   chan struct{} // closed at the 10th
}

func (c *countingPreview) Wants() bool {
	now := time.Now() // before Live.Wants reads its clock
	yes := c.Live.Wants()
	c.mu.Lock()
	defer c.mu.Unlock()
	if yes {
		c.lastWant = now
	}
	if !c.after.IsZero() && now.After(c.after) {
		if c.offers++; c.offers == 10 {
			close(c.enough)
		}
	}
	return yes
}

// offersAfter returns a channel closed once the pipeline has offered
// ten frames after t.
func (c *countingPreview) offersAfter(t time.Time) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.after, c.offers, c.enough = t, 0, make(chan struct{})
	return c.enough
}

func (c *countingPreview) wanted() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastWant
}

func (c *countingPreview) Frame(im frame.Image, at time.Time, faces []track.Detection, tracks []string) {
	c.copied.Add(1)
	c.Live.Frame(im, at, faces, tracks)
}

// status is the appliance's side: counts from the real pipeline, and the
// decisions the test makes.
type status struct {
	p         *pipeline.Pipeline
	mu        sync.Mutex
	decisions []vocab.Decision
}

func (s *status) Counts() installer.Counts {
	st := s.p.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := installer.Counts{Frames: st.Frames, Dropped: st.Dropped, Outbox: 2, Visitors: 57, StoreBytes: 3 << 20}
	for _, d := range s.decisions {
		c.VisitsToday++
		if d.Regular {
			c.RegularsToday++
		}
	}
	return c
}

func (s *status) Decisions(n int) []vocab.Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.decisions[max(0, len(s.decisions)-n):])
}

func (s *status) add(d vocab.Decision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decisions = append(s.decisions, d)
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// geometry is what the page shows of the live view, measured in the
// browser.
type geometry struct {
	Seq     int64      `json:"seq"`
	Natural [2]int     `json:"natural"`
	Img     [4]float64 `json:"img"` // left, top, width, height on screen
	Boxes   []struct {
		Data  [4]int     `json:"data"` // x0, y0, x1, y1 in frame pixels
		Rect  [4]float64 `json:"rect"` // on screen
		Label string     `json:"label"`
		Class string     `json:"cls"`
	} `json:"boxes"`
	// Spread of the picture's brightness inside the first box and in a
	// corner of the wall: the face is there, the wall is flat.
	SpreadIn  float64 `json:"spreadIn"`
	SpreadOut float64 `json:"spreadOut"`
}

const measure = `(() => {
  const img = document.getElementById('frame');
  const live = document.getElementById('live');
  const ir = img.getBoundingClientRect();
  const boxes = [...document.querySelectorAll('#boxes .box')].map((b) => {
    const r = b.getBoundingClientRect();
    return {data: b.dataset.box.split(',').map(Number), rect: [r.left, r.top, r.width, r.height], label: b.textContent, cls: b.className};
  });
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const spread = (x0, y0, x1, y1) => {
    const d = g.getImageData(x0, y0, x1 - x0, y1 - y0).data;
    let s = 0, s2 = 0, n = 0;
    for (let i = 0; i < d.length; i += 4) { const v = (d[i] + d[i+1] + d[i+2]) / 3; s += v; s2 += v * v; n++; }
    const m = s / n;
    return Math.sqrt(Math.max(0, s2 / n - m * m));
  };
  const b = boxes.length ? boxes[0].data : [0, 0, 1, 1];
  return {seq: +live.dataset.seq, natural: [img.naturalWidth, img.naturalHeight], img: [ir.left, ir.top, ir.width, ir.height],
    boxes, spreadIn: spread(b[0], b[1], b[2], b[3]), spreadOut: spread(0, 0, 60, 60)};
})()`

// TestBrowser: in Chromium, the installer logs in (after a wrong
// password), sees the live picture with the face dlib found boxed at the
// right place with its quality, the counts and the last visitors
// updating without a reload, the configuration with secrets redacted;
// logs out; and without the password gets nothing, no picture. The
// pipeline copies frames only while the page is watched.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser test needs Debian's Chromium (%v): run scripts/setup-debian", err)
	}
	models, faces := testenv.Models(t), testenv.Faces(t)
	det, err := cv.OpenFaces(models, camera.FaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	sc := newScene(t, det, filepath.Join(faces, "tzuyu.jpg"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := &countingPreview{Live: installer.NewLive(installer.LiveOptions{Watch: time.Second})}
	p := pipeline.New(det, det, pipeline.Config{Preview: live})
	visits := make(chan track.Visit)
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx, sc, visits) }()
	// The pipeline must stop before dlib's models close, however the
	// test ends.
	defer func() {
		cancel()
		<-ran
	}()
	go func() {
		for range visits {
		}
	}()

	maker, err := event.NewMaker(event.Config{Device: "door-1", Site: "shop-7", Secret: event.Secret(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	st := &status{p: p}
	var lightTests atomic.Int32
	cfg := config.Default()
	cfg.Device.ID = "door-1"
	cfg.Camera.Source = "rtsp://admin:hunter2@192.168.1.20/stream1"
	cfg.Installer.Enabled, cfg.Installer.PasswordFile = true, "/boot/joren/installer.password"
	const password = "correct horse battery"
	pwFile := filepath.Join(t.TempDir(), "installer.password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := installer.New(installer.Options{
		PasswordFile: pwFile,
		OffAfter:     10 * time.Minute,
		Live:         live,
		Status:       st,
		Pseudonym: func(d vocab.Decision) string {
			if d.Visitor == "" {
				return ""
			}
			p, _ := maker.Pseudonym(d.Visitor, d.Time)
			return p
		},
		Settings:      installer.ConfigSettings(cfg),
		Title:         "door-1",
		Log:           slog.New(slog.NewTextHandler(testLog{t}, nil)),
		TestIndicator: func() error { lightTests.Add(1); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(base)); err != nil {
		t.Fatalf("starting Chromium and opening the page: %v", err)
	}
	// Every later step has a deadline: a page that never shows what it
	// should fails the test instead of hanging it.
	step := func(what string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, d)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, 20*time.Second)
		defer cancel()
		s, err := chromedp.Run(c, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	// fetchAll asks for every private URL from the page, as its own
	// script would, and returns each answer's status and first bytes.
	fetchAll := func(urls ...string) string {
		t.Helper()
		js := fmt.Sprintf(`Promise.all(%s.map(async (u) => {
			const r = await fetch(u, {cache: 'no-store'});
			const b = new Uint8Array(await r.arrayBuffer());
			return u + ' ' + r.status + ' ' + Array.from(b.slice(0, 2)).join(',');
		})).then((a) => a.join('\n'))`, mustJSON(urls))
		return eval(js)
	}
	jpegMagic := regexp.MustCompile(` 255,216$`)

	// Not logged in: the login form, saying the page shows live video;
	// nothing private answers, and no frame was copied for anyone.
	if body := eval(`document.body.innerText`); !strings.Contains(body, "live video") || !strings.Contains(body, "Password") {
		t.Fatalf("the login page does not say it shows live video:\n%s", body)
	}
	for _, line := range strings.Split(fetchAll("/api/live", "/api/status", "/api/config", "/live/1"), "\n") {
		if !strings.Contains(line, " 401 ") || jpegMagic.MatchString(line) {
			t.Errorf("before login: %s, want 401 and no picture", line)
		}
	}
	if n := live.copied.Load(); n != 0 {
		t.Errorf("%d frames copied for the page before anyone logged in", n)
	}

	step("a wrong password", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("message")),
	)
	if msg := eval(`document.getElementById('message').innerText`); msg != "Wrong password." {
		t.Errorf("after a wrong password the page says %q", msg)
	}
	step("logging in", 20*time.Second,
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitReady(chromedp.ID("frame")),
	)
	if notice := eval(`document.getElementById('notice').innerText`); !strings.Contains(notice, "Live video") || !strings.Contains(notice, "turns itself off at") {
		t.Errorf("the page does not say it shows live video and when it turns off: %q", notice)
	}
	cookies, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies.Cookies) != 1 || !cookies.Cookies[0].HTTPOnly || cookies.Cookies[0].SameSite != network.CookieSameSiteStrict {
		t.Errorf("session cookies %+v: want one, HttpOnly and SameSite=Strict", cookies.Cookies)
	}
	if c := eval(`document.cookie`); c != "" {
		t.Errorf("the page's script can read the session cookie: %q", c)
	}

	// The live view: the face dlib found, boxed where it is in the
	// picture, with its quality.
	step("the live picture with a face box", 60*time.Second,
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#boxes .box').length === 1 && document.getElementById('frame').complete`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0)),
	)
	var g geometry
	if err := json.Unmarshal([]byte(eval(`JSON.stringify(`+measure+`)`)), &g); err != nil {
		t.Fatal(err)
	}
	t.Logf("live view: %+v", g)
	if g.Natural != [2]int{640, 480} || len(g.Boxes) != 1 {
		t.Fatalf("the picture is %v with %d boxes; want 640x480 with the one face", g.Natural, len(g.Boxes))
	}
	b := g.Boxes[0]
	got := image.Rect(b.Data[0], b.Data[1], b.Data[2], b.Data[3])
	// The pipeline searches around a tracked face in a shrunk region,
	// where HOG's boxes come in other sizes than on the whole frame: the
	// same face, if the box is centred on it and about as wide.
	if !sameFace(got, sc.boxes[0]) && !sameFace(got, sc.boxes[1]) {
		t.Errorf("the box at %v is not the face dlib finds in the frame (%v or %v)", got, sc.boxes[0], sc.boxes[1])
	}
	kx, ky := g.Img[2]/640, g.Img[3]/480
	want := [4]float64{g.Img[0] + float64(got.Min.X)*kx, g.Img[1] + float64(got.Min.Y)*ky, float64(got.Dx()) * kx, float64(got.Dy()) * ky}
	for i := range want {
		if d := b.Rect[i] - want[i]; d > 1.5 || d < -1.5 {
			t.Errorf("the box is drawn at %v on screen, the face is at %v", b.Rect, want)
			break
		}
	}
	if g.SpreadIn < 20 || g.SpreadOut > 4 {
		t.Errorf("the picture does not show a face in the box (brightness spread %.1f) on a flat wall (%.1f)", g.SpreadIn, g.SpreadOut)
	}
	if !regexp.MustCompile(`^✓ q [01]\.\d\d · \d+ px · #\w{4}$`).MatchString(b.Label) {
		t.Errorf("box label %q: want its quality, width and track", b.Label)
	}

	// The counts update without a reload.
	frames := func() int {
		n, _ := strconv.Atoi(strings.ReplaceAll(eval(`document.getElementById('c-frames').textContent`), ",", ""))
		return n
	}
	first := frames()
	// The frame rate only has to be shown: how high it is depends on how
	// busy the machine running the test is.
	step("the counts updating", 30*time.Second,
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`+document.getElementById('c-frames').textContent.replace(/,/g, '') > %d && +document.getElementById('c-fps').textContent > 0`, first+10),
			chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(0)),
	)
	if s := eval(`document.getElementById('c-store').textContent + ' ' + document.getElementById('c-visitors').textContent`); s != "3.0 MB 57" {
		t.Errorf("store size shown as %q", s)
	}

	// The last visitors update without a reload, newest first, by
	// pseudonym, never by internal id.
	now := time.Now()
	regular := vocab.Decision{Visit: "visit-1", Visitor: "internal-visitor-0001", Time: now.Add(-time.Minute), Visits: 4, Days: 3, Regular: true}
	newcomer := vocab.Decision{Visit: "visit-2", Visitor: "internal-visitor-0002", Time: now, Visits: 1, Days: 1, New: true}
	pseudo := func(d vocab.Decision) string { p, _ := maker.Pseudonym(d.Visitor, d.Time); return p }
	if got := eval(`document.getElementById('no-decisions').hidden ? 'hidden' : 'shown'`); got != "shown" {
		t.Error("no 'Nobody yet' before any visitor")
	}
	st.add(regular)
	step("the first visitor", 20*time.Second,
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#decisions tr').length === 1`, chromedp.WithPollingInterval(100*time.Millisecond)))
	st.add(newcomer)
	step("the second visitor", 20*time.Second,
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#decisions tr').length === 2`, chromedp.WithPollingInterval(100*time.Millisecond)))
	rows := eval(`[...document.querySelectorAll('#decisions tr')].map((r) => [...r.cells].slice(1).map((c) => c.textContent).join(' ')).join('\n')`)
	if wantRows := pseudo(newcomer)[:8] + " new 1 1\n" + pseudo(regular)[:8] + " regular 4 3"; rows != wantRows {
		t.Errorf("last visitors:\n%s\nwant:\n%s", rows, wantRows)
	}
	if c := eval(`document.getElementById('c-visits').textContent + ' ' + document.getElementById('c-regulars').textContent`); c != "2 1" {
		t.Errorf("visits and regulars today shown as %q", c)
	}
	html := eval(`document.documentElement.outerHTML`)
	if strings.Contains(html, "internal-visitor") || strings.Contains(html, pseudo(regular)) {
		t.Error("the page holds an internal visitor id or a whole pseudonym")
	}

	// The configuration, secrets redacted.
	step("the configuration", 20*time.Second,
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#config tr').length > 20`, chromedp.WithPollingInterval(100*time.Millisecond)))
	conf := eval(`document.getElementById('config').textContent`)
	if strings.Contains(conf, "hunter2") || !strings.Contains(conf, "rtsp://admin:[redacted]@192.168.1.20/stream1") || !strings.Contains(conf, "installer.off_after_minutes120") {
		t.Errorf("configuration shown: %s", conf)
	}
	// "Test the light" reaches the indicator, once per click, and says
	// what to look for.
	step("testing the light", 20*time.Second,
		chromedp.Click(chromedp.ID("test-indicator")),
		chromedp.Poll[chromedp.Void](`document.getElementById('test-result').textContent.startsWith('Played')`, chromedp.WithPollingInterval(100*time.Millisecond)),
	)
	if n := lightTests.Load(); n != 1 {
		t.Errorf("the light was tested %d times for one click", n)
	}

	if p := os.Getenv("JOREN_INSTALLER_SCREENSHOT"); p != "" {
		// For the docs: a screenshot of the page, on request only (it
		// shows a face from the shared test photos).
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, png, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if hold, _ := time.ParseDuration(os.Getenv("JOREN_INSTALLER_HOLD")); hold > 0 {
		fmt.Fprintf(os.Stderr, "installer page at %s (password %q) for %v\n", base, password, hold)
		time.Sleep(hold)
	}
	lastImage := "/live/" + strconv.FormatInt(g.Seq, 10)
	if n := live.copied.Load(); n == 0 {
		t.Error("no frame copied while the page was watched")
	}

	// Logging out: the login form again; nothing private answers, the
	// picture last seen included; the pipeline stops copying frames.
	step("logging out", 20*time.Second,
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("password")),
	)
	out := time.Now()
	if n := eval(`String(document.images.length)`); n != "0" {
		t.Errorf("%s pictures on the login page", n)
	}
	for _, line := range strings.Split(fetchAll("/api/live", "/api/status", "/api/config", lastImage), "\n") {
		if !strings.Contains(line, " 401 ") || jpegMagic.MatchString(line) {
			t.Errorf("after logout: %s, want 401 and no picture", line)
		}
	}
	cookies, err = chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil || len(cookies.Cookies) != 0 {
		t.Errorf("cookies after logout: %+v, %v", cookies.Cookies, err)
	}
	resp, err := http.Get(base + lastImage)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || strings.HasPrefix(string(data), "\xff\xd8") {
		t.Errorf("the picture without the password: %d", resp.StatusCode)
	}
	// The view's Watch is 1 s: from a second after the page's last
	// request (before the logout), the pipeline still offers every frame
	// and is asked to copy none.
	unwatched := out.Add(time.Second)
	select {
	case <-live.offersAfter(unwatched):
	case <-time.After(30 * time.Second):
		t.Fatal("the pipeline offered no 10 frames in the 30 s after the page stopped watching")
	}
	if last := live.wanted(); last.After(unwatched) {
		t.Errorf("a frame was copied %v after the page stopped watching", last.Sub(out))
	}

	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sameFace tells whether box a shows the face dlib boxed as b: a's centre
// within a quarter of b's width of b's, widths within 40%.
func sameFace(a, b image.Rectangle) bool {
	dx := float64(a.Min.X+a.Max.X-b.Min.X-b.Max.X) / 2
	dy := float64(a.Min.Y+a.Max.Y-b.Min.Y-b.Max.Y) / 2
	r := float64(a.Dx()) / float64(b.Dx())
	return math.Hypot(dx, dy) < float64(b.Dx())/4 && r > 1/1.4 && r < 1.4
}
