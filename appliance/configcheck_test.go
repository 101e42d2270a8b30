package appliance

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"periph.io/x/conn/v3/gpio"

	"joren/appliance/config"
	"joren/cluster/store"
	"joren/device/pintest"
	"joren/internal/testenv"
	"joren/sync/mosquittotest"
	"joren/vision"
	"joren/vision/camera"
	"joren/vision/frame"
	"joren/vocab"
)

// idleCamera stands in for the camera side in the configuration property
// only: Open's acceptance of a configuration is what is tested, and the
// camera's parts need cgo. It opens nothing and never fails; the real
// driver's acceptance of camera sources and model folders is
// cmd/joren's TestConfigCameraAgrees.
type idleCamera struct{}

func (idleCamera) OpenFaces(string, camera.FaceOptions) (camera.Faces, error) {
	return idleFaces{}, nil
}
func (idleCamera) OpenSource(spec string, _ camera.SourceOptions) (camera.Source, error) {
	return idleSource(spec), nil
}

type idleFaces struct{}

func (idleFaces) Detect(frame.Image, float64) ([]image.Rectangle, error) { return nil, nil }
func (idleFaces) Landmarks(frame.Image, image.Rectangle) ([]image.Point, error) {
	return nil, errors.New("no face")
}
func (idleFaces) Describe(frame.Image, image.Rectangle) (vision.Face, error) {
	return vision.Face{}, errors.New("no face")
}
func (idleFaces) Model() vocab.Model { return vocab.DlibResNet() }
func (idleFaces) Close() error       { return nil }

type idleSource string

func (idleSource) Run(ctx context.Context, _ chan<- *frame.Frame) error {
	<-ctx.Done()
	return nil
}
func (idleSource) Stats() camera.Stats { return camera.Stats{} }
func (idleSource) Live() bool          { return true }
func (s idleSource) String() string    { return string(s) }

// mutation is a key and the values a configuration may give it: good
// ones, bad ones, and ones this machine lacks. {fix} is the fixture's
// folder, {run} the folder of one configuration.
type mutation struct {
	key    string
	values []string
}

func mutations() []mutation {
	return []mutation{
		{"device.id", []string{"door-2", "a b", "", "x/y"}},
		{"device.site", []string{"shop-2", "", "a/b"}},
		{"device.timezone", []string{"Europe/Paris", "UTC", "Mars/Olympus", ""}},
		{"device.data_dir", []string{"{run}/data", "{fix}/a-file", "{fix}/a-file/data", ""}},
		{"device.models", []string{"{models}", "{fix}", ""}},
		{"camera.source", []string{"/dev/video0", "csi", "csi:1", "csi:front", "rtsp://user:pw@cam/live", "ftp://cam", "gst: ", "gst:videotestsrc", "{fix}/door.avi", "{fix}/none.avi", "{fix}/", "7"}},
		{"camera.width", []string{"0", "640", "-1", "100000", "wide"}},
		{"camera.height", []string{"0", "480", "-5"}},
		{"camera.fps", []string{"15", "0", ".nan", "-1", "500"}},
		{"camera.clock", []string{"", "{fix}/none.json", "{fix}/clock.json"}},
		{"camera.max_image_pixels", []string{"50000000", "1", "268435456", "0", "-5", "268435457", "many"}},
		{"vision.embedder", []string{"dlib", "onnx", "arcface"}},
		{"vision.onnx_model", []string{"", "no-such-net"}},
		{"vision.detector", []string{"auto", "yunet", "hog", "mmod", "cnn", "fast"}},
		{"vision.detect_width", []string{"320", "10", "99999"}},
		{"vision.min_face", []string{"80", "5"}},
		{"vision.min_sharpness", []string{"0", "-1", ".inf"}},
		{"vision.min_frontal", []string{"0.5", "2", ".nan"}},
		{"vision.descriptors", []string{"1", "0", "11"}},
		{"vision.debug_dir", []string{"", "{run}/debug", "{fix}/a-file/debug"}},
		{"store.dir", []string{"", "{run}/store", "{fix}/a-file"}},
		{"store.key_file", []string{"{fix}/boot/store.key", "", "{fix}/no-boot/store.key", "{fix}/bad-store.key", "{fix}/good-store.key", "{fix}/boot"}},
		{"store.mode", []string{"counting", "consent", "everyone"}},
		{"store.retention_days", []string{"90", "0", "10", "100000"}},
		{"store.max_identities", []string{"5000", "5"}},
		{"store.max_bytes", []string{"0", "1048576", "-1"}},
		{"store.maintain_hour", []string{"3", "24"}},
		{"regular.days", []string{"3", "0", "40"}},
		{"regular.window_days", []string{"30", "2", "400"}},
		{"regular.merge_minutes", []string{"30", "-1", "5000"}},
		{"indicator.kind", []string{"gpio", "log", "none", "lamp"}},
		{"indicator.led", []string{"GPIO17", "GPIO17:low", "GPIO99", "GPIO17:sideways", ""}},
		{"indicator.buzzer", []string{"GPIO27", "GPIO17", "GPIO27:low", ""}},
		{"indicator.button", []string{"", "GPIO22:low", "GPIO22:sideways", "GPIO98", "GPIO17"}},
		{"indicator.regular", []string{"", "led 100ms, off 100ms", "led+buzz fast, blink 3", "none", "led 20s"}},
		{"indicator.new_regular", []string{"", "buzz 50ms", "blink"}},
		{"events.broker", []string{"", "mqtt://127.0.0.1:1", "mqtts://127.0.0.1:1", "http://hq", "mqtt://"}},
		{"events.user", []string{"", "shop"}},
		{"events.password_file", []string{"", "{fix}/mqtt.password", "{fix}/none"}},
		{"events.ca_file", []string{"", "{ca}", "{fix}/not.pem"}},
		{"events.cert_file", []string{"", "{cert}", "{fix}/not.pem"}},
		{"events.key_file", []string{"", "{key}"}},
		{"events.pseudonym_period", []string{"month", "day", "never"}},
		{"events.ha_discovery", []string{"false", "true"}},
		{"events.commands", []string{"false", "true"}},
		{"events.command_key_file", []string{"", "{fix}/command.key", "{fix}/short.key", "{fix}/none"}},
		{"events.outbox_max", []string{"100000", "10"}},
		{"http.listen", []string{"127.0.0.1:0", "", "0.0.0.0:0", "localhost:0", "[::1]:0", "192.0.2.1:0", "nope", ":http", "127.0.0.1:99999"}},
		{"installer.enabled", []string{"false", "true"}},
		{"installer.listen", []string{"127.0.0.1:0", ":0", "", "192.0.2.1:0"}},
		{"installer.password_file", []string{"{fix}/installer.password", "{fix}/short.password", "{fix}/none"}},
		{"installer.off_after_minutes", []string{"120", "0", "-1", "99999999999"}},
		{"log.level", []string{"info", "debug", "loud"}},
		{"log.format", []string{"text", "json", "xml"}},
		// Not a key: a store the box already has (in the shipped data
		// directory), made in the shipped zone.
		{storeKey, []string{"", "plain", "encrypted"}},
	}
}

// storeKey is the mutation that makes a store before the check.
const storeKey = "(existing store)"

// setYAML sets section.key of the document to value (a YAML scalar).
func setYAML(t *testing.T, doc *yaml.Node, key, value string) {
	t.Helper()
	section, name, _ := strings.Cut(key, ".")
	root := doc.Content[0]
	find := func(m *yaml.Node, k string) *yaml.Node {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == k {
				return m.Content[i+1]
			}
		}
		return nil
	}
	sec := find(root, section)
	if sec == nil || sec.Kind != yaml.MappingNode {
		sec = &yaml.Node{Kind: yaml.MappingNode}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: section}, sec)
	}
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil || len(v.Content) == 0 {
		v = yaml.Node{Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: value, Tag: "!!str"}}}
	}
	if old := find(sec, name); old != nil {
		*old = *v.Content[0]
		return
	}
	sec.Content = append(sec.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, v.Content[0])
}

// The one validator's promise: a configuration that `joren config check`
// passes (config.Load with this machine's checks), the appliance's Open
// does not refuse. Tried on the shipped init/joren.yaml changed one key
// at a time through every value of the table, then on random
// combinations of two to five changes; Open runs for real (store,
// outbox, secret, GPIO lines on periph's test pins, listeners), only the
// camera side is idle.
func TestConfigCheckedOpens(t *testing.T) {
	fix := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(fix, "boot"), 0o700))
	for name, text := range map[string]string{
		"a-file": "x", "door.avi": "not really a video", "not.pem": "not a certificate\n",
		"bad-store.key":      "not hex\n",
		"good-store.key":     strings.Repeat("5a", 32) + "\n",
		"mqtt.password":      "broker-password\n",
		"command.key":        "a command key of 26 bytes\n",
		"short.key":          "abc",
		"installer.password": "correct horse battery\n",
		"short.password":     "abc\n",
		"clock.json":         `{"timeline":[{"frame":0,"time":"2026-05-14T09:00:00Z"}]}`,
	} {
		must(os.WriteFile(filepath.Join(fix, name), []byte(text), 0o600))
	}
	pki := mosquittotest.NewPKI(t)
	pintest.Register(t, "GPIO17", 17)
	pintest.Register(t, "GPIO27", 27)
	// The button's line reports edges, as a real one does.
	pintest.Register(t, "GPIO22", 22).EdgesChan = make(chan gpio.Level, 1)
	models := testenv.Models(t)
	shipped, err := os.ReadFile(filepath.Join("..", "init", "joren.yaml"))
	must(err)

	var tried, accepted int
	refused := map[string]int{} // by the key of the first problem
	try := func(name string, changes map[string]string) {
		tried++
		run := filepath.Join(fix, fmt.Sprintf("run-%04d", tried))
		var doc yaml.Node
		must(yaml.Unmarshal(shipped, &doc))
		// The shipped file on this machine: its folders and addresses
		// are the fixture's.
		for k, v := range map[string]string{
			"device.data_dir": "{run}/data", "device.models": "{models}", "store.key_file": "{fix}/boot/store.key",
			"installer.password_file": "{fix}/installer.password", "installer.listen": "127.0.0.1:0", "http.listen": "127.0.0.1:0",
		} {
			if _, set := changes[k]; !set {
				changes[k] = v
			}
		}
		if kind := changes[storeKey]; kind != "" {
			var key string
			if kind == "encrypted" {
				key = filepath.Join(fix, "good-store.key")
			}
			st, err := store.Open(filepath.Join(run, "data", "store"), store.Options{Model: vocab.DlibResNet(), Zone: "Asia/Tokyo", Create: true, KeyFile: key})
			must(err)
			must(st.Close())
		}
		for k, v := range changes {
			if k == storeKey {
				continue
			}
			v = strings.NewReplacer("{fix}", fix, "{run}", run, "{models}", models, "{ca}", pki.CAFile, "{cert}", pki.ClientCertFile, "{key}", pki.ClientKeyFile).Replace(v)
			setYAML(t, &doc, k, v)
		}
		text, err := yaml.Marshal(&doc)
		must(err)
		path := filepath.Join(fix, "joren.yaml")
		must(os.WriteFile(path, text, 0o600))
		cfg, _, err := config.Load(path, config.Options{Machine: true})
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%s: %v", name, err)
			}
			refused[ce.Problems[0].Key]++
			return
		}
		accepted++
		a, err := Open(cfg, Options{Camera: idleCamera{}, Version: "test"})
		if err != nil {
			t.Errorf("%s: config check passes, Open refuses: %v\n%s", name, err, text)
			return
		}
		if err := a.Close(); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
	}
	try("the shipped configuration", map[string]string{})
	if accepted != 1 {
		t.Fatalf("the shipped configuration is refused on this machine")
	}
	muts := mutations()
	for _, m := range muts {
		for _, v := range m.values {
			try(m.key+": "+v, map[string]string{m.key: v})
		}
	}
	rng := rand.New(rand.NewPCG(12, 5))
	for i := range 300 {
		changes := map[string]string{}
		for range 2 + rng.IntN(4) {
			m := muts[rng.IntN(len(muts))]
			changes[m.key] = m.values[rng.IntN(len(m.values))]
		}
		try(fmt.Sprintf("combination %d %v", i, changes), changes)
	}
	t.Logf("%d configurations: %d passed the check and opened, %d refused by it (%v)", tried, accepted, tried-accepted, refused)
	// Both sides of the property must be exercised.
	if accepted < tried/5 || tried-accepted < tried/5 {
		t.Errorf("%d of %d configurations accepted: the corpus does not try both sides", accepted, tried)
	}
}
