package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/cluster/identity"
	"joren/cluster/month"
	"joren/vocab"
)

// TestReplayClockJump is the case that wiped a store, end to end: a store
// of a month of visitors, then one visit dated 2035 replayed into it. The
// visit is decided (its visitor recognised), but retention does not run as
// of 2035 and no day is counted: every visitor is still there. A visit
// dated before the store's history makes no regular with no days. Then
// the month goes on as if nothing had happened.
func TestReplayClockJump(t *testing.T) {
	file, visits := monthFile(t, 40, 5)
	dir := filepath.Join(t.TempDir(), "store")
	if _, stderr, code := run(t, "replay", "--visits", file, "--store", dir); code != exitOK {
		t.Fatalf("the month: exit %d: %s", code, stderr)
	}
	before := visitors(t, dir)
	// The person seen most, and a visit of theirs.
	count := map[string]int{}
	for _, v := range visits {
		count[v.Person]++
	}
	var regular month.Visit
	for _, v := range visits {
		if regular.Person == "" || count[v.Person] > count[regular.Person] {
			regular = v
		}
	}
	last := visits[len(visits)-1].Time
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"2035", time.Date(2035, 1, 1, 9, 0, 0, 0, time.UTC)},
		{"a year before the store's history", visits[0].Time.AddDate(-1, 0, 0)},
		{"40 days on", last.AddDate(0, 0, 40)},
	} {
		one := regular
		one.ID, one.Time, one.Person = "jump-"+strings.ReplaceAll(tc.name, " ", "-"), tc.at, ""
		path := filepath.Join(t.TempDir(), "one.jsonl")
		writeVisits(t, path, one)
		out, stderr, code := run(t, "replay", "--visits", path, "--store", dir, "--full")
		if code != exitOK || !strings.Contains(stderr, "clock: 1 visits were dated by a time the store does not trust") {
			t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
		}
		var d vocab.Decision
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("%s: %v: %s", tc.name, err, out)
		}
		if d.New || !d.Regular || d.BecameRegular || d.Days < 3 || !d.Time.Equal(tc.at) {
			t.Errorf("%s: the regular's visit decided as %+v", tc.name, d)
		}
		if n := visitors(t, dir); n != before {
			t.Errorf("%s: %d visitors left of %d", tc.name, n, before)
		}
	}
	// The store's own time goes on: trusted, counted as ever.
	next := regular
	next.ID, next.Time, next.Person = "next-day", last.Add(20*time.Hour), ""
	path := filepath.Join(t.TempDir(), "next.jsonl")
	writeVisits(t, path, next)
	out, stderr, code := run(t, "replay", "--visits", path, "--store", dir, "--full")
	var d vocab.Decision
	if code != exitOK || strings.Contains(stderr, "clock:") || json.Unmarshal([]byte(out), &d) != nil || !d.Regular {
		t.Errorf("the next day: exit %d, %s: %s", code, out, stderr)
	}
	if n := visitors(t, dir); n < before-before/10 {
		t.Errorf("%d visitors left of %d after the next day", n, before)
	}
}

func writeVisits(t *testing.T, path string, vs ...month.Visit) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := month.Write(f, vs); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// visitors counts a store's visitors (joren store stats --json).
func visitors(t *testing.T, dir string) int {
	t.Helper()
	out, stderr, code := run(t, "store", "stats", "--json", "--store", dir)
	var s identity.Stats
	if code != exitOK || json.Unmarshal([]byte(out), &s) != nil {
		t.Fatalf("store stats: exit %d: %s", code, stderr)
	}
	return s.Identities
}
