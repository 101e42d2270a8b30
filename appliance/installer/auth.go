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
	_, err := password.Read(path)
	return err
}

// sessions are the logged-in browsers: the SHA-256 of each session token
// and when it expires. Only hashes are kept, so the map's lookups reveal
// nothing about the tokens.
type sessions struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time
}

func (ss *sessions) create(now, expires time.Time) (string, error) {
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
	for h, exp := range ss.m {
		if !now.Before(exp) {
			delete(ss.m, h)
		}
	}
	for len(ss.m) >= maxSessions {
		var oldest [32]byte
		first := true
		for h, exp := range ss.m {
			if first || exp.Before(ss.m[oldest]) {
				oldest, first = h, false
			}
		}
		delete(ss.m, oldest)
	}
	ss.m[sha256.Sum256([]byte(t))] = expires
	return t, nil
}

func (ss *sessions) valid(tok string, now time.Time) bool {
	h := sha256.Sum256([]byte(tok))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	exp, ok := ss.m[h]
	if ok && !now.Before(exp) {
		delete(ss.m, h)
		return false
	}
	return ok
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

// loggedIn tells whether r carries a valid session.
func (s *Server) loggedIn(r *http.Request) bool {
	c, err := r.Cookie(cookieName)
	return err == nil && c.Value != "" && s.sessions.valid(c.Value, s.now())
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
	got := sha256.Sum256([]byte(r.PostForm.Get("password")))
	if subtle.ConstantTimeCompare(got[:], s.password[:]) != 1 {
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
	tok, err := s.sessions.create(now, exp)
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
	s.log.Info("installer page: logged in", "remote", ip)
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
