package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"joren/cluster/identity"
	"joren/device/indicator"
	"joren/device/pins"
	"joren/sync/publish"
)

// report collects what the checks find: errors stop joren run, warnings
// are said and it runs.
type report struct{ errs, warns []Problem }

// bad records an error of key; related keys take part in it.
func (r *report) bad(key string, related []string, format string, a ...any) {
	r.errs = append(r.errs, Problem{Key: key, Msg: fmt.Sprintf(format, a...), Related: related})
}

// warn records a warning of key.
func (r *report) warn(key string, related []string, format string, a ...any) {
	r.warns = append(r.warns, Problem{Key: key, Msg: fmt.Sprintf(format, a...), Related: related})
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// csiRE and streamSchemes are vision/capture's rules for a camera
	// source (capture needs cgo, so the configuration checks the form
	// here; cmd/joren's TestConfigCameraSourcesAgree holds them to
	// capture.Parse).
	csiRE         = regexp.MustCompile(`^(?i:csi)(:[0-9]{1,2})?$`)
	streamSchemes = []string{"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"}
)

// Bounds of values that the code using them would refuse, or that would
// overflow it.
const (
	maxFrameSide = 8192
	maxOffAfter  = 7 * 24 * 60 // installer.off_after_minutes: a week
)

// validate records every problem of the decoded configuration that needs
// nothing but the configuration itself to see.
func (c Config) validate(r *report) {
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		r.bad(key, nil, "%q: want %s", v, strings.Join(allowed, " or "))
	}
	finite := func(key string, v float64) bool {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			r.bad(key, nil, "%v: want a number", v)
			return false
		}
		return true
	}
	if c.Device.ID != "" && !nameRE.MatchString(c.Device.ID) {
		r.bad("device.id", nil, "%q: use letters, digits, '-' and '_' (at most 64)", c.Device.ID)
	}
	if c.Device.Site != "" && !nameRE.MatchString(c.Device.Site) {
		r.bad("device.site", nil, "%q: use letters, digits, '-' and '_' (at most 64)", c.Device.Site)
	}
	if c.Device.Timezone != "" {
		if _, err := time.LoadLocation(c.Device.Timezone); err != nil {
			r.bad("device.timezone", nil, "%q is not a known time zone (e.g. Asia/Tokyo, Europe/Paris)", c.Device.Timezone)
		}
	}
	if c.Device.DataDir == "" {
		r.bad("device.data_dir", nil, "must be set")
	}
	if c.Device.Models == "" {
		r.bad("device.models", nil, "must be set")
	}
	c.Camera.validate(r)
	oneOf("vision.embedder", c.Vision.Embedder, "dlib", "onnx")
	oneOf("vision.detector", c.Vision.Detector, "auto", "yunet", "hog", "mmod", "cnn")
	if c.Vision.DetectWidth < 160 || c.Vision.DetectWidth > 4096 {
		r.bad("vision.detect_width", nil, "%d: want 160-4096", c.Vision.DetectWidth)
	}
	if c.Vision.MinFace < 20 {
		r.bad("vision.min_face", nil, "%d: faces under 20 pixels cannot be recognised", c.Vision.MinFace)
	}
	if finite("vision.min_sharpness", c.Vision.MinSharpness) && c.Vision.MinSharpness < 0 {
		r.bad("vision.min_sharpness", nil, "%v: must not be negative", c.Vision.MinSharpness)
	}
	if finite("vision.min_frontal", c.Vision.MinFrontal) && (c.Vision.MinFrontal < 0 || c.Vision.MinFrontal > 1) {
		r.bad("vision.min_frontal", nil, "%v: want 0-1", c.Vision.MinFrontal)
	}
	if c.Vision.Descriptors < 1 || c.Vision.Descriptors > 10 {
		r.bad("vision.descriptors", nil, "%d: want 1-10", c.Vision.Descriptors)
	}
	c.validateStore(r)
	c.Indicator.validate(r)
	c.validateEvents(r)
	if c.HTTP.Listen != "" {
		checkListen(r, "http.listen", c.HTTP.Listen, "127.0.0.1:9180")
	}
	if c.Installer.Enabled {
		switch {
		case !checkListen(r, "installer.listen", c.Installer.Listen, ":8080"):
		case c.HTTP.Listen != "" && sameSocket(c.HTTP.Listen, c.Installer.Listen):
			r.bad("installer.listen", []string{"http.listen"}, "%q: http.listen (%q) is on the same port: give each its own", c.Installer.Listen, c.HTTP.Listen)
		}
		if c.Installer.PasswordFile == "" {
			r.bad("installer.password_file", []string{"installer.enabled"}, "must be set when installer.enabled is on")
		}
	}
	if c.Installer.OffAfterMinutes < 0 || c.Installer.OffAfterMinutes > maxOffAfter {
		r.bad("installer.off_after_minutes", nil, "%d: want 0 (never) to %d (a week)", c.Installer.OffAfterMinutes, maxOffAfter)
	}
	if c.Control.Socket != "" && !filepath.IsAbs(c.Control.Socket) {
		r.bad("control.socket", nil, "%q: want an absolute path, such as /run/joren/control.sock", c.Control.Socket)
	}
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")
}

// validate checks the camera's source as vision/capture parses it, and
// what capture.New refuses of its size and rate.
func (c Camera) validate(r *report) {
	src := strings.TrimSpace(c.Source)
	lower := strings.ToLower(src)
	switch {
	case src == "":
		r.bad("camera.source", nil, "must be set")
	case strings.HasPrefix(lower, "csi:") && !csiRE.MatchString(src):
		r.bad("camera.source", nil, "%q: want csi (the first camera on the board's connector) or csi:N (camera N, from 0)", c.Source)
	case strings.HasPrefix(lower, "gst:"):
		if strings.TrimSpace(src[4:]) == "" {
			r.bad("camera.source", nil, "%q: the GStreamer pipeline is missing (want gst:ELEMENT ! ...)", c.Source)
		}
	case strings.HasPrefix(src, "/dev/"), strings.HasPrefix(src, "v4l2://"), strings.HasPrefix(src, "file://"):
	case strings.Contains(src, "://"):
		scheme, _, _ := strings.Cut(lower, "://")
		if !slices.Contains(streamSchemes, scheme) {
			r.bad("camera.source", nil, "%q: unknown scheme %q (want rtsp, rtsps, http, https, file)", redactURL(src), scheme)
		} else if _, err := url.Parse(src); err != nil {
			r.bad("camera.source", nil, "%q: not a URL", redactURL(src))
		}
	}
	switch {
	case c.Width < 0 || c.Height < 0 || c.Width > maxFrameSide || c.Height > maxFrameSide:
		r.bad("camera.width", []string{"camera.height"}, "%dx%d: want 0 (the camera's own) or 1-%d", c.Width, c.Height, maxFrameSide)
	case (c.Width > 0) != (c.Height > 0):
		r.bad("camera.width", []string{"camera.height"}, "%dx%d: give both camera.width and camera.height, or neither", c.Width, c.Height)
	}
	if math.IsNaN(c.FPS) || math.IsInf(c.FPS, 0) || c.FPS < 0 || c.FPS > 120 {
		r.bad("camera.fps", nil, "%v: want 0 (the camera's own) to 120", c.FPS)
	}
	if c.MaxImagePixels < 1 || c.MaxImagePixels > MaxImagePixelsCeiling {
		r.bad("camera.max_image_pixels", nil, "%d: want 1-%d", c.MaxImagePixels, MaxImagePixelsCeiling)
	}
}

func (c Config) validateStore(r *report) {
	switch c.Store.Mode {
	case "counting", "consent":
	default:
		r.bad("store.mode", nil, "%q: want counting or consent", c.Store.Mode)
	}
	if c.Store.RetentionDays < 1 || c.Store.RetentionDays > 10*identity.MaxWindow {
		r.bad("store.retention_days", nil, "%d: want 1-%d", c.Store.RetentionDays, 10*identity.MaxWindow)
	}
	if c.Store.MaxIdentities < 10 {
		r.bad("store.max_identities", nil, "%d: want at least 10", c.Store.MaxIdentities)
	}
	if c.Store.MaxBytes < 0 {
		r.bad("store.max_bytes", nil, "must not be negative")
	}
	if c.Store.MaintainHour < 0 || c.Store.MaintainHour > 23 {
		r.bad("store.maintain_hour", nil, "%d: want 0-23", c.Store.MaintainHour)
	}
	if c.Regular.Days < 1 {
		r.bad("regular.days", nil, "%d: want at least 1", c.Regular.Days)
	}
	switch {
	case c.Regular.WindowDays > identity.MaxWindow:
		r.bad("regular.window_days", nil, "%d: want at most %d", c.Regular.WindowDays, identity.MaxWindow)
	case c.Regular.WindowDays < c.Regular.Days:
		r.bad("regular.window_days", []string{"regular.days"}, "%d: shorter than regular.days (%d): nobody could become a regular", c.Regular.WindowDays, c.Regular.Days)
	}
	if c.Regular.MergeMinutes < 0 || c.Regular.MergeMinutes > 24*60 {
		r.bad("regular.merge_minutes", nil, "%d: want 0-1440", c.Regular.MergeMinutes)
	}
	if c.Store.RetentionDays >= 1 && c.Store.RetentionDays < c.Regular.WindowDays {
		r.bad("store.retention_days", []string{"regular.window_days"}, "%d: shorter than regular.window_days (%d): regulars would be forgotten before their window ends", c.Store.RetentionDays, c.Regular.WindowDays)
	}
	// The identity service's own rule, for whatever the lines above
	// missed: it must never refuse what passed here.
	pol := c.Policy()
	pol.Zone = time.UTC
	if err := pol.Validate(); err != nil && len(r.errs) == 0 {
		r.bad("regular", nil, "%v", err)
	}
}

// Policy is the regular-customer policy of the configuration. Its zone
// is left empty: the identity service takes the store's.
func (c Config) Policy() identity.Policy {
	return identity.Policy{
		RegularDays: c.Regular.Days,
		Window:      c.Regular.WindowDays,
		MergeWindow: time.Duration(c.Regular.MergeMinutes) * time.Minute,
		Retention:   c.Store.RetentionDays,
	}
}

// validate checks the kind, the pins' form and the patterns, with the
// parsers the appliance uses.
func (i Indicator) validate(r *report) {
	switch i.Kind {
	case "gpio", "log", "none":
	default:
		r.bad("indicator.kind", nil, "%q: want gpio, log or none", i.Kind)
	}
	if i.Kind == "gpio" && i.LED == "" && i.Buzzer == "" {
		r.bad("indicator.kind", []string{"indicator.led", "indicator.buzzer"}, "gpio needs indicator.led or indicator.buzzer")
	}
	seen := map[string]string{} // pin name: key
	for _, p := range i.lines() {
		spec, err := pins.Parse(p.spec)
		if err != nil {
			r.bad(p.key, nil, "%v", err)
			continue
		}
		name := strings.ToUpper(spec.Name)
		if other, dup := seen[name]; dup {
			r.bad(p.key, []string{other}, "%s is also %s: each needs its own pin", spec.Name, other)
			continue
		}
		seen[name] = p.key
	}
	if _, err := i.Patterns(); err != nil {
		var ke *KeyError
		if errors.As(err, &ke) {
			r.bad(ke.Key, nil, "%v", ke.Err)
		}
	}
}

// line is an indicator pin and its key.
type line struct{ key, spec string }

// lines are the pins the appliance opens: the LED and the buzzer with the
// gpio kind, the button whatever the kind.
func (i Indicator) lines() []line {
	var out []line
	if i.Kind == "gpio" {
		for _, l := range []line{{"indicator.led", i.LED}, {"indicator.buzzer", i.Buzzer}} {
			if l.spec != "" {
				out = append(out, l)
			}
		}
	}
	if i.Button != "" {
		out = append(out, line{"indicator.button", i.Button})
	}
	return out
}

// A KeyError is a value that cannot be used, with its key.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Patterns are the indicator's patterns: the built-in ones, with those
// the configuration sets instead. The appliance plays these; a pattern
// that does not parse is a *KeyError.
func (i Indicator) Patterns() (indicator.Patterns, error) {
	ps := indicator.DefaultPatterns()
	for _, p := range []struct {
		key  string
		kind indicator.Kind
		text string
	}{{"indicator.regular", indicator.Regular, i.Regular}, {"indicator.new_regular", indicator.BecameRegular, i.NewRegular}} {
		if p.text == "" {
			continue
		}
		pat, err := indicator.ParsePattern(p.text)
		if err != nil {
			return nil, &KeyError{Key: p.key, Err: err}
		}
		ps[p.kind] = pat
	}
	return ps, nil
}

func (c Config) validateEvents(r *report) {
	before := len(r.errs)
	if c.Events.Broker != "" {
		if !strings.HasPrefix(c.Events.Broker, "mqtt://") && !strings.HasPrefix(c.Events.Broker, "mqtts://") {
			r.bad("events.broker", nil, "%q: want mqtt://host[:port] or mqtts://host[:port]", c.Events.Broker)
		}
		if c.Device.Site == "" {
			r.bad("device.site", []string{"events.broker"}, "must be set when events.broker is (it names the shop in topics)")
		}
	}
	switch c.Events.PseudonymPeriod {
	case "day", "week", "month", "year":
	default:
		r.bad("events.pseudonym_period", nil, "%q: want day, week, month or year", c.Events.PseudonymPeriod)
	}
	if c.Events.Commands && c.Events.CommandKeyFile == "" {
		r.bad("events.command_key_file", []string{"events.commands"}, "must be set when events.commands is on")
	}
	if c.Events.OutboxMax < 100 {
		r.bad("events.outbox_max", nil, "%d: want at least 100", c.Events.OutboxMax)
	}
	if len(r.errs) > before {
		return
	}
	// The event stack's own checks, which publish.Open makes.
	if err := c.EventSetup().Check(); err != nil {
		eventProblem(r, err)
	}
}

// eventProblem records an error of package publish under its key.
func eventProblem(r *report, err error) {
	var se *publish.SetupError
	if !errors.As(err, &se) {
		r.bad("events", nil, "%v", err)
		return
	}
	key := EventKey(se.Field)
	var related []string
	switch se.Field {
	case publish.FieldCommands, publish.FieldDiscovery, publish.FieldCAFile, publish.FieldCertFile:
		related = []string{"events.broker"}
	}
	r.bad(key, related, "%v", se.Err)
}

// checkListen checks the form of a listen address, as net.Listen takes
// it: host:port, the port a number.
func checkListen(r *report, key, addr, example string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		r.bad(key, nil, "%q: want host:port, e.g. %s", addr, example)
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		r.bad(key, nil, "%q: port %q, want a number 0-65535", addr, port)
		return false
	}
	if strings.ContainsAny(host, " /") {
		r.bad(key, nil, "%q: host %q is neither an address nor a name", addr, host)
		return false
	}
	return true
}

// sameSocket tells whether two listen addresses would take one port: the
// same port, on hosts that overlap (either on every interface, or the
// same host). Port 0 is a free port each time.
func sameSocket(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	return allInterfaces(ha) || allInterfaces(hb) || strings.EqualFold(ha, hb)
}

// allInterfaces tells whether host means every interface.
func allInterfaces(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// exposed tells whether a listen address is reachable from other
// machines: every interface, or an address other than loopback (a name
// is taken as exposed: it may resolve to anything).
func exposed(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// redactURL hides a password in a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
