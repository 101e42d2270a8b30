package indicator

import (
	"strings"
	"testing"
	"time"
)

func TestParsePattern(t *testing.T) {
	cases := []struct {
		in   string
		want Pattern
		err  string
	}{
		{"led 100ms", Pattern{{LED: true, For: 100 * time.Millisecond}}, ""},
		{"led+buzz 80ms, off 1s, buzz 2ms", Pattern{{LED: true, Buzzer: true, For: 80 * time.Millisecond}, {For: time.Second}, {Buzzer: true, For: 2 * time.Millisecond}}, ""},
		{" none ", nil, ""},
		{"", nil, ""},
		{"blink 100ms", nil, `"blink", want led, buzz, led+buzz or off`},
		{"led", nil, "want WHAT DURATION"},
		{"led 0s", nil, "positive duration"},
		{"led -5ms", nil, "positive duration"},
		{"led soon", nil, `duration "soon"`},
		{"off+led 10ms", nil, "off cannot be combined"},
		{"led 6s, off 5s", nil, "longer than 10s"},
		{"led 100ms,, off 1s", nil, "step 2"},
	}
	for _, c := range cases {
		got, err := ParsePattern(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want error %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got.String() != c.want.String() || len(got) != len(c.want) {
			t.Errorf("%q = %v, %v; want %v", c.in, got, err, c.want)
		}
		if again, _ := ParsePattern(got.String()); again.String() != got.String() {
			t.Errorf("%q does not round-trip: %q", c.in, got.String())
		}
	}
	if d := DefaultPatterns()[Regular].Duration(); d != 600*time.Millisecond {
		t.Errorf("default regular pattern lasts %s", d)
	}
}

func TestPatternsSet(t *testing.T) {
	ps := DefaultPatterns()
	if err := ps.Set("new=led 50ms"); err != nil || ps[NewVisitor].String() != "led 50ms" {
		t.Errorf("set new: %v %v", err, ps[NewVisitor])
	}
	if err := ps.Set("regular=none"); err != nil || len(ps[Regular]) != 0 {
		t.Errorf("turning regular off: %v %v", err, ps[Regular])
	}
	for in, want := range map[string]string{
		"regular":            "want KIND=PATTERN",
		"vip=led 1s":         `unknown kind "vip"`,
		"regular=led 1 hour": "step 1",
	} {
		if err := ps.Set(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Set(%q): %v, want %q", in, err, want)
		}
	}
}
