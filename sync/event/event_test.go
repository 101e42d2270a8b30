package event

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"joren/vocab"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var tokyo = time.FixedZone("JST", 9*3600)

func testMaker(t testing.TB, device string, secret Secret) *Maker {
	t.Helper()
	m, err := NewMaker(Config{Device: device, Site: "shibuya-1", Secret: secret, Location: tokyo})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func secretOf(b byte) Secret { return Secret(slices.Repeat([]byte{b}, 32)) }

func regularDecision() vocab.Decision {
	return vocab.Decision{
		Visit: "01JV0000000000000000000001", Time: time.Date(2026, 5, 14, 10, 15, 30, 250e6, time.UTC),
		Visitor: "id-000042", Visits: 7, Days: 4, Regular: true, Confidence: 0.87654321,
	}
}

func TestVisitFromDecision(t *testing.T) {
	m := testMaker(t, "door-1", secretOf(1))
	newD := vocab.Decision{Visit: "v2", Time: time.Date(2026, 5, 14, 11, 0, 0, 0, time.UTC), Visitor: "id-7", New: true, Visits: 1, Days: 1, Confidence: 0.7}
	became := regularDecision()
	became.BecameRegular = true
	cases := []struct {
		name    string
		d       vocab.Decision
		kind    Kind
		wantErr string
	}{
		{"regular returning", regularDecision(), Returning, ""},
		{"new visitor", newD, New, ""},
		{"became regular", became, Returning, ""},
		{"staff", vocab.Decision{Visit: "v3", Time: newD.Time, Staff: "Mina", Visits: 30, Days: 10}, "", "staff"},
		{"unknown in consent mode", vocab.Decision{Visit: "v11", Time: newD.Time, Unknown: true, Confidence: 0.9}, "", "unknown visitor"},
		{"no visitor", vocab.Decision{Visit: "v4", Time: newD.Time, Visits: 1, Days: 1}, "", `visit "v4" has no visitor`},
		{"no time", vocab.Decision{Visit: "v5", Visitor: "x", Visits: 1, Days: 1}, "", `visit "v5" has no time`},
		{"confidence above 1", vocab.Decision{Visit: "v6", Time: newD.Time, Visitor: "x", Visits: 1, Days: 1, New: true, Confidence: 1.5}, "", "confidence 1.5 outside"},
		{"confidence NaN", vocab.Decision{Visit: "v7", Time: newD.Time, Visitor: "x", Visits: 1, Days: 1, New: true, Confidence: math.NaN()}, "", "confidence NaN"},
		{"zero visits", vocab.Decision{Visit: "v8", Time: newD.Time, Visitor: "x", Visits: 0, Days: 0}, "", "visits 0"},
		{"zero days", vocab.Decision{Visit: "v9", Time: newD.Time, Visitor: "x", Visits: 2, Days: 0}, "", "days 0"},
		{"became regular, not regular", vocab.Decision{Visit: "v10", Time: newD.Time, Visitor: "x", Visits: 4, Days: 3, BecameRegular: true}, "", "became regular but is not regular"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := m.Visit(c.d)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				if c.d.Staff != "" && !errors.Is(err, ErrStaff) {
					t.Errorf("staff: err = %v, want ErrStaff", err)
				}
				if c.d.Unknown && !errors.Is(err, ErrUnknown) {
					t.Errorf("unknown: err = %v, want ErrUnknown", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Kind != c.kind || v.Visits != c.d.Visits || v.Days != c.d.Days || v.Regular != c.d.Regular || v.BecameRegular != c.d.BecameRegular {
				t.Errorf("event %+v does not carry decision %+v", v, c.d)
			}
			if v.Device != "door-1" || v.Site != "shibuya-1" || v.Schema != SchemaVersion {
				t.Errorf("event %+v: wrong device, site or schema", v)
			}
			if !v.Time.Equal(c.d.Time.Truncate(time.Second)) || v.Time.Location() != time.UTC {
				t.Errorf("time %v, want %v in UTC to the second", v.Time, c.d.Time)
			}
			if v.Period != "2026-05" {
				t.Errorf("period %q, want 2026-05", v.Period)
			}
		})
	}
	v, _ := m.Visit(regularDecision())
	if v.Confidence != 0.877 {
		t.Errorf("confidence %v, want 0.877 (three decimals)", v.Confidence)
	}
}

// What head office receives must not contain anything that identifies the
// customer or the store's records.
func TestNoInternalIDs(t *testing.T) {
	m := testMaker(t, "door-1", secretOf(1))
	d := regularDecision()
	v, err := m.Visit(d)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	for _, leak := range []string{d.Visitor, d.Visit, "descriptor", "image", "staff"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("event contains %q: %s", leak, b)
		}
	}
	var fields map[string]any
	json.Unmarshal(b, &fields)
	want := []string{"schema", "id", "device", "site", "time", "day", "utc_offset", "period", "visitor", "kind", "visits", "days", "regular", "became_regular", "confidence"}
	got := make([]string, 0, len(fields))
	for k := range fields {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("fields %v, want exactly %v", got, want)
	}
}

func TestPseudonyms(t *testing.T) {
	door1 := testMaker(t, "door-1", secretOf(1))
	door2 := testMaker(t, "door-2", secretOf(2))
	may := time.Date(2026, 5, 3, 9, 0, 0, 0, tokyo)
	lateMay := time.Date(2026, 5, 31, 23, 59, 0, 0, tokyo)
	june := time.Date(2026, 6, 1, 0, 1, 0, 0, tokyo)
	p := func(m *Maker, who string, at time.Time) string {
		s, _ := m.Pseudonym(who, at)
		return s
	}
	if p(door1, "id-1", may) != p(door1, "id-1", lateMay) {
		t.Error("one visitor has two pseudonyms within a month")
	}
	if p(door1, "id-1", may) == p(door1, "id-2", may) {
		t.Error("two visitors share a pseudonym")
	}
	if p(door1, "id-1", lateMay) == p(door1, "id-1", june) {
		t.Error("the pseudonym did not change with the month (local time)")
	}
	if p(door1, "id-1", may) == p(door2, "id-1", may) {
		t.Error("two devices give one internal id the same pseudonym")
	}
	// 2026-05-31T15:30Z is already June 1st in Tokyo: the shop's calendar
	// decides, not UTC's.
	if _, period := door1.Pseudonym("id-1", time.Date(2026, 5, 31, 15, 30, 0, 0, time.UTC)); period != "2026-06" {
		t.Errorf("period %q, want 2026-06 (local calendar)", period)
	}
	if got := door1.PseudonymIn("id-1", "2026-05"); got != p(door1, "id-1", may) {
		t.Errorf("PseudonymIn %s differs from Pseudonym %s", got, p(door1, "id-1", may))
	}
	if !isPseudonym(p(door1, "id-1", may)) {
		t.Errorf("%q is not 32 lower-case hex digits", p(door1, "id-1", may))
	}
}

func TestPeriodLabels(t *testing.T) {
	at := time.Date(2026, 1, 1, 8, 0, 0, 0, tokyo) // a Thursday: ISO week 1 of 2026
	cases := []struct {
		period Period
		want   string
	}{
		{Day, "2026-01-01"}, {Week, "2026-W01"}, {Month, "2026-01"}, {Year, "2026"},
	}
	for _, c := range cases {
		if got := c.period.Label(at, tokyo); got != c.want {
			t.Errorf("%s: %q, want %q", c.period, got, c.want)
		}
		if p, err := ParsePeriod(string(c.period)); err != nil || p != c.period {
			t.Errorf("ParsePeriod(%q) = %q, %v", c.period, p, err)
		}
	}
	if _, err := ParsePeriod("never"); err == nil || !strings.Contains(err.Error(), "want day, week, month or year") {
		t.Errorf("ParsePeriod(never): %v", err)
	}
}

func TestEventIDs(t *testing.T) {
	m := testMaker(t, "door-1", secretOf(1))
	d := regularDecision()
	a, _ := m.Visit(d)
	b, _ := m.Visit(d)
	if a.ID != b.ID {
		t.Errorf("one decision, two ids: %s %s (redeliveries and replays must deduplicate)", a.ID, b.ID)
	}
	other := testMaker(t, "door-2", secretOf(2))
	if c, _ := other.Visit(d); c.ID == a.ID {
		t.Error("two devices gave one visit id the same event id")
	}
	// 10,000 visits over a day, in random order: ids are unique and sort
	// as their times do.
	base := time.Date(2026, 5, 14, 8, 0, 0, 0, time.UTC)
	type pair struct {
		id string
		at time.Time
	}
	var all []pair
	seen := map[string]bool{}
	for i := range 10000 {
		d := vocab.Decision{Visit: fmt.Sprintf("v%05d", i),
			Time: base.Add(time.Duration((i*7919)%10000) * 8 * time.Second), Visitor: "x", Visits: 1, Days: 1, New: true}
		v, err := m.Visit(d)
		if err != nil {
			t.Fatal(err)
		}
		if seen[v.ID] {
			t.Fatalf("id %s repeats", v.ID)
		}
		seen[v.ID] = true
		all = append(all, pair{v.ID, d.Time})
	}
	slices.SortFunc(all, func(x, y pair) int { return strings.Compare(x.id, y.id) })
	for i := 1; i < len(all); i++ {
		if all[i].at.Before(all[i-1].at) {
			t.Fatalf("ids do not sort by time: %s (%v) after %s (%v)", all[i].id, all[i].at, all[i-1].id, all[i-1].at)
		}
	}
	// Without a visit id, ids are random but still valid and sortable.
	d.Visit = ""
	x, _ := m.Visit(d)
	y, _ := m.Visit(d)
	if x.ID == y.ID || !isULID(x.ID) {
		t.Errorf("ids without a visit id: %s %s", x.ID, y.ID)
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "secret")
	s1, err := LoadSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s1) != 32 {
		t.Fatalf("new secret has %d bytes", len(s1))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v, %v; want 0600", fi.Mode(), err)
	}
	s2, err := LoadSecret(path)
	if err != nil || string(s1) != string(s2) {
		t.Fatalf("reloaded secret differs (%v)", err)
	}
	for _, f := range []string{"%v", "%s", "%x", "%#v"} {
		if out := fmt.Sprintf(f, s1); strings.Contains(out, string(s1)) || strings.Contains(out, hex.EncodeToString(s1)) {
			t.Errorf("%s prints the secret: %s", f, out)
		}
	}
	// A damaged secret is refused with the file's name and left as it is.
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not a secret\n"), 0o600)
	if _, err := LoadSecret(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "not hex") {
		t.Errorf("damaged secret: %v", err)
	}
	if b, _ := os.ReadFile(bad); string(b) != "not a secret\n" {
		t.Error("damaged secret file was overwritten")
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abcd\n"), 0o600)
	if _, err := LoadSecret(short); err == nil || !strings.Contains(err.Error(), "2 bytes, want at least 16") {
		t.Errorf("short secret: %v", err)
	}
}

// Processes starting at once (the device and a joren command) agree on one
// secret: the first written wins, and nobody keeps one that was discarded.
func TestLoadSecretRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device-secret")
	const n = 12
	got := make([]Secret, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = LoadSecret(path) })
	}
	wg.Wait()
	onDisk, err := LoadSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("loader %d: %v", i, errs[i])
		} else if string(got[i]) != string(onDisk) {
			t.Errorf("loader %d uses a secret other than the file's", i)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"door-1", "Shop_12.a"} {
		if err := CheckName("site", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"":                      "site name is empty",
		"a/b":                   `has '/'`,
		"a+":                    `has '+'`,
		"#":                     `has '#'`,
		"café":                  `has 'é'`,
		strings.Repeat("x", 65): "longer than 64",
	} {
		if err := CheckName("site", bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
	if _, err := NewMaker(Config{Device: "d", Site: "s", Secret: Secret("short")}); err == nil || !strings.Contains(err.Error(), "secret has 5 bytes") {
		t.Errorf("short secret accepted: %v", err)
	}
}

// A box's default name comes from its host name and is always a valid
// device name.
func TestDeviceName(t *testing.T) {
	for _, c := range []struct{ host, want string }{
		{"joren-rpi4-64", "joren-rpi4-64"},
		{"door1.shop.example", "door1"},
		{"Shop Door #2", "Shop-Door--2"},
		{"店の入口", "----"},
		{"", "joren"},
		{".local", "joren"},
		{strings.Repeat("a", 80), strings.Repeat("a", 64)},
	} {
		got := DeviceName(c.host)
		if got != c.want {
			t.Errorf("DeviceName(%q) = %q, want %q", c.host, got, c.want)
		}
		if err := CheckName("device", got); err != nil {
			t.Errorf("DeviceName(%q) = %q: %v", c.host, got, err)
		}
	}
}
