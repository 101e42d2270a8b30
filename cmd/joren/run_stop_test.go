package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"joren/cluster/month"
	"joren/cluster/store"
	"joren/internal/testenv"
	"joren/vision/doorsim"
	"joren/vision/doorsim/truth"
)

// TestRunStop stops `joren run` (this test binary re-executed as joren)
// with SIGTERM at random moments of each state a box is stopped in, as
// systemd stops it for an update:
//
//   - faces in view: a door video (camera.clock gives its timeline), the
//     signal while a passage is in view;
//   - broker down: the same, with events to a broker that is not there;
//   - camera stalled: a live MJPEG stream over HTTP that stops sending in
//     the middle of a passage, the connection left open (the capture's
//     read hangs in FFmpeg), the signal up to 3 s into the stall;
//   - maintenance running: a store of ~1700 visitors to re-check, whose
//     pass starts before the video's first visit, the signal during it.
//
// Every stop must end the process within 5 s with status 0, every visit
// logged as decided before the signal must be in the store, and so must
// those decided after it (the people in view, finished at the stop).
// JOREN_STOP_TRIALS sets the stops per state (default 5; 2 with -short).
func TestRunStop(t *testing.T) {
	trials := 5
	if testing.Short() {
		trials = 2
	}
	if s := os.Getenv("JOREN_STOP_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("JOREN_STOP_TRIALS=%q: want a number of stops", s)
		}
		trials = n
	}
	fx := newStopFixture(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	type state struct {
		name string
		// run starts joren in dir, waits for the moment, and stops it.
		run func(t *testing.T, rng *rand.Rand, dir string) stopResult
	}
	states := []state{
		{"faces in view", func(t *testing.T, rng *rand.Rand, dir string) stopResult { return fx.inView(t, rng, dir, false) }},
		{"broker down", func(t *testing.T, rng *rand.Rand, dir string) stopResult { return fx.inView(t, rng, dir, true) }},
		{"camera stalled", fx.stalled},
		{"maintenance running", fx.maintaining},
	}
	var summary []string
	for _, st := range states {
		t.Run(strings.ReplaceAll(st.name, " ", "_"), func(t *testing.T) {
			var worst time.Duration
			inState, before, after := 0, 0, 0
			for i := range trials {
				r := st.run(t, rng, t.TempDir())
				worst = max(worst, r.took)
				if r.inState {
					inState++
				}
				before += r.before
				after += r.after
				t.Logf("stop %d: %s; exit in %v; %d visits decided before the signal, %d after", i+1, r.moment, r.took.Round(time.Millisecond), r.before, r.after)
			}
			line := fmt.Sprintf("%-20s %d stops (%d in the state), worst exit %v, %d visits decided before the signals and %d after, none lost",
				st.name, trials, inState, worst.Round(time.Millisecond), before, after)
			summary = append(summary, line)
			if inState*2 < trials {
				t.Errorf("only %d of %d stops landed in the state", inState, trials)
			}
		})
	}
	t.Log("\n" + strings.Join(summary, "\n"))
}

// stopResult is one stop's outcome.
type stopResult struct {
	moment        string
	inState       bool
	took          time.Duration
	before, after int // visits decided before and after the signal
}

// stopFixture is what the stops share: a door video, its frames as JPEG
// for the live stream, and a store with thousands of visitors to re-check.
type stopFixture struct {
	models, video string
	truth         truth.Truth
	jpegs         [][]byte
	busy          string // a store directory (its file is copied per stop)
}

func newStopFixture(t *testing.T) *stopFixture {
	t.Helper()
	fx := &stopFixture{models: testenv.Models(t)}
	dir := t.TempDir()
	fx.video = filepath.Join(dir, "door.avi")
	var err error
	fx.truth, err = doorsim.MakeVideo(context.Background(), fx.models, testenv.Faces(t), fx.video,
		doorsim.Options{Seed: 11, People: 6, Together: -1, Again: -1}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := gocv.VideoCaptureFile(fx.video)
	if err != nil {
		t.Fatal(err)
	}
	m := gocv.NewMat()
	for vc.Read(&m) {
		b, err := gocv.IMEncode(gocv.JPEGFileExt, m)
		if err != nil {
			t.Fatal(err)
		}
		fx.jpegs = append(fx.jpegs, slices.Clone(b.GetBytes()))
		b.Close()
	}
	m.Close()
	vc.Close()
	// 2500 visitors seen once the day before the video: none re-checked
	// yet, so the video's first visit starts a long pass.
	day := fx.truth.Timeline[0].Time.AddDate(0, 0, -1)
	visits := strangers(t, 2500, day)
	file := filepath.Join(dir, "busy.jsonl")
	writeVisits(t, file, visits...)
	fx.busy = filepath.Join(dir, "busy-store")
	if _, stderr, code := run(t, "replay", "--visits", file, "--store", fx.busy, "--tz", "UTC", "--log-level", "error"); code != exitOK {
		t.Fatalf("filling the busy store: exit %d: %s", code, stderr)
	}
	n := visitors(t, fx.busy)
	if n < len(visits)/2 {
		t.Fatalf("the busy store holds %d visitors of %d", n, len(visits))
	}
	t.Logf("fixture: %d frames, %d passages, a store of %d visitors to re-check", fx.truth.Frames, len(fx.truth.Passages), n)
	return fx
}

// strangers makes n visits of n different people, a second apart from
// at: faces drawn around the mean of the shared labelled descriptors with
// the spread of the people in them (the mean of each person's, mixed at
// random, three times as far apart), so that the identity store takes
// each for someone new.
func strangers(t *testing.T, n int, at time.Time) []month.Visit {
	t.Helper()
	names, by := devPeople(t)
	dim := len(by[names[0]][0])
	means := make([][]float64, len(names))
	all := make([]float64, dim)
	for i, name := range names {
		means[i] = make([]float64, dim)
		for _, d := range by[name] {
			for k, v := range d {
				means[i][k] += float64(v) / float64(len(by[name]))
			}
		}
		for k := range all {
			all[k] += means[i][k] / float64(len(names))
		}
	}
	rng := rand.New(rand.NewPCG(5, 5))
	out := make([]month.Visit, n)
	for i := range out {
		d := make([]float32, dim)
		for k := range d {
			d[k] = float32(all[k])
		}
		for _, m := range means {
			z := 3 * rng.NormFloat64() / math.Sqrt(float64(len(means)))
			for k := range d {
				d[k] += float32(z * (m[k] - all[k]))
			}
		}
		out[i] = month.Visit{ID: fmt.Sprintf("b%05d", i), Time: at.Add(time.Duration(i) * time.Second), Descriptors: [][]float32{d}}
	}
	return out
}

// inView plays the door video and stops joren while a passage is in view
// (by the frames it has processed, read from /metrics).
func (fx *stopFixture) inView(t *testing.T, rng *rand.Rand, dir string, brokerDown bool) stopResult {
	p := fx.truth.Passages[rng.IntN(len(fx.truth.Passages))]
	target := p.First + rng.IntN(max(1, p.Last-p.First))
	cfg := runConfig{source: fx.video, clock: truth.Path(fx.video)}
	if brokerDown {
		cfg.broker = "mqtt://" + freeLocal(t)
	}
	c := startJoren(t, fx.models, dir, cfg)
	frame := -1
	for frame < target {
		n, err := c.frames()
		if err == nil {
			frame = n - 1
		}
		if c.exited() {
			t.Fatalf("joren ended before frame %d: %s", target, c.tail())
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := c.stop(t)
	r.moment = fmt.Sprintf("frame %d (%s in view %d-%d)", frame, p.Person, p.Enter, p.Leave)
	r.inState = frame >= p.Enter && frame <= p.Leave
	// Someone whose whole face has been in view for 10 frames has a visit
	// with descriptors: the stop must finish it.
	if frame >= p.First+10 && frame <= p.Last && r.after == 0 {
		t.Errorf("stopped at frame %d with %s in view since frame %d: no visit decided at the stop: %s", frame, p.Person, p.First, c.tail())
	}
	return r
}

// stalled streams the video live from a little before a passage and stops
// sending in its middle, the connection open; joren is stopped up to 3 s
// into the stall.
func (fx *stopFixture) stalled(t *testing.T, rng *rand.Rand, dir string) stopResult {
	p := fx.truth.Passages[rng.IntN(len(fx.truth.Passages))]
	from := max(0, p.Enter-30)
	until := p.First + 3 + rng.IntN(max(1, p.Last-p.First-5))
	stalled := make(chan time.Time, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		for i := from; i <= until; i++ {
			j := fx.jpegs[i]
			fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(j))
			w.Write(j)
			w.Write([]byte("\r\n"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second / 15):
			}
		}
		select {
		case stalled <- time.Now():
		default:
		}
		<-r.Context().Done() // the camera hangs: nothing more, connection open
	})}
	go srv.Serve(ln)
	defer srv.Close()
	c := startJoren(t, fx.models, dir, runConfig{source: "http://" + ln.Addr().String() + "/stream.mjpg"})
	var since time.Time
	select {
	case since = <-stalled:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the stream never reached its stall: %s", c.tail())
	}
	time.Sleep(time.Duration(rng.IntN(3000)) * time.Millisecond)
	r := c.stop(t)
	r.moment = fmt.Sprintf("%v into a stall at frame %d (%s in view %d-%d)", c.signalled.Sub(since).Round(time.Millisecond), until, p.Person, p.Enter, p.Leave)
	r.inState = true
	return r
}

// maintaining copies the busy store in, plays the video, and stops joren
// during the maintenance pass its first visit starts.
func (fx *stopFixture) maintaining(t *testing.T, rng *rand.Rand, dir string) stopResult {
	if err := os.MkdirAll(filepath.Join(dir, "store"), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(fx.busy, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "store", store.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startJoren(t, fx.models, dir, runConfig{source: fx.video, clock: truth.Path(fx.video)})
	started, ok := c.await("maintenance pass started", 3*time.Minute)
	if !ok {
		t.Fatalf("no maintenance pass: %s", c.tail())
	}
	time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
	r := c.stop(t)
	ended, _ := c.find("maintenance pass")
	r.inState = ended.at.IsZero() || ended.at.After(c.signalled)
	r.moment = fmt.Sprintf("%v into the pass", c.signalled.Sub(started.at).Round(time.Millisecond))
	if !r.inState {
		r.moment += " (it had ended)"
	} else if rem, ok := ended.fields["remaining"].(float64); ok {
		r.moment += fmt.Sprintf(", %d visitors left to re-check", int(rem))
	}
	return r
}

// runConfig is what a stop's joren reads from.
type runConfig struct {
	source, clock, broker string
}

// child is joren running as a child process.
type child struct {
	cmd       *exec.Cmd
	dir       string
	metrics   string
	done      chan struct{}
	waitErr   error
	mu        sync.Mutex
	lines     []logLine
	raw       []string
	changed   chan struct{}
	signalled time.Time
}

// logLine is one JSON log line and when it arrived.
type logLine struct {
	at     time.Time
	msg    string
	fields map[string]any
}

// startJoren writes a configuration for data directory dir and runs
// `joren run` on it, logging JSON at debug level.
func startJoren(t *testing.T, models, dir string, rc runConfig) *child {
	t.Helper()
	c := &child{dir: dir, metrics: freeLocal(t), done: make(chan struct{}), changed: make(chan struct{})}
	var y strings.Builder
	fmt.Fprintf(&y, "device:\n  id: stop-test\n  site: test-shop\n  timezone: UTC\n  data_dir: %q\n  models: %q\n", dir, models)
	fmt.Fprintf(&y, "camera:\n  source: %q\n", rc.source)
	if rc.clock != "" {
		fmt.Fprintf(&y, "  clock: %q\n", rc.clock)
	}
	fmt.Fprintf(&y, "store:\n  key_file: \"\"\nindicator:\n  kind: none\n")
	if rc.broker != "" {
		fmt.Fprintf(&y, "events:\n  broker: %q\n", rc.broker)
	}
	fmt.Fprintf(&y, "http:\n  listen: %q\nlog:\n  level: debug\n  format: json\n", c.metrics)
	path := filepath.Join(dir, "joren.yaml")
	if err := os.WriteFile(path, []byte(y.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c.cmd = testenv.Self(t, "run", "--config", path)
	c.cmd.Env = append(os.Environ(), "JOREN_RUN_MAIN=1")
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		c.read(stderr)
	}()
	go func() {
		<-read
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		if !c.exited() {
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *child) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := logLine{at: time.Now()}
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			l.msg, _ = m["msg"].(string)
			l.fields = m
		}
		c.mu.Lock()
		c.raw = append(c.raw, sc.Text())
		c.lines = append(c.lines, l)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// find returns the first log line with message msg.
func (c *child) find(msg string) (logLine, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		if l.msg == msg {
			return l, true
		}
	}
	return logLine{}, false
}

// await waits for a log line with message msg.
func (c *child) await(msg string, limit time.Duration) (logLine, bool) {
	deadline := time.After(limit)
	for {
		if l, ok := c.find(msg); ok {
			return l, true
		}
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-c.done:
			return c.find(msg)
		case <-deadline:
			return logLine{}, false
		}
	}
}

var framesLine = regexp.MustCompile(`(?m)^joren_frames_total (\d+)$`)

// frames reads the frames processed from /metrics.
func (c *child) frames() (int, error) {
	r, err := http.Get("http://" + c.metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return 0, err
	}
	m := framesLine.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no joren_frames_total")
	}
	return strconv.Atoi(string(m[1]))
}

func (c *child) tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.raw[max(0, len(c.raw)-15):], "\n")
}

// stop sends SIGTERM and checks the stop: exit within 5 s with status 0,
// nothing said about stages that did not stop, and every visit logged as
// decided in the store.
func (c *child) stop(t *testing.T) stopResult {
	t.Helper()
	if _, ok := c.find("joren running"); !ok {
		t.Fatalf("joren is not running: %s", c.tail())
	}
	c.signalled = time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		t.Fatalf("joren still running 15 s after SIGTERM: %s", c.tail())
	}
	r := stopResult{took: time.Since(c.signalled)}
	if r.took > 5*time.Second {
		t.Errorf("joren took %v to exit after SIGTERM", r.took)
	}
	if c.waitErr != nil {
		t.Errorf("joren exited with %v after SIGTERM: %s", c.waitErr, c.tail())
	}
	if _, ok := c.find("joren stopped"); !ok {
		t.Errorf("joren did not say it stopped: %s", c.tail())
	}
	var decided []string
	c.mu.Lock()
	for _, l := range c.lines {
		switch {
		case l.msg == "visit decided":
			decided = append(decided, l.fields["visit"].(string))
			if l.at.Before(c.signalled) {
				r.before++
			} else {
				r.after++
			}
		case strings.Contains(l.msg, "did not stop in time"):
			t.Errorf("joren abandoned a stage: %s", l.msg)
		}
	}
	c.mu.Unlock()
	st, err := store.Open(filepath.Join(c.dir, "store"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("the store after the stop: %v", err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Errorf("the store after the stop: %v", err)
	}
	st.View(func(tx *store.Tx) error {
		for _, id := range decided {
			if _, ok, err := tx.Visit(id); !ok || err != nil {
				t.Errorf("visit %s was decided but is not in the store (%v)", id, err)
			}
		}
		return nil
	})
	return r
}

// freeLocal returns a loopback address nothing listens on.
func freeLocal(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRunBuildTime: the build time joren never believes a clock before is
// the release builds' stamp; a test binary has none (no VCS stamp either).
func TestRunBuildTime(t *testing.T) {
	if got := buildTime(); !got.IsZero() {
		t.Errorf("a test binary's build time: %v", got)
	}
	defer func(s string) { builtAt = s }(builtAt)
	builtAt = "2026-12-01T09:30:00+09:00"
	if got := buildTime(); !got.Equal(time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC)) {
		t.Errorf("stamped: %v", got)
	}
}
