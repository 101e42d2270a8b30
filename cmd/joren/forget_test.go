package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestForgetCommands(t *testing.T) {
	_, _, noFace := fixtures(t)
	dir := filepath.Join(t.TempDir(), "store")
	// Bona on two days (one visitor), Tzuyu, Jimin.
	visits := imageVisits(t, "bona.jpg", "bona3.jpg", "tzuyu.jpg", "jimin6.jpg")
	out, stderr, code := run(t, "replay", "--visits", visits, "--store", dir)
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	got := outcomes(t, out)
	if got[0].Visitor != got[1].Visitor || got[1].Days != 2 || got[2].Visitor == got[0].Visitor || got[3].Visitor == got[2].Visitor {
		t.Fatalf("setup decisions: %+v", got)
	}
	bona, tzuyu := got[0].Visitor, got[2].Visitor

	// A photo of nobody known deletes nothing.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"forget", "--image", noFace, "--store", dir}, exitFailure, "no face found: nothing deleted"},
		{[]string{"forget", "--image", face(t, "seulgi.jpg"), "--store", dir}, exitFailure, "matches no visitor"},
		{[]string{"forget", "--visitor", "p999999", "--store", dir}, exitFailure, "no visitor p999999"},
		{[]string{"forget", "--store", dir}, exitUsage, "give either --visitor ID or --image FILE"},
		{[]string{"forget", "--visitor", "p1", "--image", noFace, "--store", dir}, exitUsage, "give either"},
		{[]string{"forget", "--visitor", "p000001"}, exitUsage, "give --store DIR"},
	} {
		if _, stderr, code := run(t, tc.args...); code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if out, _, _ := run(t, "store", "export", "--store", dir); strings.Count(out, `"kind":"visitor"`) != 3 {
		t.Fatalf("something was deleted by a failed forget:\n%s", out)
	}

	// Bona's photo finds her visitor: gone with both visits.
	out, stderr, code = run(t, "forget", "--image", face(t, "bona3.jpg"), "--store", dir)
	if code != exitOK || !strings.Contains(out, "forgot visitor "+bona+": 2 visits on 2 days, 2 logged decisions deleted") {
		t.Errorf("forget --image: exit %d: %s %s", code, out, stderr)
	}
	out, _, code = run(t, "forget", "--visitor", tzuyu, "--store", dir)
	if code != exitOK || !strings.Contains(out, "forgot visitor "+tzuyu) {
		t.Errorf("forget --visitor: exit %d: %s", code, out)
	}
	out, _, _ = run(t, "store", "export", "--store", dir)
	if strings.Contains(out, bona) || strings.Contains(out, tzuyu) || strings.Count(out, `"kind":"visitor"`) != 1 {
		t.Errorf("after forgetting:\n%s", out)
	}
	if _, stderr, code := run(t, "store", "check", "--store", dir); code != exitOK {
		t.Errorf("check after forgetting: %s", stderr)
	}
	// Bona comes back: someone new, under a new id (ids are never reused).
	out, _, _ = run(t, "replay", "--visits", imageVisits(t, "bona.jpg"), "--store", dir)
	if back := outcomes(t, out); len(back) != 1 || back[0].Visitor == bona || back[0].Visitor == tzuyu || back[0].Visits != 1 {
		t.Errorf("Bona back: %+v", back)
	}
}
