package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	cookieName = "joren_office"
	// sessionIdle ends a session unused for this long.
	sessionIdle = 12 * time.Hour
	// maxSessions bounds memory: the oldest session ends first.
	maxSessions = 1000
	// maxClients bounds the login limiters kept.
	maxClients = 10000
)

// sessions are the logged-in browsers, in memory: a restart logs every
// browser out, and several dashboards behind one address need sticky
// sessions (docs/office.md).
type sessions struct {
	mu   sync.Mutex
	last map[string]time.Time // token -> last use
	now  func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{last: map[string]time.Time{}, now: now}
}

// start makes a session and returns its token.
func (s *sessions) start() string {
	var b [32]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.last) >= maxSessions {
		var oldest string
		for t, at := range s.last {
			if oldest == "" || at.Before(s.last[oldest]) {
				oldest = t
			}
		}
		delete(s.last, oldest)
	}
	s.last[tok] = s.now()
	return tok
}

// valid tells whether tok is a live session, and refreshes it.
func (s *sessions) valid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.last[tok]
	if !ok {
		return false
	}
	if now := s.now(); now.Sub(at) > sessionIdle {
		delete(s.last, tok)
		return false
	} else {
		s.last[tok] = now
	}
	return true
}

func (s *sessions) end(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.last, tok)
}

// limiter limits login attempts per client address: a burst of 5, then
// one every 10 seconds (a password guesser gets 8,640 tries a day per
// address, a person who mistyped waits seconds).
type limiter struct {
	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

func newLimiter() *limiter { return &limiter{clients: map[string]*rate.Limiter{}} }

func (l *limiter) allow(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.clients[addr]
	if !ok {
		if len(l.clients) >= maxClients {
			// Forget the full ones' history rather than grow: a flood of
			// addresses gets the burst each, which bounds nothing worse
			// than the global limit below.
			clear(l.clients)
		}
		lim = rate.NewLimiter(rate.Every(10*time.Second), 5)
		l.clients[addr] = lim
	}
	return lim.Allow()
}

// clientAddr is the client's address without the port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// passwordOK compares in constant time (of the hashes: the lengths do
// not leak either).
func passwordOK(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (s *Server) loggedIn(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	return err == nil && s.sessions.valid(c.Value)
}

// login checks the password posted and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	addr := clientAddr(r)
	if !s.limiter.allow(addr) || !s.global.Allow() {
		s.log.Warn("dashboard: login refused: too many attempts", "remote", addr)
		s.page(w, http.StatusTooManyRequests, "login.html", loginPage{Message: "Too many attempts: wait a minute and try again."})
		return
	}
	if !passwordOK(r.PostFormValue("password"), s.cfg.Password) {
		s.log.Warn("dashboard: wrong password", "remote", addr)
		s.page(w, http.StatusUnauthorized, "login.html", loginPage{Message: "Wrong password."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: s.sessions.start(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionIdle / time.Second),
	})
	s.log.Info("dashboard: logged in", "remote", addr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// private wraps a handler that needs a session: an API call without one
// gets 401, so that the page can send the browser to the login.
func (s *Server) private(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.loggedIn(r) {
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}
