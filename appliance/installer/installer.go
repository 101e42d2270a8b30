package installer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"image"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"joren/appliance/config"
	"joren/appliance/internal/password"
	"joren/vocab"
)

// LiveView is where the live picture comes from; *Live is one.
type LiveView interface {
	// Snapshot returns the newest frame and its faces, or false while
	// there is none. A call means somebody is watching now: a source that
	// only copies frames for a watched page (as *Live does) starts or keeps
	// doing so.
	Snapshot() (Snapshot, bool)
}

// Snapshot is one frame of the live view.
type Snapshot struct {
	// Seq numbers the frames of the live view, from 1; a new frame has a
	// higher number.
	Seq int64
	// Time is when the frame was taken, Got when the live view received
	// it (the wall clock: how old the picture on the page is).
	Time, Got time.Time
	// Width and Height are the frame's size: the faces' boxes are in these
	// pixels (the JPEG may be smaller).
	Width, Height int
	// JPEG is the frame, encoded.
	JPEG []byte
	// Faces are the faces found in the frame.
	Faces []Face
}

// Face is a face of the live view.
type Face struct {
	// Box is the face in frame pixels.
	Box image.Rectangle
	// Quality is the quality gate's score, 0-1 (0 for a face too small
	// to be measured).
	Quality float64
	// Passed tells whether the face was good enough for a descriptor;
	// Reason says why not (small, blurred, turned, cut).
	Passed bool
	Reason string
	// Track is the face's track, if any.
	Track string
}

// Status is where the counts and the last decisions come from; the
// appliance implements it.
type Status interface {
	// Counts returns the counts now.
	Counts() Counts
	// Decisions returns up to n of the latest decisions, in any order
	// (the page shows the newest first). The page shows their visitors
	// through Options.Pseudonym only.
	Decisions(n int) []vocab.Decision
}

// Counts are what the page shows of the box's work.
type Counts struct {
	// Frames is the number of frames the pipeline processed, Dropped the
	// frames the camera delivered while the pipeline was busy.
	Frames, Dropped int64
	// FPS is the frame rate the pipeline keeps up with; 0: the page
	// derives it from Frames.
	FPS float64
	// VisitsToday and RegularsToday count today's customer visits and
	// the distinct regulars among them (the shop's local day).
	VisitsToday, RegularsToday int
	// Outbox is the number of events waiting for the broker.
	Outbox int
	// Visitors and StoreBytes are the identity store's size.
	Visitors   int
	StoreBytes int64
}

// Options configure the page. Live, Status, Pseudonym and PasswordFile are
// required.
type Options struct {
	// Listen is the address Run listens on (installer.listen), such as
	// ":8080".
	Listen string
	// PasswordFile holds the password (installer.password_file): its
	// first line, at least MinPassword characters.
	PasswordFile string
	// OffAfter turns the page off this long after it started
	// (installer.off_after_minutes); 0: never.
	OffAfter time.Duration
	Live     LiveView
	Status   Status
	// Pseudonym maps a decision to the short id the page shows for its
	// visitor: the page never shows Decision.Visitor, the store's internal
	// id. Only the first 8 characters of what it returns are shown; it is
	// not called for staff (no visitor).
	Pseudonym func(vocab.Decision) string
	// Settings is the configuration summary (ConfigSettings makes it);
	// secrets are redacted again here whatever the caller did.
	Settings []Setting
	// Title names the box on the page (device.id).
	Title string
	// Decisions is how many of the last decisions the page shows
	// (default 10).
	Decisions int
	// Log receives logins, failed logins and the page turning off (nil:
	// discarded).
	Log *slog.Logger
	// TestIndicator, if set, plays the staff's "regular" pattern on the
	// LED and buzzer: the page's "Test the light" button, so an installer
	// without a console can check the wiring. It must not block.
	TestIndicator func() error

	// StaffPasswordFile, if set, holds the staff's password or PIN
	// (installer.staff_password_file): its first line, at least
	// MinStaffPassword characters. It logs in with the Staff role: enrol
	// and forget, never the live view, the configuration or the settings.
	StaffPasswordFile string
	// Zone is the shop's time zone (device.timezone): every time the page
	// shows is in it (default: the system's).
	Zone *time.Location
	// Health, if set, reads the box's health for the page's health panel
	// (the appliance's Health: what /healthz says).
	Health func() vocab.Health
	// People, if set, is the identity store: the page's flows to enrol
	// staff and customers and to forget visitors. They need Capture.
	People People
	// Capture collects descriptors of the face in front of the camera
	// (fed by the pipeline's Sampler hook) for those flows.
	Capture *Capture
	// Configure, if set, applies new values of the settings the page
	// edits (EditableKeys): it checks them as `joren config check` does,
	// writes the configuration and has joren restart to apply it. A
	// *config.Error's problems are shown beside their keys.
	Configure func([]config.Override) error
}

// MinPassword is the shortest password accepted: the page shows faces.
const MinPassword = password.Min

// MinStaffPassword is the shortest staff password or PIN accepted: six
// digits, with the login limits, take months to guess.
const MinStaffPassword = password.MinStaff

// Server is the installer's page. Run it once.
type Server struct {
	opt      Options
	log      *slog.Logger
	password [32]byte // SHA-256 of the password
	// staffPassword is the SHA-256 of the staff's password (nil: none).
	staffPassword *[32]byte
	settings      []Setting
	refKey        [32]byte // keys the page's references to visitors
	people        peopleState
	pages         *template.Template
	now           func() time.Time

	sessions sessions
	limit    limiter
	frames   jpegCache
	rate     fpsMeter

	mu       sync.Mutex
	ctx      context.Context // Serve's, for the tasks the page starts
	offAt    time.Time       // zero: never, or not yet started
	off      bool
	lastTest time.Time // the last indicator test
}

// New checks the options and reads the password file.
func New(opt Options) (*Server, error) {
	switch {
	case opt.Live == nil:
		return nil, errors.New("installer page: no live view")
	case opt.Status == nil:
		return nil, errors.New("installer page: no status")
	case opt.Pseudonym == nil:
		return nil, errors.New("installer page: no pseudonym function: the page must not show internal visitor ids")
	case opt.OffAfter < 0:
		return nil, fmt.Errorf("installer page: off after %v: must not be negative", opt.OffAfter)
	}
	if opt.Decisions <= 0 {
		opt.Decisions = 10
	}
	if opt.Title == "" {
		opt.Title = "Joren"
	}
	if opt.Zone == nil {
		opt.Zone = time.Local
	}
	if opt.People != nil && opt.Capture == nil {
		return nil, errors.New("installer page: people without a capture: enrolment needs the camera's faces")
	}
	pw, err := password.Read(opt.PasswordFile, "installer.password_file", MinPassword)
	if err != nil {
		return nil, err
	}
	var staffPW *[32]byte
	if opt.StaffPasswordFile != "" {
		h, err := password.Read(opt.StaffPasswordFile, "installer.staff_password_file", MinStaffPassword)
		if err != nil {
			return nil, err
		}
		if h == pw {
			return nil, errors.New("installer page: the staff password is the installer's: give staff their own (installer.staff_password_file)")
		}
		staffPW = &h
	}
	pages, err := template.ParseFS(web, "web/*.html")
	if err != nil {
		return nil, fmt.Errorf("installer page: templates: %w", err)
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opt:      opt,
		log:      log,
		password: pw,
		settings: redactAll(opt.Settings),
		pages:    pages,
		now:      time.Now,
		limit:    newLimiter(),
		sessions: sessions{m: map[[32]byte]session{}},

		staffPassword: staffPW,
	}
	if _, err := rand.Read(s.refKey[:]); err != nil {
		return nil, fmt.Errorf("installer page: %w", err)
	}
	return s, nil
}

// Run listens on Options.Listen and serves the page until ctx is done or
// the page turns itself off (Options.OffAfter), then shuts down
// gracefully. It returns nil then, and an error if it could not listen or
// serve.
func (s *Server) Run(ctx context.Context) error {
	if _, _, err := net.SplitHostPort(s.opt.Listen); err != nil {
		return fmt.Errorf("installer page: listen address %q: want host:port, e.g. :8080", s.opt.Listen)
	}
	l, err := net.Listen("tcp", s.opt.Listen)
	if err != nil {
		return fmt.Errorf("installer page: %w", err)
	}
	return s.Serve(ctx, l)
}

// Serve is Run on a listener the caller opened; it closes l. Once it has
// returned (the page turned itself off), Serve may be called again to turn
// the page back on, for another OffAfter.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	start := s.now()
	s.mu.Lock()
	s.off, s.offAt = false, time.Time{}
	ctx, stopTasks := context.WithCancel(ctx)
	defer stopTasks()
	s.ctx = ctx
	if s.opt.OffAfter > 0 {
		s.offAt = start.Add(s.opt.OffAfter)
	}
	s.mu.Unlock()
	hs := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	var off <-chan time.Time
	if s.opt.OffAfter > 0 {
		t := time.NewTimer(s.opt.OffAfter)
		defer t.Stop()
		off = t.C
	}
	attrs := []any{"addr", "http://" + l.Addr().String()}
	if !s.offAt.IsZero() {
		attrs = append(attrs, "off_at", s.offAt.In(s.opt.Zone).Format("15:04"))
	}
	s.log.Warn("installer page on: it shows the live camera to whoever has its password", attrs...)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	prune := time.NewTicker(jpegKeep / 2)
	defer prune.Stop()
	var err error
wait:
	for {
		select {
		case <-prune.C:
			s.frames.prune(s.now(), jpegKeep)
			continue
		case <-ctx.Done():
			s.log.Info("installer page stopping")
		case <-off:
			s.log.Info("installer page turned itself off", "after", s.opt.OffAfter)
		case err = <-served:
			err = fmt.Errorf("installer page: %w", err)
		}
		break wait
	}
	s.mu.Lock()
	s.off = true // whatever is still in flight is refused
	s.mu.Unlock()
	s.sessions.clear()
	s.frames.prune(s.now(), 0)
	s.people.clear()
	if s.opt.Capture != nil {
		s.opt.Capture.Cancel()
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if hs.Shutdown(shut) != nil {
		// A response still being written after 5 s (a stalled
		// client): cut it.
		hs.Close()
	}
	return err
}

// On tells whether the page is on: serving, or about to serve for the
// first time. It is false from the moment the page turns itself off, while
// it is still shutting down, until Serve is called again.
func (s *Server) On() bool { return !s.isOff() }

// isOff tells whether the page has turned off (or is past its time).
func (s *Server) isOff() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.off || (!s.offAt.IsZero() && !s.now().Before(s.offAt))
}

// serveCtx is the context of the running Serve: tasks started by the
// page end with it.
func (s *Server) serveCtx() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		return context.Background()
	}
	return s.ctx
}

// offTime is when the page turns off; zero: never.
func (s *Server) offTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offAt
}
