package config

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// csiRE is vision/capture's CSI camera name (which needs cgo, so the
	// configuration checks the form here).
	csiRE = regexp.MustCompile(`^csi(:[0-9]{1,2})?$`)
)

// validate returns every semantic problem of a decoded configuration, with
// its dotted key (Load adds the file line).
func (c Config) validate() []Problem {
	var ps []Problem
	bad := func(key, format string, a ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	// related marks the last problem as involving other keys too.
	related := func(keys ...string) { ps[len(ps)-1].Related = keys }
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(key, "%q: want %s", v, strings.Join(allowed, " or "))
	}
	if c.Device.ID != "" && !nameRE.MatchString(c.Device.ID) {
		bad("device.id", "%q: use letters, digits, '-' and '_' (at most 64)", c.Device.ID)
	}
	if c.Device.Site != "" && !nameRE.MatchString(c.Device.Site) {
		bad("device.site", "%q: use letters, digits, '-' and '_' (at most 64)", c.Device.Site)
	}
	if c.Device.Timezone != "" {
		if _, err := time.LoadLocation(c.Device.Timezone); err != nil {
			bad("device.timezone", "%q is not a known time zone (e.g. Asia/Tokyo, Europe/Paris)", c.Device.Timezone)
		}
	}
	if c.Device.DataDir == "" {
		bad("device.data_dir", "must be set")
	}
	switch src := strings.ToLower(strings.TrimSpace(c.Camera.Source)); {
	case src == "":
		bad("camera.source", "must be set")
	case strings.HasPrefix(src, "csi:") && !csiRE.MatchString(src):
		bad("camera.source", "%q: want csi (the first camera on the board's connector) or csi:N (camera N, from 0)", c.Camera.Source)
	case strings.HasPrefix(src, "gst:") && strings.TrimSpace(src[4:]) == "":
		bad("camera.source", "%q: the GStreamer pipeline is missing (want gst:ELEMENT ! ...)", c.Camera.Source)
	}
	if c.Camera.Width < 0 || c.Camera.Height < 0 || c.Camera.FPS < 0 || c.Camera.FPS > 120 {
		bad("camera", "width, height and fps must be positive (fps at most 120)")
	}
	if c.Camera.MaxImagePixels < 1 || c.Camera.MaxImagePixels > MaxImagePixelsCeiling {
		bad("camera.max_image_pixels", "%d: want 1-%d", c.Camera.MaxImagePixels, MaxImagePixelsCeiling)
	}
	oneOf("vision.embedder", c.Vision.Embedder, "dlib", "onnx")
	oneOf("vision.detector", c.Vision.Detector, "hog", "cnn")
	if c.Vision.DetectWidth < 160 || c.Vision.DetectWidth > 4096 {
		bad("vision.detect_width", "%d: want 160-4096", c.Vision.DetectWidth)
	}
	if c.Vision.MinFace < 20 {
		bad("vision.min_face", "%d: faces under 20 pixels cannot be recognised", c.Vision.MinFace)
	}
	if c.Vision.MinSharpness < 0 {
		bad("vision.min_sharpness", "%v: must not be negative", c.Vision.MinSharpness)
	}
	if c.Vision.MinFrontal < 0 || c.Vision.MinFrontal > 1 {
		bad("vision.min_frontal", "%v: want 0-1", c.Vision.MinFrontal)
	}
	if c.Vision.Descriptors < 1 || c.Vision.Descriptors > 10 {
		bad("vision.descriptors", "%d: want 1-10", c.Vision.Descriptors)
	}
	oneOf("store.mode", c.Store.Mode, "counting", "consent")
	if c.Store.RetentionDays < 1 {
		bad("store.retention_days", "%d: want at least 1", c.Store.RetentionDays)
	}
	if c.Store.MaxIdentities < 10 {
		bad("store.max_identities", "%d: want at least 10", c.Store.MaxIdentities)
	}
	if c.Store.MaxBytes < 0 {
		bad("store.max_bytes", "must not be negative")
	}
	if c.Store.MaintainHour < 0 || c.Store.MaintainHour > 23 {
		bad("store.maintain_hour", "%d: want 0-23", c.Store.MaintainHour)
	}
	if c.Regular.Days < 1 {
		bad("regular.days", "%d: want at least 1", c.Regular.Days)
	}
	if c.Regular.WindowDays < c.Regular.Days {
		bad("regular.window_days", "%d: shorter than regular.days (%d): nobody could become a regular", c.Regular.WindowDays, c.Regular.Days)
		related("regular.days")
	}
	if c.Regular.MergeMinutes < 0 || c.Regular.MergeMinutes > 24*60 {
		bad("regular.merge_minutes", "%d: want 0-1440", c.Regular.MergeMinutes)
	}
	if c.Store.RetentionDays < c.Regular.WindowDays {
		bad("store.retention_days", "%d: shorter than regular.window_days (%d): regulars would be forgotten before their window ends", c.Store.RetentionDays, c.Regular.WindowDays)
		related("regular.window_days")
	}
	oneOf("indicator.kind", c.Indicator.Kind, "gpio", "log", "none")
	if c.Indicator.Kind == "gpio" && c.Indicator.LED == "" && c.Indicator.Buzzer == "" {
		bad("indicator.kind", "gpio needs indicator.led or indicator.buzzer")
		related("indicator.led", "indicator.buzzer")
	}
	if c.Events.Broker != "" {
		if !strings.HasPrefix(c.Events.Broker, "mqtt://") && !strings.HasPrefix(c.Events.Broker, "mqtts://") {
			bad("events.broker", "%q: want mqtt://host[:port] or mqtts://host[:port]", c.Events.Broker)
		}
		if c.Device.Site == "" {
			bad("device.site", "must be set when events.broker is (it names the shop in topics)")
			related("events.broker")
		}
	}
	oneOf("events.pseudonym_period", c.Events.PseudonymPeriod, "day", "week", "month", "year")
	if (c.Events.CertFile == "") != (c.Events.KeyFile == "") {
		bad("events.cert_file", "cert_file and key_file go together")
		related("events.key_file")
	}
	if c.Events.Commands && c.Events.CommandKeyFile == "" {
		bad("events.command_key_file", "must be set when events.commands is on")
		related("events.commands")
	}
	if c.Events.OutboxMax < 100 {
		bad("events.outbox_max", "%d: want at least 100", c.Events.OutboxMax)
	}
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			bad("http.listen", "%q: want host:port, e.g. 127.0.0.1:9180", c.HTTP.Listen)
		}
	}
	if c.Installer.Enabled {
		if _, _, err := net.SplitHostPort(c.Installer.Listen); err != nil {
			bad("installer.listen", "%q: want host:port, e.g. :8080", c.Installer.Listen)
		}
		if c.Installer.PasswordFile == "" {
			bad("installer.password_file", "must be set when installer.enabled is on")
			related("installer.enabled")
		}
	}
	if c.Installer.OffAfterMinutes < 0 {
		bad("installer.off_after_minutes", "must not be negative")
	}
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")
	return ps
}
