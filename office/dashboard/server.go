package dashboard

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"joren/office"
	"joren/office/ingest"
)

//go:embed web
var web embed.FS

// Config configures the dashboard. Store and Password are required.
type Config struct {
	Store office.Store
	// Password is the one password of the page (at least 8 characters).
	Password string
	// Metrics, when set, is served on /metrics.
	Metrics prometheus.Gatherer
	// Collector, when set, reports the collector of this process.
	Collector func() ingest.State
	// SilentAfter is how long a box may stay silent before it is an
	// alert (default 15 minutes: three missed stats messages).
	SilentAfter time.Duration
	// Version is shown in the page's footer.
	Version string
	// Now is the clock (default time.Now); Log receives logins and
	// failures (nil: discarded).
	Now func() time.Time
	Log *slog.Logger
}

// Server serves the dashboard.
type Server struct {
	cfg      Config
	pages    *template.Template
	sessions *sessions
	limiter  *limiter
	global   *rate.Limiter
	log      *slog.Logger
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("dashboard: no store")
	}
	if len(cfg.Password) < 8 {
		return nil, fmt.Errorf("dashboard: the password has %d characters, want at least 8", len(cfg.Password))
	}
	if cfg.SilentAfter <= 0 {
		cfg.SilentAfter = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	pages, err := template.ParseFS(web, "web/*.html")
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg: cfg, pages: pages, sessions: newSessions(cfg.Now), limiter: newLimiter(),
		// All addresses together: 20 attempts a second at most.
		global: rate.NewLimiter(20, 20),
		log:    cfg.Log,
	}, nil
}

// Handler routes the dashboard's requests. Every request that changes
// something (POST) must come from the page itself: Go's cross-origin
// protection refuses it otherwise.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(web, "web")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("POST /login", s.login)
	// After a failed login the address bar says /login.
	mux.Handle("GET /login", http.RedirectHandler("/", http.StatusSeeOther))
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /api/fleet", s.private(s.fleet))
	mux.HandleFunc("GET /api/numbers", s.private(s.numbers))
	mux.HandleFunc("GET /api/quarantine", s.private(s.quarantine))
	mux.HandleFunc("GET /report.csv", s.private(s.csv))
	mux.HandleFunc("GET /healthz", s.healthz)
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{}))
	}
	return headers(http.NewCrossOriginProtection().Handler(mux))
}

// headers adds the security headers every response carries.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

type loginPage struct{ Message string }

type indexPage struct {
	Version string
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if !s.loggedIn(r) {
		s.page(w, http.StatusOK, "login.html", loginPage{})
		return
	}
	s.page(w, http.StatusOK, "index.html", indexPage{Version: s.cfg.Version})
}

func (s *Server) page(w http.ResponseWriter, code int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := s.pages.ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("dashboard: rendering a page", "page", name, "error", err)
	}
}

// reply sends v as JSON, or the error as a 500 (the log has the detail).
func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		var bad badRequest
		if errors.As(err, &bad) {
			http.Error(w, bad.Error(), http.StatusBadRequest)
			return
		}
		s.log.Error("dashboard: request failed", "path", r.URL.Path, "error", err)
		http.Error(w, "the database could not answer; see the log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// badRequest is a request the user can fix.
type badRequest struct{ error }

// healthz says whether the process works: 200 when the collector of this
// process is connected (or there is none), 503 otherwise.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Collector != nil && !s.cfg.Collector().Connected {
		http.Error(w, "not connected to the MQTT broker", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}
