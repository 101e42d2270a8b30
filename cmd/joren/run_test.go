package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"joren/appliance/control"
	"joren/cluster/identity"
	"joren/internal/testenv"
)

// mjpegCamera is an IP camera (HTTP MJPEG, as many are) playing a door
// video once in real time; it then keeps the connection open and sends
// nothing, like a camera that froze, until the test ends. So `joren run`
// on it keeps running for as long as the test needs, as on a device.
type mjpegCamera struct {
	frames [][]byte
	fps    float64
	played chan struct{} // closed once the video was sent
	stop   chan struct{}
	served int
}

func newMJPEGCamera(t *testing.T, video string) (url string, cam *mjpegCamera) {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(video)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	cam = &mjpegCamera{fps: vc.Get(gocv.VideoCaptureFPS), played: make(chan struct{}), stop: make(chan struct{})}
	m := gocv.NewMat()
	defer m.Close()
	for vc.Read(&m) && !m.Empty() {
		b, err := gocv.IMEncode(gocv.JPEGFileExt, m)
		if err != nil {
			t.Fatal(err)
		}
		cam.frames = append(cam.frames, append([]byte(nil), b.GetBytes()...))
		b.Close()
	}
	if len(cam.frames) == 0 || cam.fps <= 0 {
		t.Fatalf("%s: %d frames at %g fps", video, len(cam.frames), cam.fps)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: cam}
	go srv.Serve(ln)
	t.Cleanup(func() {
		close(cam.stop)
		srv.Close()
	})
	return "http://" + ln.Addr().String() + "/door.mjpg", cam
}

func (c *mjpegCamera) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.served++
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
	if c.served == 1 {
		tick := time.NewTicker(time.Duration(float64(time.Second) / c.fps))
		defer tick.Stop()
		for _, f := range c.frames {
			fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(f))
			w.Write(f)
			w.Write([]byte("\r\n"))
			w.(http.Flusher).Flush()
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			case <-c.stop:
				return
			}
		}
		close(c.played)
	}
	select {
	case <-r.Context().Done():
	case <-c.stop:
	}
}

// service is `joren run` in a child process (this test binary as joren).
type service struct {
	cmd  *exec.Cmd
	done chan error
	log  *strings.Builder
}

func startService(t *testing.T, args ...string) *service {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "JOREN_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &service{cmd: cmd, done: make(chan error, 1), log: &strings.Builder{}}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() {
		var log []string
		for l := range lines {
			log = append(log, l)
		}
		s.log.WriteString(strings.Join(log, "\n"))
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// stop ends the service as systemd does (SIGTERM) and returns how it
// exited.
func (s *service) stop(t *testing.T) error {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		return fmt.Errorf("joren run did not stop within a minute of SIGTERM")
	}
}

// The judged check: while `joren run` runs on a configuration file (a
// real door video through an IP camera, the real models), the commands
// given that file reach it on its control socket instead of failing on the
// store it holds: store stats, forget --visitor, and the others; the same
// commands open the store themselves once it stopped.
func TestRunControlSocket(t *testing.T) {
	video, tr := simVideo(t)
	url, cam := newMJPEGCamera(t, video)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	sock := filepath.Join(work, "run", "control.sock")
	file := filepath.Join(work, "joren.yaml")
	yaml := fmt.Sprintf(`device:
  id: door-test
  site: test-shop
  timezone: Asia/Tokyo
  data_dir: %s
  models: /nonexistent/models # --models names them
camera:
  source: %s
store:
  key_file: %s
  retention_days: 60
indicator:
  kind: none
http:
  listen: ""
control:
  socket: %s
`, data, url, filepath.Join(work, "store.key"), sock)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// A wrong configuration: the commands say what is wrong, naming the
	// file (and the line and key), before touching any store.
	missing, typo := filepath.Join(work, "nope.yaml"), filepath.Join(work, "typo.yaml")
	os.WriteFile(typo, []byte("store:\n  retention_dayz: 30\n"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"store", "stats", "--config", missing}, exitUsage, []string{"--config " + missing + ": open " + missing + ": no such file"}},
		{[]string{"staff", "list", "--config", typo}, exitFailure, []string{typo + ":2: ", "retention_dayz", "retention_days"}},
		{[]string{"forget", "--visitor", "p000001", "--config", typo}, exitFailure, []string{typo + ":2: "}},
	} {
		_, stderr, code := run(t, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d: %s", tc.args, code, tc.code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr lacks %q: %s", tc.args, w, stderr)
			}
		}
	}
	// A socket left by a service that died (a power cut): nobody answers
	// on it, so a command opens the store itself (none yet: it says who
	// makes one), and joren run replaces the socket.
	os.MkdirAll(filepath.Dir(sock), 0o700)
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, stderr, code := run(t, "store", "stats", "--config", file); code != exitFailure ||
		!strings.Contains(stderr, "no identity store") || !strings.Contains(stderr, filepath.Join(data, "store")) || !strings.Contains(stderr, "made by `joren run`") {
		t.Errorf("store stats on a stale socket, no store: exit %d: %s", code, stderr)
	}

	svc := startService(t, "--models", testenv.Models(t), "run", "--config", file)

	// Ready once the socket answers (the models load first).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		cl, err := control.Dial(context.Background(), sock)
		if err == nil {
			cl.Close()
			break
		}
		select {
		case err := <-svc.done:
			t.Fatalf("joren run ended before its socket answered: %v\n%s", err, svc.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no control socket after 3 minutes: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The video plays in real time; wait for it, then for the visitors it
	// brought to be decided.
	select {
	case <-cam.played:
	case err := <-svc.done:
		t.Fatalf("joren run ended while the camera played: %v\n%s", err, svc.log)
	case <-time.After(5 * time.Minute):
		t.Fatal("the camera did not play its video in 5 minutes")
	}
	var st identity.Stats
	for {
		out, stderr, code := run(t, "store", "stats", "--config", file, "--json")
		if code != exitOK {
			t.Fatalf("store stats --config while joren run runs: exit %d: %s", code, stderr)
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("store stats --json: %v: %s", err, out)
		}
		if st.Identities >= 2 {
			break
		}
		if time.Now().After(deadline.Add(5 * time.Minute)) {
			t.Fatalf("%d visitors decided from %d passages", st.Identities, len(tr.Passages))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("through the service: %d visitors, %d logged visits, from a video of %d passages", st.Identities, st.LoggedVisits, len(tr.Passages))
	if st.Dir != filepath.Join(data, "store") || st.Zone != "Asia/Tokyo" || st.Cipher == "" || st.LoggedVisits < st.Identities {
		t.Errorf("stats through the service: %+v", st)
	}

	// forget --visitor, by an id from the export.
	out, stderr, code := run(t, "store", "export", "--config", file)
	if code != exitOK {
		t.Fatalf("store export: exit %d: %s", code, stderr)
	}
	var first identity.ExportLine
	json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first)
	if first.Kind != "visitor" || first.Visitor == "" {
		t.Fatalf("export: %s", out)
	}
	id := first.Visitor
	out, stderr, code = run(t, "forget", "--visitor", id, "--config", file)
	if code != exitOK || !strings.HasPrefix(out, "forgot visitor "+id+": ") {
		t.Fatalf("forget --visitor %s --config while joren run runs: exit %d: %s %s", id, code, out, stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"forget", "--visitor", id}, exitFailure, "no visitor " + id + " in " + filepath.Join(data, "store") + "; nothing deleted"},
		{[]string{"store", "stats", "--retention", "30"}, exitUsage, "--retention 30: the running service (identity store " + filepath.Join(data, "store") + ") keeps 60"},
		{[]string{"store", "export", "--with-descriptors"}, exitFailure, "stop the service first"},
		{[]string{"staff", "remove", "Nobody"}, exitFailure, `no staff member named "Nobody"`},
		{[]string{"customers", "mode", "consent"}, exitUsage, "run again with --forget-others to confirm"},
	} {
		_, stderr, code := run(t, append(tc.args, "--config", file)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	// Staff enrolled from a photo: only its descriptor crosses the socket.
	out, stderr, code = run(t, "staff", "add", "Seulgi", face(t, "seulgi.jpg"), "--config", file)
	if code != exitOK || !strings.Contains(out, "staff Seulgi: 1 face(s) enrolled, 1 in all") {
		t.Errorf("staff add: exit %d: %s %s", code, out, stderr)
	}
	out, _, code = run(t, "staff", "list", "--json", "--config", file)
	if code != exitOK || !strings.Contains(out, `"name":"Seulgi","added":`) || !strings.Contains(out, `"sources":["seulgi.jpg"]`) {
		t.Errorf("staff list: %s", out)
	}
	// Consent at the counter: a customer enrolled, listed, then removed
	// with everything (the file compacted under the running service).
	out, stderr, code = run(t, "customers", "add", "Jimin", face(t, "jimin5.jpg"), "--note", "signed form 7", "--config", file)
	if code != exitOK || !strings.Contains(out, "customer Jimin enrolled: 1 face(s), consent recorded") || !strings.Contains(out, "counting mode") {
		t.Errorf("customers add: exit %d: %s %s", code, out, stderr)
	}
	out, _, code = run(t, "customers", "list", "--json", "--config", file)
	if code != exitOK || !strings.Contains(out, `"name":"Jimin"`) || !strings.Contains(out, `"note":"signed form 7"`) {
		t.Errorf("customers list: exit %d: %s", code, out)
	}
	out, stderr, code = run(t, "customers", "remove", "Jimin", "--config", file)
	if code != exitOK || !strings.Contains(out, "customer Jimin removed: enrolment, ") || !strings.Contains(out, "store file compacted") {
		t.Errorf("customers remove: exit %d: %s %s", code, out, stderr)
	}
	// "Forget me", from a photo of someone the door saw (not the visitor
	// forgotten above): matched by the service, deleted there.
	var photo string
	for _, p := range tr.Passages {
		if p.Person != tr.Passages[0].Person {
			photo = filepath.Join(testFaces(t), p.Photo)
			break
		}
	}
	out, stderr, code = run(t, "forget", "--image", photo, "--config", file)
	if code != exitOK || !strings.HasPrefix(out, "forgot visitor p") {
		t.Errorf("forget --image %s: exit %d: %s %s", photo, code, out, stderr)
	}
	byImage, _, _ := strings.Cut(strings.TrimPrefix(out, "forgot visitor "), ":")
	if out, stderr, code := run(t, "store", "check", "--config", file); code != exitOK || out != filepath.Join(data, "store")+": ok\n" {
		t.Errorf("store check: exit %d: %s %s", code, out, stderr)
	}
	var after identity.Stats
	if out, stderr, code := run(t, "store", "stats", "--json", "--config", file); code != exitOK || json.Unmarshal([]byte(out), &after) != nil {
		t.Errorf("store stats: exit %d: %s %s", code, out, stderr)
	} else if after.Staff != 1 || after.Customers != 0 || after.Identities < 1 {
		t.Errorf("after enrolling Seulgi and removing Jimin: %+v", after)
	}

	// The service saw the requests, and stops cleanly.
	if err := svc.stop(t); err != nil {
		t.Fatalf("joren run: %v\n%s", err, svc.log)
	}
	t.Logf("joren run's log:\n%s", svc.log)
	for _, want := range []string{"control socket", "visitor forgotten on request", "op=/v1/forget/face", "staff enrolled", "customer removed, store compacted"} {
		if !strings.Contains(svc.log.String(), want) {
			t.Errorf("the service's log lacks %q", want)
		}
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket outlived the service: %v", err)
	}
	// Without the service, the same commands open the store themselves
	// and find what the service did.
	out, stderr, code = run(t, "store", "export", "--config", file)
	if code != exitOK || strings.Contains(out, `"visitor":"`+id+`"`) || strings.Contains(out, `"visitor":"`+byImage+`"`) || !strings.Contains(out, `"staff":"Seulgi"`) {
		t.Errorf("after the service: exit %d: %s %s", code, out, stderr)
	}
}
