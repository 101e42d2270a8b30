package config

import (
	"path/filepath"
	"strings"
)

// warn records what runs but someone should know: what the box shows or
// keeps beyond what it must, and settings meant for a demo.
func (c Config) warn(r *report) {
	if c.HTTP.Listen != "" && exposed(c.HTTP.Listen) {
		r.warn("http.listen", nil, "%q serves /healthz and /metrics to every machine that can reach it, without a password: keep it on 127.0.0.1 unless a firewall stands in front", c.HTTP.Listen)
	}
	if c.Installer.Enabled {
		switch {
		case c.Installer.OffAfterMinutes == 0:
			r.warn("installer.off_after_minutes", []string{"installer.enabled"}, "0: the installer page (live camera, behind its password) stays on until installer.enabled is turned off")
		case exposed(c.Installer.Listen):
			r.warn("installer.listen", []string{"installer.enabled"}, "%q: the installer page (live camera, behind its password) is open to the shop's network for %d minutes after each start: expected while the camera is aimed, then turn installer.enabled off", c.Installer.Listen, c.Installer.OffAfterMinutes)
		}
	}
	if c.Vision.DebugDir != "" {
		r.warn("vision.debug_dir", nil, "DEBUG: the picture of every face described is written to %s: never on a box in service (empty turns it off)", c.Vision.DebugDir)
	}
	switch k := c.Store.KeyFile; {
	case k == "":
		r.warn("store.key_file", nil, "empty: the identity store is not encrypted, a copy of the data partition holds its face descriptors")
	case within(k, c.Device.DataDir) || (c.Store.Dir != "" && within(k, c.Store.Dir)):
		r.warn("store.key_file", nil, "%s is beside the store it encrypts: a copy of the data partition can be read; keep the key on another partition (the image: /run/joren, from the card's CONFIG partition)", k)
	}
	if strings.HasPrefix(c.Events.Broker, "mqtt://") && (c.Events.PasswordFile != "" || strings.Contains(c.Events.Broker, "@")) {
		r.warn("events.broker", []string{"events.password_file"}, "%s is plain MQTT: the password and the events cross the network unencrypted (use mqtts://)", redactURL(c.Events.Broker))
	}
	if c.Events.CommandKeyFile != "" && !c.Events.Commands {
		r.warn("events.command_key_file", []string{"events.commands"}, "set, but events.commands is off: no command is accepted")
	}
	if c.Camera.Clock != "" {
		r.warn("camera.clock", nil, "DEMO AND TESTS: frames are timed from %s, not from the clock", c.Camera.Clock)
	}
}

// within tells whether path lies in dir.
func within(path, dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
