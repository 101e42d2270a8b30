package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"joren/cluster"
	"joren/cluster/month"
	"joren/cluster/store"
	"joren/internal/testenv"
	"joren/vocab"
)

// devPeople reads the shared labelled descriptors, by person.
func devPeople(t *testing.T) ([]string, map[string][][]float32) {
	t.Helper()
	f, err := os.Open(testenv.DevDescriptors(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := cluster.ReadEmbeddings(f, f.Name(), 0)
	if err != nil {
		t.Fatal(err)
	}
	names, by, err := month.People(es)
	if err != nil {
		t.Fatal(err)
	}
	return names, by
}

// monthFile writes a synthetic month of the first n shared people.
func monthFile(t *testing.T, n int, seed uint64) (string, []month.Visit) {
	t.Helper()
	names, by := devPeople(t)
	visits, err := month.Generate(names[:min(n, len(names))], by, month.DefaultConfig(seed))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "month.jsonl")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := month.Write(fh, visits); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	return path, visits
}

var outcomeLine = regexp.MustCompile(`^\{"visit":"[vi]\d+","visitor":"p\d{6}","visits":\d+,"days":\d+,"regular":(true|false)\}$`)

func outcomes(t *testing.T, out string) []month.Outcome {
	t.Helper()
	var os []month.Outcome
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		if !outcomeLine.MatchString(l) {
			t.Fatalf("output line %q is not {visit, visitor, visits, days, regular}", l)
		}
		var o month.Outcome
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatal(err)
		}
		os = append(os, o)
	}
	return os
}

func TestReplay(t *testing.T) {
	file, visits := monthFile(t, 30, 1)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	out, stderr, code := run(t, "replay", "--visits", file, "--score")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := outcomes(t, out)
	if len(got) != len(visits) {
		t.Fatalf("%d lines for %d visits", len(got), len(visits))
	}
	for i, o := range got {
		if o.Visit != visits[i].ID || o.Regular != (o.Days >= 3) || o.Days < 1 || o.Visits < o.Days {
			t.Errorf("line %d: %+v", i+1, o)
		}
	}
	// The score of the labelled month, and the bar on it.
	m := regexp.MustCompile(`harmonic mean (0\.\d+): .* identity BCubed F1 (0\.\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no score on stderr: %s", stderr)
	}
	var h, id float64
	fmt.Sscan(m[1], &h)
	fmt.Sscan(m[2], &id)
	if h < 0.6 || id < 0.65 {
		t.Errorf("score %s", m[0])
	}
	// The temporary store is gone.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// --full prints whole decisions; a synthetic month from --month is
	// the same as the file written by --write-month.
	written := filepath.Join(t.TempDir(), "m.jsonl")
	out, stderr, code = run(t, "replay", "--month", testenv.DevDescriptors(t), "--seed", "4", "--write-month", written, "--full")
	if code != exitOK || !strings.Contains(stderr, "harmonic mean") {
		t.Fatalf("--month: exit %d: %s", code, stderr)
	}
	first := strings.SplitN(out, "\n", 2)[0]
	var d vocab.Decision
	if err := json.Unmarshal([]byte(first), &d); err != nil || d.Visitor == "" || !d.New || d.Time.IsZero() || d.Confidence <= 0 {
		t.Errorf("--full line %q: %+v %v", first, d, err)
	}
	again, _, _ := run(t, "replay", "--visits", written, "--full")
	if again != out {
		t.Error("replaying the written month gives other decisions")
	}
}

// TestReplayResume: a replay into a kept store, stopped half way (here: a
// file cut short) and run again on the whole file, prints exactly what one
// uninterrupted replay prints.
func TestReplayResume(t *testing.T) {
	file, visits := monthFile(t, 25, 2)
	whole, _, code := run(t, "replay", "--visits", file)
	if code != exitOK {
		t.Fatal(code)
	}
	b, _ := os.ReadFile(file)
	lines := strings.SplitAfter(string(b), "\n")
	half := filepath.Join(t.TempDir(), "half.jsonl")
	os.WriteFile(half, []byte(strings.Join(lines[:len(visits)/2], "")), 0o644)
	dir := filepath.Join(t.TempDir(), "store")
	first, _, code := run(t, "replay", "--visits", half, "--store", dir)
	if code != exitOK || len(outcomes(t, first)) != len(visits)/2 {
		t.Fatalf("first half: exit %d", code)
	}
	second, stderr, code := run(t, "replay", "--visits", file, "--store", dir)
	if code != exitOK || !strings.Contains(stderr, fmt.Sprintf("resumed: %d visits were decided before", len(visits)/2)) {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if second != whole {
		t.Errorf("resumed replay differs from an uninterrupted one")
	}
	// Settings may not change what the store counts in.
	if _, stderr, code := run(t, "replay", "--visits", file, "--store", dir, "--tz", "Asia/Tokyo"); code != exitFailure || !strings.Contains(stderr, "counts days in time zone UTC, not Asia/Tokyo") {
		t.Errorf("another zone: exit %d: %s", code, stderr)
	}
}

func TestReplayBadInputs(t *testing.T) {
	file, visits := monthFile(t, 10, 3)
	b, _ := os.ReadFile(file)
	lines := strings.SplitAfter(string(b), "\n")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	// A bad line after three good ones: those three are decided, stored
	// and printed; the error names the line.
	broken := write("broken.jsonl", strings.Join(lines[:3], "")+`{"visit":"x","time":"2026-11-30T10:00:00Z","descriptors":[[0.1,0.2]]}`+"\n"+strings.Join(lines[3:], ""))
	wide := write("wide.jsonl", `{"visit":"w","time":"2026-11-30T10:00:00Z","descriptors":[[`+strings.Repeat("0.1,", 511)+`0.1]]}`+"\n")
	otherModel := write("model.jsonl", strings.Replace(lines[0], `"descriptors"`, `"model":"arcface_r100@0123","descriptors"`, 1))
	// The second visit again after the third: an error naming both lines.
	repeated := write("repeated.jsonl", strings.Join(lines[:3], "")+lines[1]+strings.Join(lines[3:], ""))
	long := write("long.jsonl", lines[0]+`{"visit":"l","time":"2026-11-30T10:00:00Z","descriptors":[[`+strings.Repeat("0.1,", 1<<20)+"0.1]]}\n")
	unlabelled := write("unlabelled.jsonl", `{"descriptor":[`+strings.Repeat("0.1,", vocab.DlibResNetDim-1)+"0.1]}\n")
	store1 := filepath.Join(t.TempDir(), "s")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing file", []string{"replay", "--visits", "/nonexistent.jsonl"}, exitFailure, "/nonexistent.jsonl: no such file"},
		{"bad line", []string{"replay", "--visits", broken, "--store", store1}, exitFailure, fmt.Sprintf("broken.jsonl:4: visit x: descriptor 1 has 2 values, want %d", vocab.DlibResNetDim)},
		{"512 values", []string{"replay", "--visits", wide}, exitFailure, fmt.Sprintf("wide.jsonl:1: visit w: descriptor 1 has 512 values, want %d", vocab.DlibResNetDim)},
		{"other model", []string{"replay", "--visits", otherModel}, exitFailure, "model.jsonl:1: visit v00001: descriptors of model arcface_r100@0123, but the store holds model " + vocab.DlibResNetName + "@"},
		{"repeated id", []string{"replay", "--visits", repeated}, exitFailure, "repeated.jsonl:4: visit v00002 again: line 2 has the same id"},
		{"long line", []string{"replay", "--visits", long}, exitFailure, fmt.Sprintf("long.jsonl:2: the line is %d bytes long, over the limit of 4194304 bytes (4 MiB)", 4<<20+65)},
		{"unlabelled month", []string{"replay", "--month", unlabelled}, exitFailure, `unlabelled.jsonl:1: no "person" label`},
		{"no input", []string{"replay"}, exitUsage, "give one of --visits FILE"},
		{"two inputs", []string{"replay", "--visits", file, "--month", file}, exitUsage, "give one of"},
		{"argument", []string{"replay", file}, exitUsage, "replay takes no arguments"},
		{"regular days", []string{"replay", "--visits", file, "--regular-days", "0"}, exitUsage, "regular days must be at least 1"},
		{"window", []string{"replay", "--visits", file, "--window", "400"}, exitUsage, "window must be 1 to 366 days"},
		{"zone", []string{"replay", "--visits", file, "--tz", "Mars/Olympus"}, exitUsage, `--tz "Mars/Olympus": not a time zone`},
		{"scorer", []string{"replay", "--visits", file, "--scorer", "magic"}, exitUsage, "want auto, plda or distance"},
		{"unlabelled score", []string{"replay", "--visits", broken[:0] + wide, "--score"}, exitFailure, "has 512 values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
			if (tc.name == "bad line" || tc.name == "repeated id") && len(outcomes(t, out)) != 3 {
				t.Errorf("%d lines printed before the bad one, want 3", len(outcomes(t, out)))
			}
		})
	}
	// What was decided before the bad line is kept: replaying the good
	// file resumes after it.
	_, stderr, code := run(t, "replay", "--visits", file, "--store", store1)
	if code != exitOK || !strings.Contains(stderr, "resumed: 3 visits were decided before") {
		t.Errorf("after fixing the file: exit %d: %s", code, stderr)
	}
	// Unlabelled visits cannot be scored.
	if _, stderr, code := run(t, "replay", "--visits", write("plain.jsonl", strings.ReplaceAll(string(b), `"person":`, `"who":`)), "--score"); code != exitFailure || !strings.Contains(stderr, `has no "person"`) {
		t.Errorf("scoring unlabelled visits: exit %d: %s", code, stderr)
	}
	_ = visits
}

// TestReplaySchemaAndModel: a store of a newer schema, or of another
// model, is refused with a message saying what to do.
func TestReplayStoreRefused(t *testing.T) {
	file, _ := monthFile(t, 5, 4)
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{Model: vocab.Model{Name: "arcface_r100", Dim: 512, Metric: vocab.Cosine, Threshold: 0.6}, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, stderr, code := run(t, "replay", "--visits", file, "--store", dir); code != exitFailure || !strings.Contains(stderr, fmt.Sprintf("descriptor 1 has %d values, want 512", vocab.DlibResNetDim)) {
		t.Errorf("store of another model: exit %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, "staff", "add", "Ann", face(t, "bona.jpg"), "--store", dir); code != exitFailure || !strings.Contains(stderr, "re-enrol staff and start a new store") {
		t.Errorf("staff of another model: exit %d: %s", code, stderr)
	}
}

// TestReplayCrash kills replaying processes with SIGKILL at random
// moments, then checks the store: never corrupt, every decision printed
// before the kill is in it as printed, and replay resumes, ending with the
// output of an uninterrupted replay.
// The store is plain, and encrypted: sealing must not open a window
// either.
func TestReplayCrash(t *testing.T) {
	t.Run("plain", func(t *testing.T) { replayCrash(t, "") })
	t.Run("encrypted", func(t *testing.T) { replayCrash(t, filepath.Join(t.TempDir(), "store.key")) })
}

func replayCrash(t *testing.T, keyFile string) {
	file, visits := monthFile(t, 70, 5)
	models := testenv.Models(t)
	want, _, code := run(t, "replay", "--visits", file)
	if code != exitOK {
		t.Fatal(code)
	}
	wantLines := strings.SplitAfter(want, "\n")
	dir := filepath.Join(t.TempDir(), "store")
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	kills, midway, progress := 0, 0, 0
	for attempt := 0; ; attempt++ {
		if attempt == 12 {
			t.Fatalf("replay did not finish in 12 runs")
		}
		cmd := testenv.Self(t, "--models", models, "replay", "--visits", file, "--store", dir, "--key-file", keyFile, "--log-level", "error")
		cmd.Env = append(os.Environ(), "JOREN_RUN_MAIN=1")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill at a random moment in the first eight runs: after a random
		// number of printed lines beyond those of earlier runs, plus a
		// random delay (within a commit, a maintenance pass, or between
		// lines). Then let one run finish.
		target := -1
		if attempt < 8 {
			target = progress + 1 + rng.IntN(max(1, (len(visits)-progress)/3))
		}
		printed := make(chan []string)
		reached := make(chan struct{})
		go func() {
			var ls []string
			sc := bufio.NewScanner(stdout)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				ls = append(ls, sc.Text()+"\n")
				if len(ls) == target {
					close(reached)
				}
			}
			printed <- ls
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var runErr error
		killed := false
		if target > 0 {
			select {
			case runErr = <-done:
			case <-reached:
				// The kill lands up to 40 ms after the target line, unless
				// the run ends first (then it is a finished run, not a
				// kill).
				select {
				case runErr = <-done:
				case <-time.After(time.Duration(rng.IntN(40)) * time.Millisecond):
					cmd.Process.Signal(syscall.SIGKILL)
					runErr = <-done
					killed = true
					kills++
				}
			}
		} else {
			runErr = <-done
		}
		lines := <-printed
		if killed && len(lines) > 0 && len(lines) < len(visits) {
			midway++
		}
		progress = max(progress, len(lines))
		// Whatever was printed is the start of the uninterrupted output.
		for i, l := range lines {
			if i >= len(wantLines) || l != wantLines[i] {
				t.Fatalf("run %d line %d: %q, uninterrupted replay printed %q", attempt, i+1, l, wantLines[min(i, len(wantLines)-1)])
			}
		}
		// The store is sound, and holds every printed decision as printed.
		st, err := store.Open(dir, store.Options{ReadOnly: true, KeyFile: keyFile})
		if err != nil {
			if len(lines) == 0 && killed {
				continue // killed before the store was made
			}
			t.Fatalf("run %d: %v", attempt, err)
		}
		if err := st.Check(); err != nil {
			t.Fatalf("run %d (killed %v): %v", attempt, killed, err)
		}
		if st.Encrypted() != (keyFile != "") {
			t.Fatalf("run %d: store encrypted %v with key file %q", attempt, st.Encrypted(), keyFile)
		}
		err = st.View(func(tx *store.Tx) error {
			for _, l := range lines {
				var o month.Outcome
				json.Unmarshal([]byte(l), &o)
				v, ok, err := tx.Visit(o.Visit)
				if err != nil {
					return err
				}
				if !ok || v.Visitor != o.Visitor || v.Days != o.Days || v.Visits != o.Visits || v.Regular != o.Regular {
					return fmt.Errorf("printed %s, stored %+v (found %v)", strings.TrimSpace(l), v, ok)
				}
			}
			return nil
		})
		st.Close()
		if err != nil {
			t.Fatalf("run %d: acknowledged decision lost: %v", attempt, err)
		}
		if !killed {
			if runErr != nil {
				t.Fatalf("run %d: %v: %s", attempt, runErr, stderr.String())
			}
			if strings.Join(lines, "") != want {
				t.Fatalf("the finished replay printed other decisions than an uninterrupted one")
			}
			t.Logf("%d visits: finished after %d SIGKILLs (%d with some decisions printed) in %d runs", len(visits), kills, midway, attempt+1)
			if midway < 3 {
				t.Errorf("only %d kills landed mid-replay", midway)
			}
			return
		}
	}
}
