package installer

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"joren/appliance/internal/password"
)

// cookieName is the session cookie.
const cookieName = "joren_installer"

// sessionMax bounds a session when the page never turns off.
const sessionMax = 12 * time.Hour

// maxSessions is the most sessions open at once; a new login ends the
// oldest beyond.
const maxSessions = 8

// CheckPasswordFile tells whether path holds a password the page accepts.
func CheckPasswordFile(path string) error {
	_, err := password.Read(path, "installer.password_file", MinPassword)
	return err
}

// CheckStaffPasswordFile does the same for the staff's password or PIN
// (installer.staff_password_file), which may be shorter.
func CheckStaffPasswordFile(path string) error {
	_, err := password.Read(path, "installer.staff_password_file", MinStaffPassword)
	return err
}

// Role is what a session may do.
type Role int

const (
	// NoRole: not logged in.
	NoRole Role = iota
	// Staff logged in with the staff password: enrol staff and
	// customers, forget visitors, see the box's health and the last
	// visitors. Not the live view, the configuration or the settings.
	Staff
	// Installer logged in with the installer's password: everything.
	Installer
)

func (r Role) String() string {
	switch r {
	case Staff:
		return "staff"
	case Installer:
		return "installer"
	}
	return "none"
}

// session is a logged-in browser's role and when its session expires.
type session struct {
	role    Role
	expires time.Time
}

// sessions are the logged-in browsers: the SHA-256 of each session token,
// its role and when it expires. Only hashes are kept, so the map's lookups
// reveal nothing about the tokens.
type sessions struct {
	mu sync.Mutex
	m  map[[32]byte]session
}

func (ss *sessions) create(role Role, now, expires time.Time) (string, error) {
	var tok [32]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return "", err
	}
	t := base64.RawURLEncoding.EncodeToString(tok[:])
	ss.mu.Lock()
	defer ss.mu.Unlock()
	// Sessions never logged out of end when they expire: forget them
	// here, and keep the newest few (one installer, a phone and a
	// laptop, not a crowd).
	for h, se := range ss.m {
		if !now.Before(se.expires) {
			delete(ss.m, h)
		}
	}
	for len(ss.m) >= maxSessions {
		var oldest [32]byte
		first := true
		for h, se := range ss.m {
			if first || se.expires.Before(ss.m[oldest].expires) {
				oldest, first = h, false
			}
		}
		delete(ss.m, oldest)
	}
	ss.m[sha256.Sum256([]byte(t))] = session{role, expires}
	return t, nil
}

// role returns tok's role (NoRole: no such session, or it expired).
func (ss *sessions) role(tok string, now time.Time) Role {
	h := sha256.Sum256([]byte(tok))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	se, ok := ss.m[h]
	if ok && !now.Before(se.expires) {
		delete(ss.m, h)
		return NoRole
	}
	return se.role
}

func (ss *sessions) remove(tok string) {
	h := sha256.Sum256([]byte(tok))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, h)
}

func (ss *sessions) clear() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	clear(ss.m)
}

// The login limits: each client address may fail loginBurst times in a
// row, then once every loginEvery; all addresses together allBurst times,
// then once every allEvery (an attacker with many addresses). Refusals
// are logged at most once every refusalLogEvery.
const (
	loginBurst      = 5
	loginEvery      = time.Minute
	allBurst        = 20
	allEvery        = 15 * time.Second
	refusalLogEvery = 10 * time.Second
)

// limiter makes password guessing slow: each failed login spends a token
// of its client's bucket and one of the bucket all clients share
// (golang.org/x/time/rate); an attempt that finds either bucket empty
// must wait, and is refused without its password being checked. Buckets
// are refilled at their rate, so the limits hold over any period: a client
// that keeps guessing gets one guess a minute. Only failures make a
// client's bucket, and a full bucket is forgotten, so the map holds no
// more addresses than failures the shared bucket allowed.
type limiter struct {
	mu      sync.Mutex
	perIP   map[string]*client
	all     *rate.Limiter
	refusal *rate.Limiter // paces the log lines of refusals
}

// client is one address's bucket and its failures since the bucket was
// last full.
type client struct {
	bucket   *rate.Limiter
	failures int
}

func newLimiter() limiter {
	return limiter{
		perIP:   map[string]*client{},
		all:     rate.NewLimiter(rate.Every(allEvery), allBurst),
		refusal: rate.NewLimiter(rate.Every(refusalLogEvery), 1),
	}
}

// untilToken is how long until lim has a token at now; it spends none.
func untilToken(lim *rate.Limiter, now time.Time) time.Duration {
	r := lim.ReserveN(now, 1)
	defer r.CancelAt(now)
	return r.DelayFrom(now)
}

// prune forgets the clients whose bucket is full again.
func (l *limiter) prune(now time.Time) {
	for ip, c := range l.perIP {
		if c.bucket.TokensAt(now) >= float64(c.bucket.Burst()) {
			delete(l.perIP, ip)
		}
	}
}

// wait returns how long ip must wait before its next attempt (0: it may
// try now), and whether the refusal should be logged (at most every
// refusalLogEvery, so that a flood of attempts does not flood the
// journal).
func (l *limiter) wait(ip string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := untilToken(l.all, now)
	if c := l.perIP[ip]; c != nil {
		d = max(d, untilToken(c.bucket, now))
	}
	if d <= 0 {
		return 0, false
	}
	return d, l.refusal.AllowN(now, 1)
}

// fail records a failed attempt and returns ip's failures since its
// bucket was last full.
func (l *limiter) fail(ip string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	c := l.perIP[ip]
	if c == nil {
		c = &client{bucket: rate.NewLimiter(rate.Every(loginEvery), loginBurst)}
		l.perIP[ip] = c
	}
	// Spent even when the bucket is short (attempts that raced past
	// wait): every failure counts.
	c.bucket.ReserveN(now, 1)
	l.all.ReserveN(now, 1)
	c.failures++
	return c.failures
}

// succeed forgets ip's failures.
func (l *limiter) succeed(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.perIP, ip)
}

// clientIP is the address of the browser: the page is reached directly
// on the LAN, so proxy headers, which anyone can set, are ignored.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// roleOf is the role of r's session (NoRole without a valid one).
func (s *Server) roleOf(r *http.Request) Role {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return NoRole
	}
	return s.sessions.role(c.Value, s.now())
}

// passwordRole is the role whose password got hashes to: both hashes
// are compared, in constant time, whatever the guess.
func (s *Server) passwordRole(got [32]byte) Role {
	inst := subtle.ConstantTimeCompare(got[:], s.password[:])
	staff := 0
	if s.staffPassword != nil {
		staff = subtle.ConstantTimeCompare(got[:], s.staffPassword[:])
	}
	switch {
	case inst == 1:
		return Installer
	case staff == 1:
		return Staff
	}
	return NoRole
}

// login checks the password posted and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ip, now := clientIP(r), s.now()
	if d, log := s.limit.wait(ip, now); d > 0 {
		if log {
			s.log.Warn("installer page: login refused: too many wrong passwords", "remote", ip, "retry_after", d.Round(time.Second))
		}
		secs := int(d.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", fmt.Sprint(max(1, secs)))
		s.loginPage(w, http.StatusTooManyRequests, fmt.Sprintf("Too many wrong passwords: try again in %s.", d.Round(time.Second)))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		s.loginPage(w, http.StatusBadRequest, "The login form could not be read.")
		return
	}
	role := s.passwordRole(sha256.Sum256([]byte(r.PostForm.Get("password"))))
	if role == NoRole {
		n := s.limit.fail(ip, now)
		s.log.Warn("installer page: wrong password", "remote", ip, "failures", n)
		s.loginPage(w, http.StatusUnauthorized, "Wrong password.")
		return
	}
	s.limit.succeed(ip)
	exp := now.Add(sessionMax)
	if off := s.offTime(); !off.IsZero() && off.Before(exp) {
		exp = off
	}
	tok, err := s.sessions.create(role, now, exp)
	if err != nil {
		http.Error(w, "could not start a session", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: tok, Path: "/",
		// Max-Age, not Expires: a laptop's clock may be wrong.
		MaxAge:   int((exp.Sub(now) + time.Second - 1) / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		// Secure would keep the cookie off plain HTTP, and the page
		// is plain HTTP on the LAN (docs/installer.md).
	})
	s.log.Info("installer page: logged in", "remote", ip, "role", role)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.sessions.remove(c.Value)
		s.log.Info("installer page: logged out", "remote", clientIP(r))
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
