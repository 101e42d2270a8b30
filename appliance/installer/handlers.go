package installer

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"joren/vocab"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

//go:embed web
var web embed.FS

// handler routes the page's requests. Everything but the login page and
// the static files needs a session.
func (s *Server) handler() http.Handler {
	static, _ := fs.Sub(web, "web/static")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("POST /login", s.login)
	// After a failed login the address bar says /login: a reload or a
	// bookmark must land on the form, not on an error.
	mux.Handle("GET /login", http.RedirectHandler("/", http.StatusSeeOther))
	mux.HandleFunc("POST /logout", s.logout)
	// {file}: files only, no folder listing.
	mux.Handle("GET /static/{file}", http.StripPrefix("/static/", http.FileServerFS(static)))
	// Staff see the health, the last visitors and the people flows;
	// the live view, the configuration and the settings are the
	// installer's.
	mux.HandleFunc("GET /api/status", s.private(Staff, s.status))
	mux.HandleFunc("GET /api/config", s.private(Installer, s.config))
	mux.HandleFunc("GET /api/live", s.private(Installer, s.live))
	mux.HandleFunc("GET /live/{seq}", s.private(Installer, s.liveJPEG))
	if s.opt.TestIndicator != nil {
		mux.HandleFunc("POST /api/test-indicator", s.private(Installer, s.testIndicator))
	}
	if s.opt.People != nil {
		mux.HandleFunc("GET /api/people", s.private(Staff, s.listPeople))
		mux.HandleFunc("POST /api/people/{kind}/remove", s.private(Staff, s.removePerson))
		mux.HandleFunc("GET /api/capture", s.private(Staff, s.captureState))
		mux.HandleFunc("POST /api/capture", s.private(Staff, s.startCapture))
		mux.HandleFunc("POST /api/capture/cancel", s.private(Staff, s.cancelCapture))
		mux.HandleFunc("POST /api/forget", s.private(Staff, s.forget))
	}
	if s.opt.Configure != nil {
		mux.HandleFunc("POST /api/settings", s.private(Installer, s.saveSettings))
	}
	// Whether the box answers, for a page waiting for joren to restart.
	mux.HandleFunc("GET /api/ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"logged_in": s.roleOf(r) != NoRole})
	})
	return s.headers(s.sameOrigin(mux))
}

// sameOrigin refuses posts from other sites (net/http's
// CrossOriginProtection: Sec-Fetch-Site, then Origin against Host; tools
// such as curl send neither and are no cross-site threat). The session
// cookie is SameSite=Strict already; this also stops another site from
// logging a browser in or out, or testing the light.
func (s *Server) sameOrigin(next http.Handler) http.Handler {
	c := http.NewCrossOriginProtection()
	c.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("installer page: request from another site refused", "path", r.URL.Path, "remote", clientIP(r), "origin", r.Header.Get("Origin"))
		http.Error(w, "request from another site refused", http.StatusForbidden)
	}))
	return c.Handler(next)
}

// csp lets the page load only its own script, style and pictures (the
// live frames are blob: URLs made from fetched JPEGs).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// headers sets the headers every response carries, and refuses everything
// once the page has turned off.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		// Nothing the page shows may land in the browser's disk cache:
		// not the frames, not the decisions.
		h.Set("Cache-Control", "no-store")
		if s.isOff() {
			http.Error(w, "the installer page has turned off", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// private serves h to browsers logged in with role least or above only.
func (s *Server) private(least Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch role := s.roleOf(r); {
		case role == NoRole:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "log in first"})
		case role < least:
			s.log.Warn("installer page: refused to staff", "path", r.URL.Path, "remote", clientIP(r))
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "the installer's password is needed for this"})
		default:
			h(w, r)
		}
	}
}

type pageData struct {
	Title   string
	Message string
	OffAt   string // "14:32" in the shop's zone, empty: never
	Role    string
	// Installer shows the installer's parts (live view, settings,
	// configuration).
	Installer bool
	// CanTest shows the "Test the light" button, People the people
	// flows, Settings the settings form, Staff the staff login's hint.
	CanTest, People, Settings, StaffLogin bool
	Editable                              []editable
}

// editable is a setting of the page's form.
type editable struct {
	Setting
	Label string
}

func (s *Server) pageData(role Role) pageData {
	d := pageData{
		Title: s.opt.Title, Role: role.String(), Installer: role == Installer,
		CanTest: s.opt.TestIndicator != nil && role == Installer, People: s.opt.People != nil,
		Settings: s.opt.Configure != nil && role == Installer, StaffLogin: s.staffPassword != nil,
	}
	if off := s.offTime(); !off.IsZero() {
		d.OffAt = off.In(s.opt.Zone).Format("15:04")
	}
	if d.Settings {
		for _, k := range EditableKeys {
			for _, st := range s.settings {
				if st.Key == k {
					d.Editable = append(d.Editable, editable{st, settingLabels[k]})
				}
			}
		}
	}
	return d
}

// index is the page for a logged-in browser, the login form otherwise.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	role := s.roleOf(r)
	if role == NoRole {
		s.loginPage(w, http.StatusOK, "")
		return
	}
	s.render(w, http.StatusOK, "index.html", s.pageData(role))
}

func (s *Server) loginPage(w http.ResponseWriter, code int, msg string) {
	d := s.pageData(NoRole)
	d.Message = msg
	s.render(w, code, "login.html", d)
}

func (s *Server) render(w http.ResponseWriter, code int, name string, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := s.pages.ExecuteTemplate(w, name, d); err != nil {
		s.log.Warn("installer page: rendering", "page", name, "err", err)
	}
}

// statusJSON is /api/status.
type statusJSON struct {
	Now time.Time `json:"now"`
	// Zone is the shop's time zone, in which every *_local time is.
	Zone      string         `json:"zone"`
	OffAt     *time.Time     `json:"off_at"`
	OffLocal  string         `json:"off_local,omitempty"`
	Counts    *countsJSON    `json:"counts,omitempty"`
	Health    *vocab.Health  `json:"health,omitempty"`
	Decisions []decisionJSON `json:"decisions"`
}

type countsJSON struct {
	Frames        int64   `json:"frames"`
	FPS           float64 `json:"fps"`
	Dropped       int64   `json:"dropped"`
	VisitsToday   int     `json:"visits_today"`
	RegularsToday int     `json:"regulars_today"`
	Outbox        int     `json:"outbox"`
	Visitors      int     `json:"visitors"`
	StoreBytes    int64   `json:"store_bytes"`
}

// decisionJSON is a decision as the page shows it: no internal id, no
// staff name, no confidence, only what the staff light told.
type decisionJSON struct {
	Time  time.Time `json:"time"`
	Local string    `json:"local"` // the time in the shop's zone
	// Ref names the decision's visitor for /api/forget (empty for
	// staff).
	Ref    string `json:"ref,omitempty"`
	Who    string `json:"who"`
	Kind   string `json:"kind"`
	Visits int    `json:"visits"`
	Days   int    `json:"days"`
}

// kind is what the staff light made of a decision.
func kind(d vocab.Decision) string {
	switch {
	case d.Staff != "":
		return "staff"
	case d.Unknown:
		return "not enrolled"
	case d.BecameRegular:
		return "new regular"
	case d.Regular:
		return "regular"
	case d.New:
		return "new"
	}
	return "returning"
}

// displayID is the page's name for a decision's visitor: the first 8
// characters of its pseudonym. The internal id never leaves, even if the
// pseudonym function returned it by mistake.
func (s *Server) displayID(d vocab.Decision) string {
	if d.Visitor == "" {
		return "" // staff, and the unknown of consent mode: no visitor, no pseudonym
	}
	p := s.opt.Pseudonym(d)
	if d.Visitor != "" && p == d.Visitor {
		s.log.Error("installer page: the pseudonym function returned the internal visitor id; not shown", "visit", d.Visit)
		return "?"
	}
	if utf8.RuneCountInString(p) > 8 {
		p = string([]rune(p)[:8])
	}
	return p
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	out := statusJSON{Now: now, Zone: s.opt.Zone.String(), Decisions: []decisionJSON{}}
	if s.roleOf(r) == Installer {
		c := s.opt.Status.Counts()
		out.Counts = &countsJSON{
			Frames: c.Frames, FPS: c.FPS, Dropped: c.Dropped, VisitsToday: c.VisitsToday,
			RegularsToday: c.RegularsToday, Outbox: c.Outbox, Visitors: c.Visitors, StoreBytes: c.StoreBytes,
		}
		if fps := s.rate.update(now, c.Frames); out.Counts.FPS == 0 {
			out.Counts.FPS = fps
		}
	}
	if s.opt.Health != nil {
		h := s.opt.Health()
		out.Health = &h
	}
	if off := s.offTime(); !off.IsZero() {
		out.OffAt = &off
		out.OffLocal = off.In(s.opt.Zone).Format("15:04")
	}
	ds := s.opt.Status.Decisions(s.opt.Decisions)
	slices.SortStableFunc(ds, func(a, b vocab.Decision) int { return b.Time.Compare(a.Time) })
	for _, d := range ds[:min(len(ds), s.opt.Decisions)] {
		dj := decisionJSON{Time: d.Time, Local: d.Time.In(s.opt.Zone).Format(time.TimeOnly), Who: s.displayID(d), Kind: kind(d), Visits: d.Visits, Days: d.Days}
		if d.Visitor != "" && s.opt.People != nil {
			dj.Ref = s.decisionRef(d.Visit)
		}
		out.Decisions = append(out.Decisions, dj)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) config(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"title": s.opt.Title, "settings": s.settings})
}

// liveJSON is /api/live: the newest frame's faces and where its JPEG is.
type liveJSON struct {
	Seq     int64      `json:"seq"`
	Waiting bool       `json:"waiting,omitempty"`
	Image   string     `json:"image,omitempty"`
	Width   int        `json:"width,omitempty"`
	Height  int        `json:"height,omitempty"`
	AgeMS   int64      `json:"age_ms"`
	Faces   []faceJSON `json:"faces"`
}

type faceJSON struct {
	Box     [4]int  `json:"box"` // x0, y0, x1, y1 in frame pixels
	Quality float64 `json:"quality"`
	Passed  bool    `json:"passed"`
	Reason  string  `json:"reason,omitempty"`
	Track   string  `json:"track,omitempty"`
}

func (s *Server) live(w http.ResponseWriter, _ *http.Request) {
	snap, ok := s.opt.Live.Snapshot()
	if !ok {
		writeJSON(w, http.StatusOK, liveJSON{Waiting: true, Faces: []faceJSON{}})
		return
	}
	s.frames.put(snap.Seq, snap.JPEG, s.now())
	out := liveJSON{
		Seq: snap.Seq, Image: "/live/" + strconv.FormatInt(snap.Seq, 10),
		Width: snap.Width, Height: snap.Height,
		AgeMS: s.now().Sub(snap.Got).Milliseconds(), Faces: make([]faceJSON, len(snap.Faces)),
	}
	for i, f := range snap.Faces {
		track := f.Track
		// The end of a track's ULID is random: four characters tell the
		// faces on screen apart.
		if len(track) > 4 {
			track = track[len(track)-4:]
		}
		out.Faces[i] = faceJSON{
			Box:     [4]int{f.Box.Min.X, f.Box.Min.Y, f.Box.Max.X, f.Box.Max.Y},
			Quality: float64(int(f.Quality*100+0.5)) / 100,
			Passed:  f.Passed, Reason: f.Reason, Track: track,
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// liveJPEG serves a frame /api/live announced, if it is still held.
func (s *Server) liveJPEG(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		http.Error(w, "no such frame", http.StatusNotFound)
		return
	}
	data := s.frames.get(seq, s.now())
	if data == nil {
		http.Error(w, "frame gone: ask /api/live again", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// jpegCache holds the JPEGs of the last few frames /api/live announced,
// so that the picture a browser fetches next is the one whose faces it
// was told about, even if a newer frame came in between. A JPEG is kept
// for jpegKeep at most: faces do not linger in memory once nobody looks.
type jpegCache struct {
	mu    sync.Mutex
	slots [4]jpegSlot
}

type jpegSlot struct {
	seq  int64
	at   time.Time
	data []byte
}

const jpegKeep = 10 * time.Second

func (c *jpegCache) put(seq int64, data []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	oldest := 0
	for i, sl := range c.slots {
		if sl.seq == seq {
			return
		}
		if sl.seq < c.slots[oldest].seq {
			oldest = i
		}
	}
	c.slots[oldest] = jpegSlot{seq, now, data}
}

func (c *jpegCache) get(seq int64, now time.Time) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sl := range c.slots {
		if sl.seq == seq && sl.data != nil && now.Sub(sl.at) < jpegKeep {
			return sl.data
		}
	}
	return nil
}

// prune drops the JPEGs older than jpegKeep (all of them with a zero
// keep).
func (c *jpegCache) prune(now time.Time, keep time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, sl := range c.slots {
		if sl.data != nil && now.Sub(sl.at) >= keep {
			c.slots[i].data = nil
		}
	}
}

// fpsMeter derives a frame rate from the frame count seen at successive
// status requests, over at least two seconds.
type fpsMeter struct {
	mu     sync.Mutex
	at     time.Time
	frames int64
	fps    float64
}

func (m *fpsMeter) update(now time.Time, frames int64) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch dt := now.Sub(m.at); {
	case m.at.IsZero() || frames < m.frames || dt > time.Minute:
		m.at, m.frames, m.fps = now, frames, 0
	case dt >= 2*time.Second:
		m.fps = float64(frames-m.frames) / dt.Seconds()
		m.at, m.frames = now, frames
	}
	return m.fps
}

// testIndicator plays the "regular" pattern, for the installer to check
// the wiring. At most one every few seconds: it makes noise in a shop.
func (s *Server) testIndicator(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	s.mu.Lock()
	wait := s.lastTest.Add(testEvery).Sub(now)
	if wait <= 0 {
		s.lastTest = now
	}
	s.mu.Unlock()
	if wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Round(time.Second)/time.Second)+1))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "the light was just tested: try again in a few seconds"})
		return
	}
	if err := s.opt.TestIndicator(); err != nil {
		s.log.Warn("installer page: testing the indicator", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	s.log.Info("installer page: indicator tested", "remote", clientIP(r))
	writeJSON(w, http.StatusOK, map[string]string{"played": "regular"})
}

// testEvery is the least time between two indicator tests.
const testEvery = 3 * time.Second
