package event

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseCommand: no payload makes ParseCommand panic, and a command it
// accepts is one head office could have made: the right schema, an id, a
// time within the skew, a known command with what it needs, a signature
// that verifies under the key, and no field that could shift another in
// the signed text (which joins them with newlines).
func FuzzParseCommand(f *testing.F) {
	key := []byte("head-office-key")
	now := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	for _, c := range []Command{
		{Schema: 1, ID: "c1", Time: now.Add(-time.Minute).Format(time.RFC3339), Name: Forget, Visitor: strings.Repeat("0a", 16), Period: "2026-05"},
		{Schema: 1, ID: "01JC0000000000000000000000", Time: now.Format(time.RFC3339Nano), Name: PublishStats},
		{Schema: 1, ID: "c\n2", Time: now.Format(time.RFC3339), Name: PublishStats, Period: "x\ny"},
		{Schema: 2, ID: "c", Time: now.Format(time.RFC3339), Name: "reboot"},
	} {
		c.Sign(key)
		b, _ := jsonMarshal(c)
		f.Add([]byte(b))
	}
	for _, s := range []string{"", "null", "[]", "{}", `{"schema":1}{"schema":1}`, `{"schema":"1"}`,
		`{"schema":1,"id":"c","time":"2026-05-14T10:00:00Z","command":"stats","signature":"zz"}`,
		`{"schema":1e400}`, "\xff\xfe{", `{"schema":1,"admin":true}`} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/commands/*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := ParseCommand(payload, key, now, 5*time.Minute)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error that says nothing")
			}
			return
		}
		if c.Schema != CommandSchema || c.ID == "" || len(c.ID) > 64 {
			t.Fatalf("accepted schema %d, id %q", c.Schema, c.ID)
		}
		at, err := time.Parse(time.RFC3339Nano, c.Time)
		if err != nil || at.Sub(now) > 5*time.Minute || now.Sub(at) > 5*time.Minute {
			t.Fatalf("accepted time %q", c.Time)
		}
		switch c.Name {
		case PublishStats:
		case Forget:
			if !isPseudonym(c.Visitor) || c.Period == "" {
				t.Fatalf("accepted forget of %q in %q", c.Visitor, c.Period)
			}
		default:
			t.Fatalf("accepted command %q", c.Name)
		}
		want := c
		want.Sign(key)
		if want.Signature != c.Signature {
			t.Fatalf("accepted signature %q, want %q", c.Signature, want.Signature)
		}
		for _, field := range []string{c.ID, c.Time, c.Name, c.Visitor, c.Period} {
			if strings.ContainsAny(field, "\n\r") {
				t.Fatalf("accepted a field with a line break: %q", field)
			}
		}
	})
}

// brokenCommands are the payloads of testdata/commands and what rejects
// each. They are FuzzParseCommand's seeds too.
var brokenCommands = map[string]string{
	"array.json":                    "not a command object",
	"binary-garbage.json":           "not a command object",
	"deeply-nested.json":            "not a command object",
	"empty.json":                    "not a command object",
	"forget-visitor-uppercase.json": "forget needs a visitor pseudonym",
	"forget-without-visitor.json":   "forget needs a visitor pseudonym",
	"id-too-long.json":              "id missing or longer than 64 characters",
	"id-with-newline.json":          "control characters",
	"null.json":                     "schema 0, want 1",
	"period-with-newline.json":      "control characters",
	"schema-huge.json":              "not a command object",
	"schema-string.json":            "not a command object",
	"signature-not-hex.json":        "signature does not verify",
	"signature-short.json":          "signature does not verify",
	"time-far-future.json":          "signature does not verify",
	"time-not-rfc3339.json":         `time "yesterday" is not RFC 3339`,
	"trailing-garbage.json":         "trailing data after the command object",
	"two-objects.json":              "trailing data after the command object",
	"unknown-command.json":          `unknown command "reboot"`,
	"unknown-field.json":            `unknown field "admin"`,
	"unsigned.json":                 "signature does not verify",
}

func TestBrokenCommands(t *testing.T) {
	files, _ := filepath.Glob("testdata/commands/*")
	if len(files) != len(brokenCommands) {
		t.Errorf("%d files in testdata/commands, %d expected", len(files), len(brokenCommands))
	}
	now := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			want, ok := brokenCommands[filepath.Base(p)]
			if !ok {
				t.Fatal("no expectation for this file")
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseCommand(b, []byte("head-office-key"), now, 5*time.Minute); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
}
