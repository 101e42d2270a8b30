package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"joren/cluster/store"
	"joren/internal/boltfile"
	"joren/internal/testenv"
	"joren/sync/outbox"
	"joren/sync/publish"
)

// runChild runs joren as a child process (the test binary standing in for
// it): a damaged file must end with an error, and a crash must fail the
// test, not end it.
func runChild(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := testenv.Self(t, append([]string{"--models", testenv.Models(t)}, args...)...)
	cmd.Env = append(os.Environ(), "JOREN_RUN_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	for _, crash := range []string{"panic:", "goroutine ", "fatal error", "SIGBUS", "SIGSEGV", "bad file descriptor"} {
		if strings.Contains(errb.String(), crash) {
			t.Fatalf("joren %s crashed (%q):\n%s", strings.Join(args, " "), crash, errb.String())
		}
	}
	if code < 0 {
		t.Fatalf("joren %s died of a signal:\n%s", strings.Join(args, " "), errb.String())
	}
	return out.String(), errb.String(), code
}

// TestDamagedStoreCommands damages a store made by replay every way the
// issue found joren crashing (cut short, emptied), plain and encrypted:
// every command says the store is damaged and exits 1, salvage copies out
// what still reads and leaves the store as it is.
func TestDamagedStoreCommands(t *testing.T) {
	file, _ := monthFile(t, 40, 6)
	for _, encrypted := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "encrypted"}[encrypted]
		dir := filepath.Join(t.TempDir(), "store")
		key := []string{}
		if encrypted {
			key = []string{"--key-file", filepath.Join(t.TempDir(), "store.key")}
		}
		if _, stderr, code := run(t, append([]string{"replay", "--visits", file, "--store", dir}, key...)...); code != exitOK {
			t.Fatalf("%s: replay: %s", name, stderr)
		}
		path := filepath.Join(dir, store.FileName)
		info, err := boltfile.Verify(path)
		if err != nil {
			t.Fatal(err)
		}
		good, _ := os.ReadFile(path)
		for _, damage := range []struct {
			name string
			b    []byte
		}{
			{"cut short", good[:int(info.Pages)*info.PageSize*2/3]},
			{"cut at a page", good[:int(info.Pages-1)*info.PageSize]},
			{"empty", nil},
		} {
			what := name + ", " + damage.name
			bad := filepath.Join(t.TempDir(), "store")
			os.Mkdir(bad, 0o700)
			badPath := filepath.Join(bad, store.FileName)
			os.WriteFile(badPath, damage.b, 0o600)
			os.WriteFile(badPath+".erased", nil, 0o600)
			for _, args := range [][]string{
				{"store", "check", "--store", bad},
				{"store", "stats", "--store", bad},
				{"replay", "--visits", file, "--store", bad},
			} {
				out, stderr, code := runChild(t, append(args, key...)...)
				if code != exitFailure || !strings.Contains(stderr, "is damaged") || !strings.Contains(stderr, bad) {
					t.Errorf("%s: %s: exit %d:\n%s%s", what, args[1], code, out, stderr)
				}
				if args[1] == "check" && !strings.Contains(out, "is damaged:\n  ") {
					t.Errorf("%s: check does not list the problems:\n%s", what, out)
				}
			}
			if after, _ := os.ReadFile(badPath); !bytes.Equal(after, damage.b) {
				t.Errorf("%s: the damaged store was changed", what)
			}
			newDir := filepath.Join(t.TempDir(), "salvaged")
			out, stderr, code := runChild(t, append([]string{"store", "salvage", "--store", bad, "--out", newDir}, key...)...)
			if code != exitOK || !strings.Contains(out, "salvaged into "+newDir) || !strings.Contains(out, "is left as it is") {
				t.Errorf("%s: salvage: exit %d:\n%s%s", what, code, out, stderr)
				continue
			}
			t.Logf("%s: %s", what, strings.SplitN(out, "\n", 3)[1])
			if after, _ := os.ReadFile(badPath); !bytes.Equal(after, damage.b) {
				t.Errorf("%s: salvage changed the damaged store", what)
			}
			if out, stderr, code := runChild(t, append([]string{"store", "check", "--store", newDir}, key...)...); code != exitOK || !strings.Contains(out, ": ok") {
				t.Errorf("%s: the salvaged store: exit %d: %s%s", what, code, out, stderr)
			}
		}
		// repair is salvage's other name; the new directory must be new.
		if _, stderr, code := run(t, append([]string{"store", "repair", "--store", dir, "--out", dir}, key...)...); code != exitFailure || !strings.Contains(stderr, "already holds an identity store") {
			t.Errorf("%s: repair into the store itself: exit %d: %s", name, code, stderr)
		}
	}
}

// TestDamagedOutboxCommands: events status on a damaged outbox says so and
// exits 1; events salvage copies out its events.
func TestDamagedOutboxCommands(t *testing.T) {
	state := t.TempDir()
	path := filepath.Join(state, publish.OutboxFile)
	box, err := outbox.Open(path, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		box.Put([]outbox.Record{{ID: "e" + strings.Repeat("0", i%7) + string(rune('a'+i%26)), Topic: "joren/shop/door/visit", Payload: bytes.Repeat([]byte("x"), 250)}}, nil)
	}
	box.Close()
	info, _ := boltfile.Verify(path)
	good, _ := os.ReadFile(path)
	for _, damage := range []struct {
		name string
		b    []byte
	}{
		{"cut short", good[:int(info.Pages-1)*info.PageSize]},
		{"empty", nil},
	} {
		bad := t.TempDir()
		badPath := filepath.Join(bad, publish.OutboxFile)
		os.WriteFile(badPath, damage.b, 0o600)
		out, stderr, code := runChild(t, "events", "status", "--state", bad)
		if code != exitFailure || !strings.Contains(stderr, "is damaged") || !strings.Contains(stderr, "joren events salvage") {
			t.Errorf("%s: events status: exit %d:\n%s%s", damage.name, code, out, stderr)
		}
		newFile := filepath.Join(t.TempDir(), "outbox.db")
		out, stderr, code = runChild(t, "events", "salvage", "--state", bad, "--out", newFile)
		if code != exitOK || !strings.Contains(out, "salvaged into") {
			t.Errorf("%s: events salvage: exit %d:\n%s%s", damage.name, code, out, stderr)
			continue
		}
		t.Logf("%s: %s", damage.name, out)
		if after, _ := os.ReadFile(badPath); !bytes.Equal(after, damage.b) {
			t.Errorf("%s: salvage changed the damaged outbox", damage.name)
		}
		os.Rename(newFile, badPath)
		if out, stderr, code := runChild(t, "events", "status", "--state", bad); code != exitOK || !strings.Contains(out, "waiting") {
			t.Errorf("%s: status of the salvaged outbox: exit %d: %s%s", damage.name, code, out, stderr)
		}
	}
}
