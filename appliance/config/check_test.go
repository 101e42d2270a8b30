package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"joren/cluster/store"
	"joren/device/pintest"
	"joren/internal/testenv"
	"joren/vision/models"
	"joren/vocab"
)

// problems loads text as joren.yaml and returns every error and warning,
// one a line, as joren config check prints them.
func problems(t *testing.T, text string, o Options) (errs, warns string) {
	t.Helper()
	_, ws, err := Load(write(t, text), o)
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("Load: %v (%T), want an *Error", err, err)
		}
		var lines []string
		for _, p := range e.Problems {
			lines = append(lines, p.String())
		}
		errs = strings.Join(lines, "\n")
	}
	var lines []string
	for _, w := range ws {
		lines = append(lines, w.String())
	}
	return errs, strings.Join(lines, "\n")
}

// Issue 12's configurations that config check passed and joren run
// refused (or ran without a word): each is now an error, or a warning,
// naming the key and the line.
func TestIssueConfigurations(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "command.key")
	if err := os.WriteFile(short, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, text string
		machine    bool
		err, warn  string
	}{
		{"3-byte command key", "device:\n  site: s\nevents:\n  broker: mqtt://hq\n  commands: true\n  command_key_file: " + short + "\n", true,
			"joren.yaml:6: events.command_key_file: command key " + short + " has 3 bytes, want at least 16", ""},
		{"pattern", "indicator:\n  regular: \"led+buzz fast, blink 3\"\n", false,
			`joren.yaml:2: indicator.regular: pattern "led+buzz fast, blink 3", step 1: duration "fast"`, ""},
		{"pin polarity", "indicator:\n  button: GPIO22:sideways\n", false,
			`joren.yaml:2: indicator.button: GPIO pin "GPIO22:sideways": polarity "sideways", want low or high`, ""},
		{"second document", "log:\n  level: info\n---\nlog:\n  level: debug\n", false,
			"joren.yaml:3: a second YAML document (after ---)", ""},
		{"public metrics", "http:\n  listen: 0.0.0.0:9180\n", false,
			"", `joren.yaml:2: http.listen: "0.0.0.0:9180" serves /healthz and /metrics to every machine`},
		{"debug pictures", "vision:\n  debug_dir: /tmp/faces\n", false,
			"", "joren.yaml:2: vision.debug_dir: DEBUG: the picture of every face described is written to /tmp/faces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs, warns := problems(t, c.text, Options{Machine: c.machine})
			if c.machine {
				// Only the key's problem is wanted here: drop the others
				// this machine has (no /run/joren, no models).
				errs = grep(errs, "events.")
			}
			if c.err == "" && errs != "" || !strings.Contains(errs, c.err) {
				t.Errorf("errors:\n%s\nwant %q", errs, c.err)
			}
			if !strings.Contains(warns, c.warn) {
				t.Errorf("warnings:\n%s\nwant %q", warns, c.warn)
			}
		})
	}
}

// grep keeps the lines of s that contain sub.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Values that the code using them refuses: each is an error of its key.
func TestValueErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"camera:\n  fps: .nan\n", `joren.yaml:2: camera.fps: NaN: want 0`},
		{"camera:\n  width: 1280\n  height: 0\n", "joren.yaml:2: camera.width: 1280x0: give both camera.width and camera.height, or neither"},
		{"camera:\n  width: 100000\n", "camera.width: 100000x480: want 0 (the camera's own) or 1-8192"},
		{"camera:\n  source: ftp://cam/live\n", `joren.yaml:2: camera.source: "ftp://cam/live": unknown scheme "ftp"`},
		{"camera:\n  source: \"rtsp://user:secret@cam\"\n  width: -1\n", "camera.width: -1x480"},
		{"vision:\n  min_frontal: .inf\n", "joren.yaml:2: vision.min_frontal: +Inf: want a number"},
		{"vision:\n  min_sharpness: -.inf\n", "vision.min_sharpness: -Inf: want a number"},
		{"indicator:\n  led: GPIO17\n  buzzer: gpio17:low\n", "joren.yaml:3: indicator.buzzer: gpio17 is also indicator.led: each needs its own pin"},
		{"indicator:\n  kind: none\n  button: \":low\"\n", `joren.yaml:3: indicator.button: GPIO pin ":low": no name`},
		{"indicator:\n  new_regular: led 20s\n", `joren.yaml:2: indicator.new_regular: pattern "led 20s" lasts 20s, longer than 10s`},
		{"regular:\n  window_days: 400\nstore:\n  retention_days: 500\n", "joren.yaml:2: regular.window_days: 400: want at most"},
		{"store:\n  retention_days: 100000\n", "joren.yaml:2: store.retention_days: 100000: want 1-"},
		{"events:\n  commands: true\n  command_key_file: /k\n", "joren.yaml:2: events.commands: commands and Home Assistant discovery need a broker"},
		{"events:\n  ha_discovery: true\n", "joren.yaml:2: events.ha_discovery: commands and Home Assistant discovery need a broker"},
		{"device:\n  site: s\nevents:\n  broker: mqtt://hq\n  ca_file: /ca.pem\n", "joren.yaml:5: events.ca_file: broker mqtt://hq:1883 is plain MQTT but a CA file was given: use mqtts://"},
		{"device:\n  site: s\nevents:\n  broker: mqtts://hq\n  key_file: /k.pem\n", "events.cert_file: an MQTT client certificate needs both the certificate and the key file"},
		{"http:\n  listen: \":http\"\n", `joren.yaml:2: http.listen: ":http": port "http", want a number 0-65535`},
		{"http:\n  listen: \"127.0.0.1:70000\"\n", `port "70000"`},
		{"http:\n  listen: \":8080\"\ninstaller:\n  enabled: true\n", `installer.listen: ":8080": http.listen (":8080") is on the same port`},
		{"installer:\n  off_after_minutes: 99999999999\n", "joren.yaml:2: installer.off_after_minutes: 99999999999: want 0 (never) to 10080"},
		{"device:\n  models: \"\"\n", "joren.yaml:2: device.models: must be set"},
	} {
		errs, _ := problems(t, c.text, Options{})
		if !strings.Contains(errs, c.want) {
			t.Errorf("%q:\n%s\nwant %q", c.text, errs, c.want)
		}
		if strings.Contains(errs, "secret") {
			t.Errorf("%q: an error shows a password:\n%s", c.text, errs)
		}
	}
}

// What is right must stay right: a file that sets only good values has
// neither errors nor warnings beyond the store's.
func TestGoodValues(t *testing.T) {
	for _, text := range []string{
		"log:\n  level: info\n---\n",
		"camera:\n  width: 0\n  height: 0\n  fps: 0\n",
		"indicator:\n  kind: gpio\n  led: GPIO17:low\n  buzzer: GPIO27\n  button: GPIO22:low\n  regular: \"led+buzz 100ms, off 100ms, led 100ms\"\n  new_regular: none\n",
		"indicator:\n  kind: log\n  led: GPIO17\n  buzzer: GPIO17\n", // not opened with the log kind
		"device:\n  site: s\nevents:\n  broker: mqtts://hq\n  ca_file: /ca.pem\n  cert_file: /c.pem\n  key_file: /k.pem\n  commands: true\n  command_key_file: /k\n",
		"http:\n  listen: \"[::1]:9180\"\ninstaller:\n  enabled: true\n  listen: \"127.0.0.1:8080\"\n",
		"http:\n  listen: 127.0.0.1:0\ninstaller:\n  enabled: true\n  listen: 127.0.0.1:0\n",
		"events:\n", // a section with every key commented out
		"camera:\n  source: \"gst:videotestsrc ! x\"\n", // GStreamer
	} {
		errs, warns := problems(t, text, Options{})
		if errs != "" || warns != "" {
			t.Errorf("%q:\nerrors:\n%s\nwarnings:\n%s", text, errs, warns)
		}
	}
}

// Warnings are said, and the configuration runs.
func TestWarnings(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{"http:\n  listen: \":9180\"\n", `http.listen: ":9180" serves /healthz and /metrics`},
		{"http:\n  listen: \"10.0.0.5:9180\"\n", "http.listen"},
		{"installer:\n  enabled: true\n", `joren.yaml:2: installer.listen: ":8080": the installer page (live camera, behind its password) is open to the shop's network for 120 minutes`},
		{"installer:\n  enabled: true\n  off_after_minutes: 0\n", "joren.yaml:3: installer.off_after_minutes: 0: the installer page (live camera, behind its password) stays on"},
		{"store:\n  key_file: \"\"\n", "joren.yaml:2: store.key_file: empty: the identity store is not encrypted"},
		{"device:\n  data_dir: /data/joren\nstore:\n  key_file: /data/joren/store.key\n", "joren.yaml:4: store.key_file: /data/joren/store.key is beside the store it encrypts"},
		{"device:\n  site: s\nevents:\n  broker: mqtt://hq\n  password_file: " + dir + "/pw\n", "joren.yaml:4: events.broker: mqtt://hq is plain MQTT: the password and the events cross the network unencrypted"},
		{"device:\n  site: s\nevents:\n  broker: \"mqtt://u:secret@hq\"\n", "mqtt://u:xxxxx@hq"},
		{"events:\n  command_key_file: /k\n", "joren.yaml:2: events.command_key_file: set, but events.commands is off"},
		{"camera:\n  clock: door.truth.json\n", "joren.yaml:2: camera.clock: DEMO AND TESTS"},
	} {
		errs, warns := problems(t, c.text, Options{})
		if errs != "" {
			t.Errorf("%q: errors:\n%s", c.text, errs)
		}
		if !strings.Contains(warns, c.want) || strings.Contains(warns, "secret") {
			t.Errorf("%q: warnings:\n%s\nwant %q (and no password)", c.text, warns, c.want)
		}
	}
}

// machineFixture is a machine where the shipped configuration runs: a
// data directory, a key directory, the models, the indicator's pins.
type machineFixture struct {
	dir, data, boot, models string
}

func newMachine(t *testing.T) machineFixture {
	t.Helper()
	m := machineFixture{dir: t.TempDir(), models: testenv.Models(t)}
	m.data = filepath.Join(m.dir, "data")
	m.boot = filepath.Join(m.dir, "boot")
	if err := os.Mkdir(m.boot, 0o700); err != nil {
		t.Fatal(err)
	}
	pintest.Register(t, "GPIO17", 17)
	pintest.Register(t, "GPIO27", 27)
	pintest.Register(t, "GPIO22", 22)
	return m
}

// file writes a file of the fixture and returns its path.
func (m machineFixture) file(t *testing.T, name, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(m.dir, name)
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// base is a configuration that runs on the fixture; extra is appended
// (later keys of a section go in extra's own section lines).
func (m machineFixture) base(extra string) string {
	return "device:\n  site: s\n  data_dir: " + m.data + "\n  models: " + m.models + "\n" +
		"store:\n  key_file: " + filepath.Join(m.boot, "store.key") + "\n" + extra
}

// The checks of this machine: each file, directory, pin and address that
// the appliance's Open would refuse is an error of its key, and nothing
// is created or changed by looking.
func TestMachine(t *testing.T) {
	m := newMachine(t)
	pw := m.file(t, "pw", "correct horse battery\n", 0o600)
	shortPW := m.file(t, "short-pw", "abc\n", 0o600)
	key := m.file(t, "command.key", "a command key of 26 bytes\n", 0o600)
	openKey := m.file(t, "open.key", "a command key of 26 bytes\n", 0o644)
	badStoreKey := m.file(t, "bad-store.key", "not hex\n", 0o600)
	shortStoreKey := m.file(t, "short-store.key", strings.Repeat("ab", 16)+"\n", 0o600)
	notPEM := m.file(t, "ca.pem", "not a certificate\n", 0o600)
	aFile := m.file(t, "a-file", "x", 0o600)
	badClock := m.file(t, "clock.json", "{", 0o600)

	if errs, warns := problems(t, m.base(""), Options{Machine: true}); errs != "" || warns != "" {
		t.Fatalf("the fixture's configuration:\nerrors:\n%s\nwarnings:\n%s", errs, warns)
	}
	for _, c := range []struct{ name, extra, err, warn string }{
		{"good files", "events:\n  broker: mqtt://hq\n  commands: true\n  command_key_file: " + key + "\ninstaller:\n  enabled: true\n  listen: 127.0.0.1:0\n  password_file: " + pw + "\n", "", ""},
		{"store key malformed", "", "", ""}, // replaced below
		{"store key too short", "", "", ""},
		{"store key directory missing", "", "", ""},
		{"command key missing", "events:\n  broker: mqtt://hq\n  commands: true\n  command_key_file: " + m.dir + "/none\n", "joren.yaml:10: events.command_key_file: reading the command key: open " + m.dir + "/none: no such file", ""},
		{"command key readable by others", "events:\n  broker: mqtt://hq\n  commands: true\n  command_key_file: " + openKey + "\n", "", "joren.yaml:10: events.command_key_file: " + openKey + " can be read by other users (mode 0644): chmod 600"},
		{"broker password missing", "events:\n  broker: mqtts://hq\n  password_file: " + m.dir + "/nope\n", "joren.yaml:9: events.password_file: reading the MQTT password", ""},
		{"CA not PEM", "events:\n  broker: mqtts://hq\n  ca_file: " + notPEM + "\n", "joren.yaml:9: events.ca_file: MQTT CA file " + notPEM + " holds no PEM certificate", ""},
		{"client certificate not PEM", "events:\n  broker: mqtts://hq\n  cert_file: " + notPEM + "\n  key_file: " + notPEM + "\n", "joren.yaml:9: events.cert_file: MQTT client certificate", ""},
		{"installer password short", "installer:\n  enabled: true\n  listen: 127.0.0.1:0\n  password_file: " + shortPW + "\n", "joren.yaml:10: installer.password_file: installer page: password file " + shortPW + ": the password has 3 characters, want at least 8", ""},
		{"installer password missing", "installer:\n  enabled: true\n  listen: 127.0.0.1:0\n  password_file: " + m.dir + "/none\n", "installer.password_file: installer page: reading the password", ""},
		{"pin missing", "indicator:\n  led: GPIO99\n", `joren.yaml:8: indicator.led: no GPIO pin named "GPIO99"`, ""},
		{"button missing, whatever the kind", "indicator:\n  kind: none\n  button: GPIO98:low\n", `joren.yaml:9: indicator.button: no GPIO pin named "GPIO98"`, ""},
		{"models missing", "vision:\n  detector: hog\n", "", ""},  // replaced below
		{"YuNet missing", "vision:\n  detector: yunet\n", "", ""}, // replaced below
		{"YuNet present", "vision:\n  detector: yunet\n", "", ""}, // replaced below
		{"auto without YuNet", "", "", ""},                        // replaced below
		{"onnx not registered", "vision:\n  embedder: onnx\n  onnx_model: no-such-net\n", `joren.yaml:9: vision.onnx_model: no ONNX model called "no-such-net"`, ""},
		{"recording missing", "camera:\n  source: " + m.dir + "/door.avi\n", "joren.yaml:8: camera.source: stat " + m.dir + "/door.avi: no such file", ""},
		{"recording as file:// missing", "camera:\n  source: file://" + m.dir + "/door.avi\n", "camera.source: stat " + m.dir + "/door.avi", ""},
		{"folder present", "camera:\n  source: " + m.dir + "/\n", "", ""},
		{"clock unreadable", "camera:\n  source: " + aFile + "\n  clock: " + badClock + "\n", "joren.yaml:9: camera.clock: ", "camera.clock: DEMO"},
		{"debug folder under a file", "vision:\n  debug_dir: " + aFile + "/faces\n", "joren.yaml:8: vision.debug_dir: " + aFile + "/faces cannot be made: " + aFile + " is a file", "vision.debug_dir: DEBUG"},
		{"data directory is a file", "", "", ""}, // replaced below
		{"listen on another machine's address", "http:\n  listen: 192.0.2.1:9180\n", `joren.yaml:8: http.listen: "192.0.2.1:9180": 192.0.2.1 is not an address of this machine`, "http.listen"},
		{"listen on loopback", "http:\n  listen: localhost:0\n", "", ""},
	} {
		text := m.base(c.extra)
		switch c.name {
		case "store key malformed":
			text = strings.Replace(m.base(""), filepath.Join(m.boot, "store.key"), badStoreKey, 1)
			c.err = "joren.yaml:6: store.key_file: key file " + badStoreKey + ": not a store key (want 64 hexadecimal digits, the file has 8 bytes)"
		case "store key too short":
			text = strings.Replace(m.base(""), filepath.Join(m.boot, "store.key"), shortStoreKey, 1)
			c.err = "store.key_file: key file " + shortStoreKey + ": not a store key"
		case "store key directory missing":
			text = strings.Replace(m.base(""), m.boot, filepath.Join(m.dir, "no-boot"), 1)
			c.err = "joren.yaml:6: store.key_file: " + filepath.Join(m.dir, "no-boot", "store.key") + ": its directory must exist"
		case "models missing":
			text = strings.Replace(text, m.models, m.dir, 1)
			c.err = "joren.yaml:4: device.models: model file " + filepath.Join(m.dir, "shape_predictor_5_face_landmarks.dat") + " is missing"
		case "YuNet missing":
			noYuNet := m.withoutYuNet(t)
			text = strings.Replace(text, m.models, noYuNet, 1)
			c.err = "vision.detector: yunet: stat " + filepath.Join(noYuNet, models.YuNetFile) + ": no such file or directory (run joren models build or joren models fetch yunet, or choose detector: hog)"
		case "auto without YuNet":
			text = strings.Replace(text, m.models, m.withoutYuNet(t), 1)
			c.warn = "vision.detector: auto chooses hog: " + models.YuNetFile + " is not in the model directory (joren models fetch yunet adds it)"
		case "YuNet present":
			text = strings.Replace(text, m.models, testenv.ModelsWithYuNet(t), 1)
		case "data directory is a file":
			text = strings.Replace(m.base(""), m.data, aFile, 1)
			c.err = "joren.yaml:3: device.data_dir: " + aFile + " is a file, not a directory"
		}
		t.Run(c.name, func(t *testing.T) {
			errs, warns := problems(t, text, Options{Machine: true})
			if c.err == "" && errs != "" || !strings.Contains(errs, c.err) {
				t.Errorf("errors:\n%s\nwant %q", errs, c.err)
			}
			if c.warn == "" && warns != "" || !strings.Contains(warns, c.warn) {
				t.Errorf("warnings:\n%s\nwant %q", warns, c.warn)
			}
			// Without the machine, only the file itself is checked.
			if errs, _ := problems(t, text, Options{}); errs != "" {
				t.Errorf("without the machine: %s", errs)
			}
		})
	}
	for _, p := range []string{m.data, filepath.Join(m.boot, "store.key")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("checking made %s", p)
		}
	}
}

// Problems come in the file's order, whatever check found them.
func TestProblemsInLineOrder(t *testing.T) {
	errs, _ := problems(t, "indicator:\n  led: GPIO17\n  regular: \"led+buzz fast, blink 3\"\n  button: GPIO22:sideways\n  colour: red\n---\nlog:\n  level: debug\n", Options{})
	var lines []string
	for _, l := range strings.Split(errs, "\n") {
		_, rest, _ := strings.Cut(l, "joren.yaml:")
		n, _, _ := strings.Cut(rest, ":")
		lines = append(lines, n)
	}
	if got := strings.Join(lines, ","); got != "3,4,5,6" {
		t.Errorf("lines %s, want 3,4,5,6:\n%s", got, errs)
	}
}

// A store that exists must match the configuration: its key, and the
// zone it counts days in. Either mismatch is an error of its key, as the
// appliance would refuse the store; the store is left as it was.
func TestMachineStore(t *testing.T) {
	m := newMachine(t)
	storeDir := filepath.Join(m.data, "store")
	key := filepath.Join(m.boot, "store.key")
	otherKey := m.file(t, "other.key", strings.Repeat("5a", 32)+"\n", 0o600)
	makeStore := func(keyFile string) {
		t.Helper()
		os.RemoveAll(storeDir)
		st, err := store.Open(storeDir, store.Options{Model: vocab.DlibResNet(), Zone: "Asia/Tokyo", Create: true, KeyFile: keyFile})
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	base := func(zone, keyFile string) string {
		return "device:\n  site: s\n  timezone: " + zone + "\n  data_dir: " + m.data + "\n  models: " + m.models + "\nstore:\n  key_file: \"" + keyFile + "\"\n"
	}
	makeStore("")
	for _, c := range []struct{ name, text, err string }{
		{"plain, same zone", base("Asia/Tokyo", ""), ""},
		{"plain, a key given (it is encrypted at start)", base("Asia/Tokyo", key), ""},
		{"zone changed", base("Europe/Paris", ""), `joren.yaml:3: device.timezone: "Europe/Paris": the identity store in ` + storeDir + " counts days in Asia/Tokyo"},
	} {
		if errs, _ := problems(t, c.text, Options{Machine: true}); c.err == "" && errs != "" || !strings.Contains(errs, c.err) {
			t.Errorf("%s:\n%s\nwant %q", c.name, errs, c.err)
		}
	}
	makeStore(key)
	for _, c := range []struct{ name, text, err string }{
		{"encrypted, its key", base("Asia/Tokyo", key), ""},
		{"encrypted, no key", base("Asia/Tokyo", ""), "joren.yaml:7: store.key_file: the store at " + storeDir + " is encrypted: give its key file"},
		{"encrypted, another key", base("Asia/Tokyo", otherKey), "joren.yaml:7: store.key_file: the store at " + storeDir + " is encrypted"},
	} {
		if errs, _ := problems(t, c.text, Options{Machine: true}); c.err == "" && errs != "" || !strings.Contains(errs, c.err) {
			t.Errorf("%s:\n%s\nwant %q", c.name, errs, c.err)
		}
	}
	// While joren holds the store, the check says it could not look.
	st, err := store.Open(storeDir, store.Options{KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if errs, warns := problems(t, base("Asia/Tokyo", key), Options{Machine: true}); errs != "" || !strings.Contains(warns, "store.dir: the store could not be checked against this configuration") {
		t.Errorf("store in use:\nerrors:\n%s\nwarnings:\n%s", errs, warns)
	}
}

// withoutYuNet is a model directory of dlib's files alone (links to the
// fixture's), as made before YuNet was provisioned.
func (m machineFixture) withoutYuNet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range models.Files {
		if err := os.Symlink(filepath.Join(m.models, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
