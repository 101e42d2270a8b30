package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vocab"
)

func TestStoreCommands(t *testing.T) {
	file, visits := monthFile(t, 40, 6)
	dir := filepath.Join(t.TempDir(), "store")
	if _, stderr, code := run(t, "replay", "--visits", file, "--store", dir, "--tz", "Asia/Tokyo"); code != exitOK {
		t.Fatalf("replay: %s", stderr)
	}
	out, _, code := run(t, "store", "stats", "--store", dir)
	for _, want := range []string{"model", vocab.DlibResNetName + "@", "Asia/Tokyo", "visitors", "regulars now", "logged visits  "} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = run(t, "store", "stats", "--store", dir, "--json")
	var s identity.Stats
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Identities < 30 || s.EverRegular == 0 || s.LoggedVisits != len(visits) || s.Bytes <= 0 || s.FileSize < s.Bytes || s.LastMaintenance == "" || s.Dim != vocab.DlibResNetDim {
		t.Errorf("stats %+v", s)
	}
	// Every key is snake_case, the limits' too.
	if s.Limits != store.DefaultLimits() || !strings.Contains(out, `"limits":{"max_identities":50000,`) || strings.Contains(out, "MaxIdentities") {
		t.Errorf("stats --json limits: %s", out)
	}

	// Export: no descriptors unless asked.
	out, _, code = run(t, "store", "export", "--store", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != s.Identities || strings.Contains(out, "descriptors") {
		t.Fatalf("export: exit %d, %d lines for %d identities", code, len(lines), s.Identities)
	}
	var l identity.ExportLine
	if err := json.Unmarshal([]byte(lines[0]), &l); err != nil || l.Kind != "visitor" || l.Visitor == "" || l.Visits < 1 || len(l.Days) < 1 || l.Exemplars < 1 {
		t.Errorf("export line %s: %v", lines[0], err)
	}
	out, _, _ = run(t, "store", "export", "--store", dir, "--with-descriptors")
	json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &l)
	if len(l.Descriptors) != l.Exemplars || len(l.Descriptors[0]) != vocab.DlibResNetDim || !strings.HasPrefix(l.Model, vocab.DlibResNetName+"@") {
		t.Errorf("export with descriptors: %d descriptors for %d exemplars, model %q", len(l.Descriptors), l.Exemplars, l.Model)
	}

	if out, stderr, code := run(t, "store", "check", "--store", dir); code != exitOK || !strings.Contains(out, ": ok") {
		t.Errorf("check: exit %d: %s %s", code, out, stderr)
	}
	if out, stderr, code := run(t, "store", "maintain", "--store", dir); code != exitOK || !strings.Contains(out, "merged") {
		t.Errorf("maintain: exit %d: %s %s", code, out, stderr)
	}

	// A damaged file is reported, not trusted.
	bad := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(dir, store.FileName))
	for i := len(b) / 3; i < len(b)/3+4096 && i < len(b); i++ {
		b[i] ^= 0x5a
	}
	os.WriteFile(filepath.Join(bad, store.FileName), b, 0o600)
	if _, stderr, code := run(t, "store", "check", "--store", bad); code != exitFailure || stderr == "" {
		t.Errorf("check of a damaged store: exit %d: %s", code, stderr)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"store", "stats", "--store", t.TempDir()}, exitFailure, "no identity store in"},
		{[]string{"store", "stats"}, exitUsage, "give --store DIR"},
		{[]string{"store", "export", "extra", "--store", dir}, exitUsage, "needs no arguments"},
	} {
		if _, stderr, code := run(t, tc.args...); code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
