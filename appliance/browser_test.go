//go:build cgo

package appliance

import (
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"joren/appliance/config"
	"joren/internal/facescene"
	"joren/internal/testenv"
	"joren/vision/camera"
	"joren/vision/camera/cv"
	"joren/vision/frame"
)

const chromium = "/usr/bin/chromium"

// counter is the shop's counter as the camera sees it: a plain wall and,
// when the test says so, one person's face (a shared photo, the face about
// 150 pixels wide) moving a little as a person standing there does; or a
// camera that has stopped sending frames.
type counter struct {
	walls  frame.Image
	people map[string][2]frame.Image

	mu      sync.Mutex
	showing string // "" : nobody
	problem string // set: the camera sends nothing, and this is why

	frames, dropped atomic.Int64
}

func newCounter(t *testing.T, photos ...string) *counter {
	t.Helper()
	det, err := cv.OpenFaces(testenv.Models(t), camera.FaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	wall := facescene.Wall(640, 480)
	c := &counter{walls: facescene.BGR(wall), people: map[string][2]frame.Image{}}
	for _, name := range photos {
		f, err := os.Open(filepath.Join(testenv.Faces(t), name))
		if err != nil {
			t.Fatal(err)
		}
		src, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dets, err := det.Detect(facescene.BGR(src), 1)
		if err != nil || len(dets) != 1 {
			t.Fatalf("%s: %d faces (%v), want 1", name, len(dets), err)
		}
		small := facescene.Portrait(src, dets[0], 150)
		var two [2]frame.Image
		for i, dx := range []int{0, 6} {
			two[i] = facescene.BGR(facescene.On(wall, small, image.Pt(220+dx, 90)))
		}
		c.people[name] = two
	}
	return c
}

// show puts a person in front of the camera ("": nobody).
func (c *counter) show(photo string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.showing, c.problem = photo, ""
}

// breakDown makes the camera send nothing, for why.
func (c *counter) breakDown(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problem = why
}

// OpenSource opens the counter as the appliance's camera; OpenFaces is
// dlib's, as on the box.
func (c *counter) OpenSource(string, camera.SourceOptions) (camera.Source, error) {
	return counterSource{c}, nil
}

func (c *counter) OpenFaces(dir string, o camera.FaceOptions) (camera.Faces, error) {
	return cv.Driver{}.OpenFaces(dir, o)
}

type counterSource struct{ c *counter }

func (s counterSource) Live() bool     { return true }
func (s counterSource) String() string { return "the counter" }
func (s counterSource) Stats() camera.Stats {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return camera.Stats{Frames: s.c.frames.Load(), Dropped: s.c.dropped.Load(), Problem: s.c.problem}
}

// Run sends ten frames a second, never waiting for the pipeline.
func (s counterSource) Run(ctx context.Context, out chan<- *frame.Frame) error {
	defer close(out)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var seq int64
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-tick.C:
			s.c.mu.Lock()
			who, broken := s.c.showing, s.c.problem != ""
			s.c.mu.Unlock()
			if broken {
				continue
			}
			im := s.c.walls
			if who != "" {
				im = s.c.people[who][seq%2]
			}
			f := frame.NewFrame(im, seq, now, nil)
			f.Live, f.Dropped, f.Source = true, s.c.dropped.Load(), "counter"
			select {
			case out <- f:
				s.c.frames.Add(1)
			default:
				s.c.dropped.Add(1)
			}
			seq++
		}
	}
}

// TestPageInBrowser: the shop's people use the box's page in Chromium,
// at a desktop's and a phone's size, on a running appliance whose camera
// films a counter. The installer sees a broken camera and a rejected
// configuration explained, enrols a member of staff from the camera, is
// told what is wrong with a setting and changes the site's name (joren
// restarts and comes back with it). A member of staff, with the staff PIN,
// on a phone, cannot reach the installer's parts, enrols a consenting
// customer, forgets one of the last visitors and the person in front of
// the camera. JOREN_PAGE_SCREENSHOTS=DIR saves the pictures of
// docs/installer.md there (never the live view: it would show a face).
func TestPageInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser test needs Debian's Chromium (%v): run scripts/setup-debian", err)
	}
	const (
		staffFace, customerFace, passerby, asker = "tzuyu.jpg", "yujin.jpg", "seulgi.jpg", "nana.jpg"
		installerPW, staffPIN                    = "aim the camera, then go", "482915"
	)
	cam := newCounter(t, staffFace, customerFace, passerby, asker)
	shots := os.Getenv("JOREN_PAGE_SCREENSHOTS")

	// The configuration as on the image: /etc/joren/joren.yaml links to
	// the data partition's file, beside which provisioning explains the
	// card's file it rejected.
	work := t.TempDir()
	confDir, etc, boot := filepath.Join(work, "data", "config"), filepath.Join(work, "etc"), filepath.Join(work, "boot")
	for _, d := range []string{confDir, etc, boot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	yaml := fmt.Sprintf(`# The shop's box.
device:
  id: door-1
  site: shibuya-1   # the shop, as head office knows it
  timezone: Asia/Tokyo
  data_dir: %s
  models: %s
camera:
  source: /dev/video0
store:
  key_file: ""
indicator:
  kind: none
http:
  listen: ""
installer:
  enabled: true
  listen: %s
  password_file: %s
  staff_password_file: %s
`, filepath.Join(work, "data", "joren"), testenv.Models(t), addr, filepath.Join(boot, "installer.password"), filepath.Join(boot, "staff.password"))
	real := filepath.Join(confDir, "joren.yaml")
	link := filepath.Join(etc, "joren.yaml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write(real, yaml)
	write(filepath.Join(boot, "installer.password"), installerPW+"\n")
	write(filepath.Join(boot, "staff.password"), staffPIN+"\n")
	write(real+RejectedSuffix, "joren/joren.yaml on the card's CONFIG partition was not installed:\n"+
		`joren: configuration: joren/joren.yaml:9: store: unknown key "retention_dayz" (did you mean "retention_days"?)`+"\n")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}

	// run opens and runs the appliance as systemd would: again after it
	// stops cleanly.
	var app atomic.Pointer[Appliance]
	hold, _ := time.ParseDuration(os.Getenv("JOREN_PAGE_HOLD"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute+hold)
	defer cancel()
	run := func() <-chan error {
		cfg, _, err := config.Load(link, config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := Open(cfg, Options{
			Log:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
			Version: "v1.4.0-test", Notifier: &fakeNotifier{}, Camera: cam, ConfigFile: link,
		})
		if err != nil {
			t.Fatal(err)
		}
		a.cameraGrace = 2 * time.Second
		app.Store(a)
		done := make(chan error, 1)
		go func() {
			done <- a.Run(ctx)
			a.Close()
		}()
		return done
	}
	cam.breakDown("/dev/video0 does not exist")
	ran := run()
	defer func() {
		cancel()
		<-ran
	}()

	// away empties the counter until the pipeline has seen it empty for
	// 15 frames: the last person's track ends, as when a person leaves
	// before the next steps up (people do not swap places in a frame).
	away := func() {
		t.Helper()
		cam.show("")
		frames := app.Load().pipe.Stats().Frames
		for deadline := time.Now().Add(time.Minute); app.Load().pipe.Stats().Frames < frames+15; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the pipeline processed no 15 frames in a minute")
			}
		}
	}

	b := newBrowser(t, ctx, "http://"+addr)
	b.viewport(1280, 900)
	b.login(installerPW)

	// A broken camera and a rejected configuration, explained.
	b.wait("the camera's problem", `document.getElementById('h-camera').textContent.includes('/dev/video0 does not exist')`)
	b.wait("the rejected configuration", `document.getElementById('problems').textContent.includes('retention_dayz')`)
	if st := b.text("h-status"); !strings.HasPrefix(st, "Needs attention") {
		t.Errorf("health status %q with a broken camera", st)
	}
	// The camera is "starting" for its grace (2 s), then has no frames.
	b.wait("the camera without frames", `document.getElementById('h-camera').textContent.includes('no frame for')`)
	b.wait("the live view saying why", `document.getElementById('live-state').textContent.includes('/dev/video0 does not exist')`)
	for _, want := range []string{"v1.4.0-test", "Asia/Tokyo"} {
		if !strings.Contains(b.text("health"), want) {
			t.Errorf("the health panel does not show %q", want)
		}
	}
	b.shot(shots, "page-health.png", "#health")

	// Staff enrolled from the camera.
	cam.show(staffFace)
	b.wait("the camera working again", `document.getElementById('h-camera').textContent.startsWith('ok')`)
	b.do("enrolling staff", chromedp.SendKeys(chromedp.CSS("#staff-name"), "Aiko"), chromedp.Click(chromedp.CSS("#staff-enrol")))
	b.wait("the enrolment's progress", `document.getElementById('task-text').textContent.includes('of 5 faces')`)
	b.shot(shots, "page-enrol-progress.png", "#task")
	b.wait("staff enrolled", `document.getElementById('task-text').textContent.includes('Aiko is enrolled as staff')`)
	b.wait("the staff list", `document.getElementById('staff-list').textContent.includes('Aiko · 5 faces')`)
	b.shot(shots, "page-staff.png", "#staff")
	if ms, _ := app.Load().svc.Staff(); len(ms) != 1 || ms[0].Name != "Aiko" || len(ms[0].Exemplars) != 5 || !strings.HasPrefix(ms[0].Sources[0], "camera ") {
		t.Errorf("the store's staff: %+v", ms)
	}

	// A setting with a problem is refused with the reason beside it; a
	// good one is written and joren restarts with it.
	b.do("a window shorter than the days", chromedp.SetValue(chromedp.CSS(`#set-regular\.window_days`), "2"), chromedp.Click(chromedp.CSS("#settings-save")))
	b.wait("the problem shown", `document.querySelector('.problem[data-for="regular.window_days"]').textContent.includes('shorter than regular.days')`)
	b.shot(shots, "page-settings-problem.png", "#settings")
	if data, _ := os.ReadFile(real); string(data) != yaml {
		t.Errorf("a refused setting changed the file:\n%s", data)
	}
	b.do("changing the site's name", chromedp.SetValue(chromedp.CSS(`#set-regular\.window_days`), "30"),
		chromedp.SetValue(chromedp.CSS(`#set-device\.site`), "shibuya-2"), chromedp.Click(chromedp.CSS("#settings-save")))
	b.wait("restarting", `document.getElementById('gone').textContent.includes('restarting')`)
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run after the settings changed: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("joren did not stop to apply the settings")
	}
	data, _ := os.ReadFile(real)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 || !strings.Contains(string(data), "site: shibuya-2 # the shop, as head office knows it") || !strings.Contains(string(data), "# The shop's box.") {
		t.Errorf("the configuration after the change (link kept: %v):\n%s", err, data)
	}
	ran = run() // systemd starts joren again
	// The page reloads itself once the box answers again: sessions do not
	// outlive joren, so it asks for the password.
	b.do("the page back, asking for the password", chromedp.WaitVisible(chromedp.CSS("#password")))
	b.login(installerPW)
	b.wait("the new site's name in the configuration", `document.getElementById('config').textContent.includes('device.siteshibuya-2')`)
	os.Remove(real + RejectedSuffix) // the card's file was fixed
	b.do("logging out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#password")))

	// Staff, on a phone: not the installer's parts.
	b.viewport(390, 844)
	b.login(staffPIN)
	b.wait("the staff page", `document.body.dataset.role === 'staff'`)
	if got := b.eval(`[!!document.getElementById('frame'), !!document.getElementById('settings-form'), !!document.getElementById('config')].join()`); got != "false,false,false" {
		t.Errorf("the staff page has the live view, the settings or the configuration: %s", got)
	}
	codes := b.eval(`Promise.all([fetch('/api/live'), fetch('/api/config'), fetch('/api/settings', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{"device.site":"x"}'})]).then((rs) => rs.map((r) => r.status).join())`)
	if codes != "403,403,403" {
		t.Errorf("staff asking for the live view, the configuration and the settings: %s, want 403s", codes)
	}
	if data, _ := os.ReadFile(real); !strings.Contains(string(data), "shibuya-2") {
		t.Error("staff changed a setting")
	}

	// A customer who agreed, enrolled at the counter.
	away()
	cam.show(customerFace)
	b.do("enrolling a customer", chromedp.SendKeys(chromedp.CSS("#customer-name"), "Tanaka"),
		chromedp.SendKeys(chromedp.CSS("#customer-note"), "signed the form"), chromedp.Click(chromedp.CSS("#customer-enrol")))
	b.wait("customer enrolled", `document.getElementById('task-text').textContent.includes('Tanaka is enrolled')`)
	b.wait("the customer list", `document.getElementById('customer-list').textContent.includes('Tanaka')`)
	b.shot(shots, "page-phone-customers.png", "#customers")
	if cs, _ := app.Load().svc.Customers(time.Now()); len(cs) != 1 || cs[0].Name != "Tanaka" || cs[0].Note != "signed the form" {
		t.Errorf("the store's customers: %+v", cs)
	}

	// A passer-by comes and goes: a visit on the page, forgotten from
	// its line.
	visitors := app.Load().svc.Len()
	// visit has photo's person come and go, and waits for their visit on
	// the page: a new line on top, a new visitor.
	const firstLine = `(document.querySelector('#decisions tr:first-child') || {textContent: ''}).textContent`
	visit := func(photo string) {
		t.Helper()
		away()
		before := b.eval(firstLine)
		// They stay until the pipeline has had several good looks at
		// them, however busy the machine is.
		worth := app.Load().pipe.Stats().Worth
		cam.show(photo)
		for deadline := time.Now().Add(time.Minute); app.Load().pipe.Stats().Worth < worth+6; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s in front of the camera for a minute: %d good faces", photo, app.Load().pipe.Stats().Worth-worth)
			}
		}
		away()
		b.wait(photo+"'s visit", firstLine+` !== `+fmt.Sprintf("%q", before)+
			` && document.querySelector('#decisions tr:first-child .kind').textContent === 'new'`)
	}
	visit(passerby)
	if n := app.Load().svc.Len(); n <= visitors {
		t.Fatalf("%d identities after a new visitor, %d before", n, visitors)
	}
	b.do("forgetting a recent visitor", chromedp.Click(chromedp.CSS(`#decisions tr:first-child button[data-ref]`)), chromedp.WaitVisible(chromedp.CSS("#forget-confirm")))
	b.shot(shots, "page-phone-forget-recent.png", "#forget")
	b.do("confirming", chromedp.Click(chromedp.CSS("#forget-confirm")))
	b.wait("forgotten", `document.getElementById('forget-result').textContent.startsWith('Forgotten')`)
	if n := app.Load().svc.Len(); n != visitors {
		t.Errorf("%d identities after forgetting the new visitor, %d before they came", n, visitors)
	}

	// Someone who came before asks at the counter: matched live, shown by
	// pseudonym and last visit, forgotten.
	visit(asker)
	before := app.Load().svc.Len()
	away()
	cam.show(asker)
	b.do("looking at the person at the camera", chromedp.Click(chromedp.CSS("#forget-look")))
	b.wait("whom they are", `!!document.getElementById('forget-confirm')`)
	who := b.text("forget-who")
	if !strings.Contains(who, "Visitor ") || !strings.Contains(who, "1 visit on 1 day") || !strings.Contains(who, "last seen") {
		t.Errorf("the person at the camera shown as %q", who)
	}
	b.shot(shots, "page-phone-forget-camera.png", "#forget")
	b.do("confirming", chromedp.Click(chromedp.CSS("#forget-confirm")))
	b.wait("forgotten", `document.getElementById('forget-result').textContent.startsWith('Forgotten')`)
	if n := app.Load().svc.Len(); n != before-1 {
		t.Errorf("%d identities after forgetting the person at the camera, %d before", n, before)
	}
	if m, err := app.Load().svc.Match(nil); err == nil {
		t.Errorf("Match without faces: %+v", m)
	}
	html := b.eval(`document.documentElement.outerHTML`)
	if strings.Contains(html, "data:image") {
		t.Error("the staff page holds a picture")
	}
	b.shot(shots, "page-phone-health.png", "#health")

	if hold > 0 {
		// For a person to try the page in their own browser: people
		// come to the counter in turn (20 s each, 10 s apart), and once
		// a round the camera breaks for 40 s.
		fmt.Fprintf(os.Stderr, "the box's page at http://%s/ for %v: installer password %q, staff PIN %q\n"+
			"at the counter in turn: %s, %s, %s, %s (20 s each, 10 s apart), then a broken camera for 40 s\n",
			addr, hold, installerPW, staffPIN, staffFace, customerFace, passerby, asker)
		end := time.After(hold)
		for {
			for _, who := range []string{staffFace, customerFace, passerby, asker, "broken"} {
				if who == "broken" {
					cam.breakDown("/dev/video0 does not exist")
				} else {
					cam.show(who)
				}
				select {
				case <-end:
					return
				case <-time.After(map[bool]time.Duration{true: 40 * time.Second, false: 20 * time.Second}[who == "broken"]):
				}
				cam.show("")
				select {
				case <-end:
					return
				case <-time.After(10 * time.Second):
				}
			}
		}
	}
}

// browser is Debian's headless Chromium on the page.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newBrowser(t *testing.T, ctx context.Context, base string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	// The first action starts Chromium, which lives as long as that
	// action's context: bctx, not one with a deadline.
	if err := chromedp.Do(bctx, chromedp.Navigate(base)); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return &browser{t: t, ctx: bctx, base: base}
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	c, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls js until it is true (a minute at most).
func (b *browser) wait(what, js string) {
	b.t.Helper()
	b.do(what, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0)))
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	c, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return s
}

func (b *browser) text(id string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`document.getElementById(%q).textContent`, id))
}

func (b *browser) viewport(w, h int64) {
	b.t.Helper()
	b.do("resizing", chromedp.EmulateViewport(w, h))
}

func (b *browser) login(password string) {
	b.t.Helper()
	b.do("logging in", chromedp.Navigate(b.base), chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitReady(chromedp.CSS("#h-status")))
}

// shot saves a picture of the element sel in dir (no dir: none).
func (b *browser) shot(dir, name, sel string) {
	b.t.Helper()
	if dir == "" {
		return
	}
	c, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("a picture of %s: %v", sel, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
