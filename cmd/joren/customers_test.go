package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"joren/appliance/control"
	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vocab"
)

// decisions parses the lines of `replay --full`.
func decisions(t *testing.T, out string) []vocab.Decision {
	t.Helper()
	var ds []vocab.Decision
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d vocab.Decision
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		ds = append(ds, d)
	}
	return ds
}

// TestConsentWorkflow: a shop that requires consent. An encrypted store in
// consent mode; a customer enrols from real photos; at the door another
// photo of her is recognised, a stranger is not remembered; her removal
// deletes everything. Without the key, or with another, nothing opens.
func TestConsentWorkflow(t *testing.T) {
	notImage, _, noFace := fixtures(t)
	dir := filepath.Join(t.TempDir(), "data", "store")
	boot := filepath.Join(t.TempDir(), "boot")
	os.Mkdir(boot, 0o700)
	key := filepath.Join(boot, "store.key")
	sk := []string{"--store", dir, "--key-file", key}
	with := func(args ...string) []string { return append(args, sk...) }

	out, stderr, code := run(t, with("customers", "mode", "consent")...)
	if code != exitOK || !strings.Contains(out, "store "+dir+" made in consent mode") {
		t.Fatalf("new consent store: exit %d: %s %s", code, out, stderr)
	}
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 || !strings.Contains(stderr, "made a new store key") {
		t.Errorf("key file: %v %v; stderr %s", st, err, stderr)
	}
	out, stderr, code = run(t, with("customers", "add", "Jimin", face(t, "jimin5.jpg"), face(t, "jimin7.jpg"), "--note", "signed form 7")...)
	if code != exitOK || !strings.Contains(out, "customer Jimin enrolled: 2 face(s), consent recorded") || strings.Contains(out, "counting mode") {
		t.Fatalf("add: exit %d: %s %s", code, out, stderr)
	}
	// Bad images: nothing enrolled, the error names them.
	for _, img := range []string{noFace, notImage} {
		_, stderr, code := run(t, with("customers", "add", "Yujin", face(t, "yujin.jpg"), img)...)
		if code != exitFailure || !strings.Contains(stderr, "nothing enrolled") || !strings.Contains(stderr, filepath.Base(img)) {
			t.Errorf("add with %s: exit %d: %s", img, code, stderr)
		}
	}

	// At the door, from tomorrow on (the store's clock guard holds visits
	// dated before its history, which starts with her enrolment now):
	// Jimin (a photo she did not enrol) on three days, and two strangers
	// between.
	visits := imageVisitsFrom(t, testDay(21), "jimin6.jpg", "tzuyu.jpg", "jimin6.jpg", "bona3.jpg", "jimin6.jpg")
	out, stderr, code = run(t, with("replay", "--visits", visits, "--mode", "consent", "--full")...)
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	ds := decisions(t, out)
	if len(ds) != 5 {
		t.Fatalf("%d decisions", len(ds))
	}
	for _, i := range []int{1, 3} {
		if d := ds[i]; !d.Unknown || d.Visitor != "" || d.Staff != "" || d.New {
			t.Errorf("a stranger, visit %d: %+v", i+1, d)
		}
	}
	for n, i := range []int{0, 2, 4} {
		if d := ds[i]; d.Unknown || d.Visitor == "" || d.Visitor != ds[0].Visitor || d.Days != n+1 {
			t.Errorf("Jimin, visit %d: %+v", i+1, d)
		}
	}
	if !ds[4].Regular || !ds[4].BecameRegular {
		t.Errorf("Jimin is not a regular after three days: %+v", ds[4])
	}
	out, _, _ = run(t, with("store", "stats", "--json")...)
	var s identity.Stats
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Mode != "consent" || s.Cipher != store.Cipher || s.Customers != 1 || s.Identities != 1 || s.Passages != 2 {
		t.Errorf("stats: %+v %v", s, err)
	}
	// The list says her status as of now: her three days are still to
	// come (tomorrow on), so she is not a regular yet today.
	out, _, _ = run(t, with("customers", "list")...)
	if !strings.Contains(out, "Jimin") || !strings.Contains(out, "signed form 7") || !strings.Contains(out, testDay(25).Format(time.DateOnly)) {
		t.Errorf("list:\n%s", out)
	}
	out, _, _ = run(t, with("customers", "list", "--json")...)
	var c control.Customer
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Name != "Jimin" || c.Faces != 2 || c.Visits != 3 || c.Days != 3 || c.Regular || !c.LastVisit.Equal(testDay(25)) || c.Visitor != ds[0].Visitor {
		t.Errorf("list --json: %s (%v)", out, err)
	}

	// The key guards the store.
	other := filepath.Join(boot, "other.key")
	os.WriteFile(other, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"customers", "list", "--store", dir}, "the store at " + dir + " is encrypted: give its key file"},
		{[]string{"customers", "list", "--store", dir, "--key-file", filepath.Join(boot, "lost.key")}, "key file " + filepath.Join(boot, "lost.key") + " is missing"},
		{[]string{"store", "stats", "--store", dir, "--key-file", other}, "key file " + other + " is not the key it was encrypted with"},
	} {
		if _, stderr, code := run(t, tc.args...); code != exitFailure || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
	// The environment names the key as well as the flag.
	t.Setenv("JOREN_STORE_KEY_FILE", key)
	if out, stderr, code := run(t, "customers", "list", "--store", dir); code != exitOK || !strings.Contains(out, "Jimin") {
		t.Errorf("key from JOREN_STORE_KEY_FILE: exit %d: %s %s", code, out, stderr)
	}
	// A counting replay of a consent store is refused, saying how to
	// switch.
	if _, stderr, code := run(t, with("replay", "--visits", visits, "--mode", "counting")...); code != exitFailure || !strings.Contains(stderr, "joren customers mode counting") {
		t.Errorf("counting replay of a consent store: exit %d: %s", code, stderr)
	}

	out, stderr, code = run(t, with("customers", "remove", "Jimin")...)
	if code != exitOK || !strings.Contains(out, "customer Jimin removed: enrolment, 3 visits on 3 days and 3 logged decisions deleted; store file compacted") {
		t.Fatalf("remove: exit %d: %s %s", code, out, stderr)
	}
	out, _, _ = run(t, with("store", "stats", "--json")...)
	json.Unmarshal([]byte(out), &s)
	if s.Identities != 0 || s.Customers != 0 || s.LoggedVisits != 2 {
		t.Errorf("after removal: %+v", s)
	}
	if out, _, _ := run(t, with("store", "export")...); strings.Contains(out, "Jimin") || strings.TrimSpace(out) != "" {
		t.Errorf("export after removal: %s", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{with("customers", "remove", "Jimin"), exitFailure, `no customer named "Jimin"`},
		{with("customers", "add", "Jimin"), exitUsage, "needs a name and at least one image"},
		{with("customers", "add", " ", face(t, "bona.jpg")), exitUsage, "customer name is empty"},
		{with("customers", "mode", "everyone"), exitUsage, `mode "everyone": want counting or consent`},
		{[]string{"customers", "list"}, exitUsage, "give --store DIR"},
		{with("replay", "--visits", visits, "--mode", "all"), exitUsage, "--mode: mode \"all\""},
	} {
		if _, stderr, code := run(t, tc.args...); code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if out, _, code := run(t, with("store", "check")...); code != exitOK || !strings.Contains(out, "ok") {
		t.Errorf("check: %d %s", code, out)
	}
}

// TestSwitchToConsent: a counting store becomes a consent store only when
// asked to forget the others; an enrolled regular keeps their history.
func TestSwitchToConsent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	visits := imageVisits(t, "tzuyu.jpg", "jimin6.jpg", "bona3.jpg", "tzuyu.jpg")
	if _, stderr, code := run(t, "replay", "--visits", visits, "--store", dir); code != exitOK {
		t.Fatalf("replay: %s", stderr)
	}
	out, stderr, code := run(t, "customers", "add", "Tzuyu", face(t, "tzuyu.jpg"), "--store", dir)
	if code != exitOK || !strings.Contains(out, "Tzuyu was already known as visitor p000001 (2 visits on 2 days): that history is now theirs") || !strings.Contains(out, "counting mode") {
		t.Fatalf("add: exit %d: %s %s", code, out, stderr)
	}
	_, stderr, code = run(t, "customers", "mode", "consent", "--store", dir)
	if code != exitUsage || !strings.Contains(stderr, "forgets 2 visitor(s) who did not enrol") || !strings.Contains(stderr, "--forget-others") {
		t.Errorf("switch without confirmation: exit %d: %s", code, stderr)
	}
	if out, _, _ := run(t, "customers", "mode", "--store", dir); !strings.Contains(out, "is in counting mode (1 enrolled customers)") {
		t.Errorf("mode after a refused switch: %s", out)
	}
	out, stderr, code = run(t, "customers", "mode", "consent", "--forget-others", "--store", dir)
	if code != exitOK || !strings.Contains(out, "now in consent mode: 2 visitor(s) who did not enrol forgotten, 1 enrolled customer(s) kept") || !strings.Contains(out, "store.mode: consent") {
		t.Fatalf("switch: exit %d: %s %s", code, out, stderr)
	}
	// Tzuyu's history went on; Jimin is a stranger now.
	more := imageVisitsFrom(t, testDay(8), "tzuyu.jpg", "jimin6.jpg")
	os.WriteFile(more, []byte(strings.NewReplacer(`"i01"`, `"j01"`, `"i02"`, `"j02"`).Replace(mustRead(t, more))), 0o644)
	out, stderr, code = run(t, "replay", "--visits", more, "--store", dir, "--full")
	if code != exitOK {
		t.Fatalf("replay after the switch: %s", stderr)
	}
	// Tzuyu's third day (test days 0, 3 and 8) makes her a regular.
	ds := decisions(t, out)
	if len(ds) != 2 || ds[0].Visitor != "p000001" || ds[0].Days != 3 || !ds[0].BecameRegular || !ds[1].Unknown {
		t.Errorf("after the switch: %+v", ds)
	}
	if out, _, code := run(t, "customers", "mode", "counting", "--store", dir); code != exitOK || !strings.Contains(out, "now in counting mode") || !strings.Contains(out, "1 enrolled customer(s) kept") {
		t.Errorf("switch back: %d %s", code, out)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
