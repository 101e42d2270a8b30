package notice

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"joren/appliance/config"
	"joren/cluster/store"
	"joren/sync/event"
)

// shopConfig is a shop's configuration file in which every value the sign
// shows differs from its default, so that a value taken from anywhere else
// shows.
const shopConfig = `
device:
  id: door-2
  site: kyoto-gion
  contact: |
    Kissa Hoshi (Hoshi Coffee K.K.)
    1-2-3 Gionmachi, Higashiyama-ku, Kyoto
    privacy@hoshi-coffee.jp / 075-123-4567
store:
  mode: consent
  retention_days: 45
regular:
  days: 4
  window_days: 21
events:
  broker: mqtts://mqtt.example.com:8883
  pseudonym_period: week
`

func loadConfig(t *testing.T, text string) config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "joren.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Load(p, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFromConfig(t *testing.T) {
	got := FromConfig(loadConfig(t, shopConfig))
	want := Facts{
		Site: "kyoto-gion", Device: "door-2", Mode: store.Consent, RetentionDays: 45, RegularDays: 4, WindowDays: 21,
		Encrypted: true, Signal: Light, HeadOffice: true, Period: event.Week,
		Contact: "Kissa Hoshi (Hoshi Coffee K.K.)\n1-2-3 Gionmachi, Higashiyama-ku, Kyoto\nprivacy@hoshi-coffee.jp / 075-123-4567",
	}
	if got != want {
		t.Errorf("FromConfig =\n%+v\nwant\n%+v", got, want)
	}
	if err := got.Check(); err != nil {
		t.Error(err)
	}
	// The defaults: counting mode, nothing leaves the shop, and no contact
	// yet, which the sign cannot do without.
	def := FromConfig(config.Default())
	if def.Mode != store.Counting || def.HeadOffice || def.RetentionDays != 90 || !def.Encrypted || def.Signal != Light {
		t.Errorf("defaults: %+v", def)
	}
	if err := def.Check(); err == nil || !strings.Contains(err.Error(), "device.contact: empty") {
		t.Errorf("Check without a contact: %v", err)
	}
}

// What staff see, and whether the store is encrypted, follow the
// configuration.
func TestFromConfigSignalAndKey(t *testing.T) {
	for body, want := range map[string]Facts{
		"indicator: {kind: gpio, led: GPIO17, buzzer: GPIO27}": {Signal: Light, Encrypted: true},
		"indicator: {kind: gpio, led: '', buzzer: GPIO27}":     {Signal: Beep, Encrypted: true},
		"indicator: {kind: log}":                               {Signal: NoSignal, Encrypted: true},
		"indicator: {kind: none}\nstore: {key_file: ''}":       {Signal: NoSignal},
	} {
		f := FromConfig(loadConfig(t, body+"\n"))
		if f.Signal != want.Signal || f.Encrypted != want.Encrypted {
			t.Errorf("%s: signal %q, encrypted %v; want %q, %v", body, f.Signal, f.Encrypted, want.Signal, want.Encrypted)
		}
	}
}

func TestCheck(t *testing.T) {
	good := FromConfig(loadConfig(t, shopConfig))
	cases := []struct {
		name   string
		change func(*Facts)
		want   string // "" for no error
	}{
		{"good", func(*Facts) {}, ""},
		{"no head office, no period", func(f *Facts) { f.HeadOffice, f.Period = false, "" }, ""},
		{"four lines", func(f *Facts) { f.Contact = "a\nb\nc\nd" }, ""},
		{"blank contact", func(f *Facts) { f.Contact = " \n\t" }, "device.contact: empty"},
		{"five lines", func(f *Facts) { f.Contact = "a\nb\nc\nd\ne" }, "device.contact: 5 lines, at most 4"},
		{"too long", func(f *Facts) { f.Contact = strings.Repeat("喫", 241) }, "device.contact: 241 characters, at most 240"},
		{"control character", func(f *Facts) { f.Contact = "Hoshi\x1b[2J" }, "device.contact: has the control character U+001B"},
		{"line separator", func(f *Facts) { f.Contact = "Hoshi\u2028Kyoto" }, "U+2028"},
		{"not UTF-8", func(f *Facts) { f.Contact = "Hoshi \xff" }, "not valid UTF-8"},
		{"mode", func(f *Facts) { f.Mode = "everyone" }, `store.mode: "everyone": want counting or consent`},
		{"retention", func(f *Facts) { f.RetentionDays = 0 }, "store.retention_days: 0"},
		{"regular", func(f *Facts) { f.RegularDays, f.WindowDays = 5, 3 }, "regular: 5 days within 3"},
		{"period", func(f *Facts) { f.Period = "never" }, "events.pseudonym_period"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := good
			c.change(&f)
			err := f.Check()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v, want %q", err, c.want)
			}
			// A sign that cannot be right is not made.
			if err := (Page{Facts: f}).HTML(new(strings.Builder)); err == nil {
				t.Error("HTML made a sign anyway")
			}
		})
	}
}

func TestParseLangs(t *testing.T) {
	for in, want := range map[string]string{"ja,en": "ja en", "en": "en", " EN , ja ": "en ja", "ja,ja": "twice", "fr": `"fr"`, "": `""`} {
		langs, err := ParseLangs(in)
		got := ""
		for _, l := range langs {
			got = strings.TrimSpace(got + " " + string(l))
		}
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("ParseLangs(%q) = %q, want %q", in, got, want)
		}
	}
}
