package dashboard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"joren/office/dashboard"
)

const password = "correct horse battery"

func newServer(t *testing.T, c *chain) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "joren_office_test_total", Help: "x"}))
	d, err := dashboard.New(dashboard.Config{Store: c.store, Password: password, Metrics: reg, Version: "test", Now: func() time.Time { return c.now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// browser is an HTTP client with cookies, sending what a browser on the
// page sends with a form.
func browser(t *testing.T, srv *httptest.Server) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(t *testing.T, c *http.Client, u string, form url.Values, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	r, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

func TestAccess(t *testing.T) {
	c := newChain(t, time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC))
	srv := newServer(t, c)
	b := browser(t, srv)
	// Without a session: the login page, 401 from the API, metrics and
	// health open.
	if code, body := get(t, b, srv.URL+"/"); code != 200 || !strings.Contains(body, `id="password"`) {
		t.Errorf("/ without a session: %d %.200s", code, body)
	}
	for _, p := range []string{"/api/fleet", "/api/numbers", "/api/quarantine", "/report.csv"} {
		if code, _ := get(t, b, srv.URL+p); code != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d", p, code)
		}
	}
	if code, body := get(t, b, srv.URL+"/metrics"); code != 200 || !strings.Contains(body, "joren_office_test_total") {
		t.Errorf("/metrics: %d", code)
	}
	if code, _ := get(t, b, srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	// A login from another site is refused (cross-origin protection).
	if r := post(t, b, srv.URL+"/login", url.Values{"password": {password}}, "http://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %d, want 403", r.StatusCode)
	}
	if r := post(t, b, srv.URL+"/login", url.Values{"password": {"wrong"}}, ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", r.StatusCode)
	}
	r := post(t, b, srv.URL+"/login", url.Values{"password": {password}}, "")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	ck := r.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || len(ck[0].Value) < 40 {
		t.Errorf("session cookie %+v", ck)
	}
	code, body := get(t, b, srv.URL+"/api/fleet")
	var fleet struct {
		Boxes []struct {
			Site, Device, State string
			Alerts              []struct{ Kind, Severity, Text string }
		}
		Alerts int
	}
	if err := json.Unmarshal([]byte(body), &fleet); code != 200 || err != nil {
		t.Fatalf("/api/fleet: %d %v %.300s", code, err, body)
	}
	kinds := map[string]string{}
	for _, bx := range fleet.Boxes {
		for _, a := range bx.Alerts {
			kinds[bx.Site+"/"+bx.Device] += a.Kind + " "
		}
	}
	want := map[string]string{"nara-park/door-1": "offline ", "kyoto-gion/door-1": "silent ", "lyon-presquile/door-2": "camera ", "paris-marais/door-1": "problem backlog "}
	if len(fleet.Boxes) != 8 || len(kinds) != len(want) {
		t.Errorf("%d boxes, alerts %v; want 8 boxes and alerts %v", len(fleet.Boxes), kinds, want)
	}
	for k, v := range want {
		if kinds[k] != v {
			t.Errorf("%s: alerts %q, want %q", k, kinds[k], v)
		}
	}
	if fleet.Boxes[0].Alerts[0].Severity != "error" {
		t.Errorf("the first box is not one with an error: %+v", fleet.Boxes[0])
	}
	if code, body := get(t, b, srv.URL+"/api/numbers?from=2026-11-10&to=2026-11-01"); code != 400 || !strings.Contains(body, "is after") {
		t.Errorf("a backwards range: %d %s", code, body)
	}
	if code, body := get(t, b, srv.URL+"/report.csv?from=2026-11-01&to=2026-11-02&site=nara-park"); code != 200 || !strings.HasPrefix(body, "site,device,day,visits,new_visitors,returning,regular_visits\nnara-park,door-1,2026-11-01,") || strings.Count(body, "\n") != 3 {
		t.Errorf("CSV: %d\n%s", code, body)
	}
	// Logging out from another site is refused; from the page it works.
	if r := post(t, b, srv.URL+"/logout", nil, "http://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site logout: %d", r.StatusCode)
	}
	post(t, b, srv.URL+"/logout", nil, "")
	if code, _ := get(t, b, srv.URL+"/api/fleet"); code != http.StatusUnauthorized {
		t.Errorf("after logging out: %d", code)
	}
}

// Password guessing is slowed per address: a burst of 5, then 429.
func TestLoginRateLimit(t *testing.T) {
	c := newChain(t, time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC))
	srv := newServer(t, c)
	b := browser(t, srv)
	var codes []int
	for range 7 {
		codes = append(codes, post(t, b, srv.URL+"/login", url.Values{"password": {"guess"}}, "").StatusCode)
	}
	if codes[4] != http.StatusUnauthorized || codes[5] != http.StatusTooManyRequests || codes[6] != http.StatusTooManyRequests {
		t.Errorf("codes %v: want 5 x 401 then 429", codes)
	}
	// Even the right password waits.
	if r := post(t, b, srv.URL+"/login", url.Values{"password": {password}}, ""); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password while limited: %d", r.StatusCode)
	}
}

func TestNew(t *testing.T) {
	c := newChain(t, time.Now())
	if _, err := dashboard.New(dashboard.Config{Store: c.store, Password: "short"}); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("a short password: %v", err)
	}
}
