package dashboard_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"joren/office"
)

const chromium = "/usr/bin/chromium"

// TestBrowser drives the dashboard in Debian's headless Chromium: login,
// the fleet with its alerts, the numbers with a comparison and a shop
// selection checked against the store, the charts drawn by Chart.js, the
// CSV download, the quarantine, logout. With JOREN_OFFICE_SCREENSHOTS=DIR
// it saves the pictures of docs/office.md there
// (JOREN_OFFICE_SCREENSHOTS=$PWD/docs go test -run TestBrowser ./office/dashboard).
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s not found (install Debian's chromium: scripts/setup-debian): %v", chromium, err)
	}
	// A fixed afternoon, so that the pictures show a day under way.
	c := newChain(t, time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC))
	srv := newServer(t, c)
	shots := os.Getenv("JOREN_OFFICE_SCREENSHOTS")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("starting Chromium and opening the page: %v", err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, 20*time.Second)
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
	poll := func(what, js string) {
		t.Helper()
		step(what, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond)))
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		dir := shots
		if dir == "" {
			dir = t.TempDir()
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	step("a wrong password",
		chromedp.SendKeys(chromedp.ID("password"), "not the password"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("message")))
	if m := eval(`document.getElementById('message').textContent`); m != "Wrong password." {
		t.Errorf("message %q", m)
	}
	step("logging in",
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("boxes")))

	// The fleet: every box, the broken ones first with their alerts.
	poll("the fleet", `document.querySelectorAll('#boxes tr').length === 8`)
	if s := eval(`document.getElementById('fleet-summary').textContent`); s != "8 boxes: 7 online, 1 offline, 0 without a status; 5 alerts." {
		t.Errorf("fleet summary %q", s)
	}
	alerts := eval(`[...document.querySelectorAll('#boxes tr')].slice(0, 4).map(r => r.dataset.box + ': ' + r.querySelector('.alerts').textContent).join('\n')`)
	for _, want := range []string{"nara-park/door-1: offline (connection lost) since 3 h ago", "kyoto-gion/door-1: silent: nothing heard for 2 h ago",
		"lyon-presquile/door-2: camera: no frames: no frame for 5m40s", "paris-marais/door-1: clock: not synchronised to network time", "1800 events waiting on the box"} {
		if !strings.Contains(alerts, want) {
			t.Errorf("the fleet's first rows lack %q:\n%s", want, alerts)
		}
	}
	if h := eval(`document.querySelector('[data-box="tokyo-ginza/door-1"] .health').textContent`); !strings.Contains(h, "fps 14.8") || !strings.Contains(h, "camera ok") || !strings.Contains(h, "temperature 52 °C") {
		t.Errorf("health of a good box: %q", h)
	}
	if b := eval(`document.getElementById('alert-count').textContent`); b != "5" {
		t.Errorf("alert badge %q", b)
	}
	shot("office-fleet.png")

	// The numbers: the last 30 days by default, checked against the store.
	step("the numbers tab", chromedp.Click(chromedp.ID("tab-numbers")), chromedp.WaitVisible(chromedp.ID("cards")))
	poll("the cards", `document.querySelectorAll('#cards .card').length === 5`)
	visits := eval(`document.querySelector('#cards .card .value').textContent`)
	if n, _ := strconv.ParseInt(strings.ReplaceAll(visits, ",", ""), 10, 64); n != c.visits {
		t.Errorf("the Visits card says %s, the store holds %d visits in the last 30 days", visits, c.visits)
	}
	poll("the charts", `!!Chart.getChart('chart-days') && !!Chart.getChart('chart-heatmap')`)
	if n := eval(`String(Chart.getChart('chart-heatmap').data.datasets[0].data.length) + ' ' + Chart.getChart('chart-days').data.labels.length`); n != "168 30" {
		t.Errorf("heatmap cells and days: %s, want 168 30", n)
	}
	// Compare two shops with the period before.
	step("two shops and a comparison",
		chromedp.Click(`#sites input[value="osaka-umeda"]`),
		chromedp.Click(`#sites input[value="paris-marais"]`),
		chromedp.SetValue(chromedp.ID("compare"), "previous"),
		chromedp.Click(chromedp.ID("show")))
	poll("the comparison", `document.querySelectorAll('#site-rows tr').length === 2 && !document.getElementById('change-head').hidden`)
	from := eval(`document.getElementById('from').value`)
	to := eval(`document.getElementById('to').value`)
	sites, err := c.store.Sites(context.Background(), office.Range{From: from, To: to, Sites: []string{"osaka-umeda", "paris-marais"}})
	if err != nil {
		t.Fatal(err)
	}
	rows := eval(`[...document.querySelectorAll('#site-rows tr')].map(r => r.dataset.site + ' ' + r.cells[2].textContent).join(';')`)
	want := ""
	for i, s := range sites {
		if i > 0 {
			want += ";"
		}
		want += s.Site + " " + commas(s.Visits)
	}
	if rows != want {
		t.Errorf("shop rows %q, the store says %q", rows, want)
	}
	if d := eval(`document.querySelector('#cards .card .delta').textContent`); !strings.HasPrefix(d, "before: ") {
		t.Errorf("no comparison on the Visits card: %q", d)
	}
	if n := eval(`String(Chart.getChart('chart-days').data.datasets.length)`); n != "4" {
		t.Errorf("%s datasets in the daily chart, want 4 (new, returning, regular, the period before)", n)
	}
	shot("office-numbers.png")

	// The CSV the page offers, fetched as the browser would.
	csv := eval(`fetch(document.getElementById('csv').href).then(r => r.text())`)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if lines[0] != "site,device,day,visits,new_visitors,returning,regular_visits" || !strings.HasPrefix(lines[1], "osaka-umeda,door-1,") {
		t.Errorf("CSV starts %q", lines[:2])
	}

	step("the quarantine", chromedp.Click(chromedp.ID("tab-quarantine")), chromedp.WaitVisible(chromedp.ID("quarantined")))
	poll("the quarantined messages", `document.querySelectorAll('#quarantined tr').length === 2`)
	if s := eval(`document.getElementById('quarantine-summary').textContent`); !strings.HasPrefix(s, "2 distinct messages kept aside") {
		t.Errorf("quarantine summary %q", s)
	}

	step("logging out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("password")))
	if code := eval(`fetch('/api/fleet').then(r => String(r.status))`); code != "401" {
		t.Errorf("the API after logging out: %s", code)
	}
}

// commas writes n as the page does (en locale).
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
