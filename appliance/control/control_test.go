package control_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"joren/appliance/control"
	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/internal/testenv"
	"joren/vocab"
)

// TestMain lets the test binary dial a socket as another user
// (TestSocketIsRootOnly).
func TestMain(m *testing.M) {
	if path := os.Getenv("JOREN_CONTROL_DIAL"); path != "" {
		_, err := control.Dial(context.Background(), path)
		fmt.Println(err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// toy is a model whose people are far apart: these tests are about the
// operations, not about telling faces apart.
var toy = vocab.Model{Name: "toy", Digest: "feedfacefeedface", Dim: 16, Metric: vocab.Euclidean, Threshold: 1}

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// face is a descriptor of person i (a fixed point far from the others)
// with a little noise.
func face(i int, rng *rand.Rand) []float32 {
	p := rand.New(rand.NewPCG(uint64(i), 99))
	v := make([]float32, toy.Dim)
	for k := range v {
		v[k] = float32(p.NormFloat64() + rng.NormFloat64()*0.02)
	}
	return v
}

func faces(who, n int, rng *rand.Rand) control.Faces {
	f := control.Faces{Model: toy}
	for i := 0; i < n; i++ {
		f.Descriptors = append(f.Descriptors, face(who, rng))
		f.Sources = append(f.Sources, fmt.Sprintf("p%d-%d.jpg", who, i))
	}
	return f
}

// newStore makes a store of the toy model in which persons 1 to 4 came on
// a few days, always the same way: two calls make identical stores.
func newStore(t *testing.T) (*store.Store, *identity.Service) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Model: toy, Create: true, NoSync: true, Zone: "Asia/Tokyo", Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := identity.New(st, identity.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 0
	for day := 0; day < 4; day++ {
		for who := 1; who <= 4; who++ {
			if who > 2 && day%2 == 1 {
				continue
			}
			n++
			at := t0.AddDate(0, 0, day).Add(time.Duration(who) * time.Hour)
			v := vocab.Visit{ID: fmt.Sprintf("v%03d", n), Start: at, End: at.Add(20 * time.Second), Model: toy,
				Descriptors: [][]float32{face(who, rng), face(who, rng)}}
			if _, err := svc.Observe(context.Background(), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return st, svc
}

// serve serves ops on a socket in a new directory and returns a client.
func serve(t *testing.T, ops *control.Ops, o control.ServeOptions) (path string, cl *control.Client) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "run", "control.sock")
	ln, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.Serve(ctx, ln, ops, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	cl, err = control.Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return path, cl
}

// api is what the commands use: Ops on an open store, or a Client.
type api interface {
	Info(context.Context) (control.Info, error)
	Stats(context.Context) (identity.Stats, error)
	Export(context.Context, *bytes.Buffer, bool) error
	Check(context.Context) error
	Maintain(context.Context, bool) (control.Maintenance, error)
	Staff(context.Context) ([]control.Staff, error)
	AddStaff(context.Context, control.Enrolment) (control.StaffAdded, error)
	RemoveStaff(context.Context, string) error
	Customers(context.Context) ([]control.Customer, error)
	AddCustomer(context.Context, control.Enrolment) (control.CustomerAdded, error)
	RemoveCustomer(context.Context, string) (control.CustomerRemoved, error)
	Mode(context.Context) (control.ModeState, error)
	SetMode(context.Context, control.ModeRequest) (control.ModeChange, error)
	Match(context.Context, control.Faces) (control.Match, error)
	Forget(context.Context, string) (control.Forgotten, error)
	ForgetFace(context.Context, control.Faces) (control.Forgotten, error)
}

// buffered adapts Export's writer to the api.
type opsAPI struct{ *control.Ops }

func (a opsAPI) Export(ctx context.Context, b *bytes.Buffer, d bool) error {
	return a.Ops.Export(ctx, b, d)
}

type clientAPI struct{ *control.Client }

func (a clientAPI) Export(ctx context.Context, b *bytes.Buffer, d bool) error {
	return a.Client.Export(ctx, b, d)
}

// A command asking the running service over the socket gets what it gets
// from the store opened itself: the same answers, the same refusals, for
// every operation, on two identical stores.
func TestClientAnswersAsOps(t *testing.T) {
	now := func() time.Time { return t0.AddDate(0, 0, 5) }
	stA, svcA := newStore(t)
	stB, svcB := newStore(t)
	local := opsAPI{control.New(stA, svcA, control.Options{Now: now})}
	_, cl := serve(t, control.New(stB, svcB, control.Options{Now: now}), control.ServeOptions{Version: "v1.2.3"})
	remote := clientAPI{cl}
	if i, _ := cl.Info(context.Background()); i.Version != "v1.2.3" || i.PID != os.Getpid() || i.Store != stB.Dir() || i.Mode != "counting" ||
		i.Model != toy.ID() || i.Policy.RegularDays != identity.DefaultRegularDays || i.Policy.Zone != "Asia/Tokyo" {
		t.Errorf("info %+v", i)
	}

	// Whom person 3 and 4 are, for the steps below.
	m, err := local.Match(context.Background(), faces(4, 1, rand.New(rand.NewPCG(5, 5))))
	if err != nil || m.Visitor == "" || m.Days != 2 {
		t.Fatalf("person 4: %+v %v", m, err)
	}
	four := m.Visitor

	steps := []struct {
		name string
		op   func(context.Context, api, *rand.Rand) (any, error)
		kind control.Kind // the refusal expected ("": none)
	}{
		{"info", func(ctx context.Context, a api, _ *rand.Rand) (any, error) {
			i, err := a.Info(ctx)
			i.Version, i.PID = "", 0
			return i, err
		}, ""},
		{"stats", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return a.Stats(ctx) }, ""},
		{"staff add", func(ctx context.Context, a api, rng *rand.Rand) (any, error) {
			return a.AddStaff(ctx, control.Enrolment{Name: "Ana", Faces: faces(1, 2, rng)})
		}, ""},
		{"staff add, bad name", func(ctx context.Context, a api, rng *rand.Rand) (any, error) {
			return a.AddStaff(ctx, control.Enrolment{Name: " ", Faces: faces(5, 1, rng)})
		}, control.Invalid},
		{"staff add, another model", func(ctx context.Context, a api, rng *rand.Rand) (any, error) {
			f := faces(5, 1, rng)
			f.Model.Digest = "0123456789ab"
			return a.AddStaff(ctx, control.Enrolment{Name: "Eve", Faces: f})
		}, control.Failed},
		{"staff list", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return a.Staff(ctx) }, ""},
		{"staff remove, unknown", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return nil, a.RemoveStaff(ctx, "Zed") }, control.NotFound},
		{"staff add, someone new", func(ctx context.Context, a api, rng *rand.Rand) (any, error) {
			return a.AddStaff(ctx, control.Enrolment{Name: "Cy", Faces: faces(6, 2, rng)})
		}, ""},
		{"forget the face of staff", func(ctx context.Context, a api, rng *rand.Rand) (any, error) {
			return a.ForgetFace(ctx, faces(6, 1, rng))
		}, control.Failed},
		{"customer add, adopting a visitor", func(ctx context.Context, a api, rng *rand.Rand) (any, error) {
			return a.AddCustomer(ctx, control.Enrolment{Name: "Bo", Note: "asked at the counter", Faces: faces(2, 2, rng)})
		}, ""},
		{"customer add, faces of another customer", func(ctx context.Context, a api, rng *rand.Rand) (any, error) {
			return a.AddCustomer(ctx, control.Enrolment{Name: "Bob", Faces: faces(2, 1, rng)})
		}, control.Failed},
		{"customers list", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return a.Customers(ctx) }, ""},
		{"mode", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return a.Mode(ctx) }, ""},
		{"mode, a typo", func(ctx context.Context, a api, _ *rand.Rand) (any, error) {
			return a.SetMode(ctx, control.ModeRequest{Mode: "consnet"})
		}, control.Invalid},
		{"to consent mode, unconfirmed", func(ctx context.Context, a api, _ *rand.Rand) (any, error) {
			return a.SetMode(ctx, control.ModeRequest{Mode: "consent"})
		}, control.Confirm},
		{"match", func(ctx context.Context, a api, rng *rand.Rand) (any, error) { return a.Match(ctx, faces(3, 2, rng)) }, ""},
		{"forget a face", func(ctx context.Context, a api, rng *rand.Rand) (any, error) {
			return a.ForgetFace(ctx, faces(3, 2, rng))
		}, ""},
		{"forget the face again", func(ctx context.Context, a api, rng *rand.Rand) (any, error) {
			return a.ForgetFace(ctx, faces(3, 2, rng))
		}, control.NotFound},
		{"forget, unknown id", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return a.Forget(ctx, "p999999") }, control.NotFound},
		{"forget an id", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return a.Forget(ctx, four) }, ""},
		{"forget, no descriptors", func(ctx context.Context, a api, _ *rand.Rand) (any, error) {
			return a.ForgetFace(ctx, control.Faces{})
		}, control.Invalid},
		{"export", func(ctx context.Context, a api, _ *rand.Rand) (any, error) {
			var b bytes.Buffer
			err := a.Export(ctx, &b, false)
			return b.String(), err
		}, ""},
		{"check", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return nil, a.Check(ctx) }, ""},
		{"maintain", func(ctx context.Context, a api, _ *rand.Rand) (any, error) {
			m, err := a.Maintain(ctx, false)
			m.ElapsedMS = 0
			return m, err
		}, ""},
		{"maintain, trusting the clock", func(ctx context.Context, a api, _ *rand.Rand) (any, error) {
			m, err := a.Maintain(ctx, true)
			m.ElapsedMS = 0
			return m, err
		}, ""},
		{"to consent mode", func(ctx context.Context, a api, _ *rand.Rand) (any, error) {
			return a.SetMode(ctx, control.ModeRequest{Mode: "consent", ForgetOthers: true})
		}, ""},
		{"to consent mode again", func(ctx context.Context, a api, _ *rand.Rand) (any, error) {
			return a.SetMode(ctx, control.ModeRequest{Mode: "consent"})
		}, ""},
		{"customer remove", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return a.RemoveCustomer(ctx, "Bo") }, ""},
		{"customer remove, unknown", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return a.RemoveCustomer(ctx, "Bo") }, control.NotFound},
		{"staff remove", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return nil, a.RemoveStaff(ctx, "Ana") }, ""},
		{"staff remove, the other", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return nil, a.RemoveStaff(ctx, "Cy") }, ""},
		{"stats at the end", func(ctx context.Context, a api, _ *rand.Rand) (any, error) { return a.Stats(ctx) }, ""},
	}
	// Each side draws the same noise.
	rngA, rngB := rand.New(rand.NewPCG(3, 4)), rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	for _, s := range steps {
		a, errA := s.op(ctx, local, rngA)
		b, errB := s.op(ctx, remote, rngB)
		if control.KindOf(errA) != s.kind || control.KindOf(errB) != s.kind {
			t.Errorf("%s: %v (%s) locally, %v (%s) over the socket; want %q", s.name, errA, control.KindOf(errA), errB, control.KindOf(errB), s.kind)
			continue
		}
		ja, jb := normal(t, a, errA, stA.Dir()), normal(t, b, errB, stB.Dir())
		if ja != jb {
			t.Errorf("%s:\nlocally           %s\nover the socket   %s", s.name, ja, jb)
		}
	}
	// What the steps did, seen once.
	st, _ := remote.Stats(ctx)
	if st.Mode != "consent" || st.Staff != 0 || st.Customers != 0 || st.Identities != 0 {
		t.Errorf("at the end: %+v", st)
	}
}

// normal is an answer as JSON, with what legitimately differs between the
// two stores (their directories, the file's exact size) taken out.
func normal(t *testing.T, v any, err error, dir string) string {
	if err != nil {
		return strings.ReplaceAll(err.Error(), dir, "DIR")
	}
	b, jerr := json.Marshal(v)
	if jerr != nil {
		t.Fatal(jerr)
	}
	var m any
	json.Unmarshal(b, &m)
	if obj, ok := m.(map[string]any); ok {
		for _, k := range []string{"file_size", "file_before", "file_after"} {
			delete(obj, k)
		}
	}
	b, _ = json.Marshal(m)
	return strings.ReplaceAll(string(b), dir, "DIR")
}

// The running service refuses an export with descriptors (biometric data:
// a deliberate act with the service stopped), and serves one without.
func TestExportThroughService(t *testing.T) {
	st, svc := newStore(t)
	_, cl := serve(t, control.New(st, svc, control.Options{}), control.ServeOptions{})
	var b bytes.Buffer
	err := cl.Export(context.Background(), &b, true)
	if control.KindOf(err) != control.Failed || !strings.Contains(err.Error(), "stop the service") || b.Len() != 0 {
		t.Errorf("export with descriptors: %v, %d bytes", err, b.Len())
	}
	if err := cl.Export(context.Background(), &b, false); err != nil || strings.Count(b.String(), `"kind":"visitor"`) != 4 || strings.Contains(b.String(), "descriptors") {
		t.Errorf("export: %v\n%s", err, b.String())
	}
}

// Nothing listening: the commands open the store themselves.
func TestNoService(t *testing.T) {
	dir := t.TempDir()
	if _, err := control.Dial(context.Background(), filepath.Join(dir, "control.sock")); !errors.Is(err, control.ErrNoService) {
		t.Errorf("no socket: %v", err)
	}
	// A socket left by a service that died.
	path := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := control.Dial(context.Background(), path); !errors.Is(err, control.ErrNoService) {
		t.Errorf("stale socket: %v", err)
	}
	// The next service replaces it.
	ln2, err := control.Listen(path)
	if err != nil {
		t.Fatalf("listening over a stale socket: %v", err)
	}
	ln2.Close()
}

func TestListen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "joren")
	path := filepath.Join(dir, "control.sock")
	ln, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v %v", st.Mode(), err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("its directory: %v %v", st.Mode(), err)
	}
	// A second service on the same socket is refused; so are a file that
	// is not a socket, a relative path and a directory anyone may write.
	plain := filepath.Join(dir, "notes.txt")
	os.WriteFile(plain, []byte("x"), 0o600)
	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	for _, tc := range []struct{ path, want string }{
		{path, "another joren is serving it"},
		{plain, "is not a socket"},
		{"run/control.sock", "want an absolute path"},
		{filepath.Join(open, "control.sock"), "writable by anyone"},
	} {
		if _, err := control.Listen(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Listen(%s): %v, want %q", tc.path, err, tc.want)
		}
	}
	if b, _ := os.ReadFile(plain); string(b) != "x" {
		t.Errorf("Listen touched a file that is not a socket")
	}
}

// Only root and the service's own user may use the socket: the file's
// mode keeps others out, and the peer's credentials are checked.
func TestSocketIsRootOnly(t *testing.T) {
	st, svc := newStore(t)
	ops := control.New(st, svc, control.Options{})
	// The peer check alone: a service that admits only uid 4242 refuses
	// this process.
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := control.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go control.Serve(ctx, ln, ops, control.ServeOptions{Allow: func(p control.Peer) bool { return p.UID == 4242 }})
	if _, err := control.Dial(context.Background(), path); err == nil || !strings.Contains(err.Error(), "refused this user") {
		t.Errorf("a peer the service does not admit: %v", err)
	}

	if os.Geteuid() != 0 {
		t.Skip("the file-mode check needs root, to run a process as another user")
	}
	path, _ = serve(t, ops, control.ServeOptions{})
	// The test binary, as nobody, from a place nobody may read.
	bin := filepath.Join(t.TempDir(), "control.test")
	for d := filepath.Dir(bin); d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	var out []byte
	// A fork elsewhere in this process may briefly hold the new file open
	// for writing (Go issue 22315): its exec is then refused as busy.
	for try := 0; ; try++ {
		cmd := testenv.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), "JOREN_CONTROL_DIAL="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err = cmd.CombinedOutput()
		if !errors.Is(err, syscall.ETXTBSY) || try == 20 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || !strings.Contains(string(out), "permission denied") || !strings.Contains(string(out), "sudo") {
		t.Errorf("as nobody: %v: %s", err, out)
	}
}

// Operations asked over the socket are serialised with the decisions the
// pipeline makes meanwhile: none fails, and the store stays consistent.
func TestOperationsWhileDeciding(t *testing.T) {
	st, svc := newStore(t)
	_, cl := serve(t, control.New(st, svc, control.Options{}), control.ServeOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	visits := make(chan vocab.Visit)
	decisions := make(chan vocab.Decision)
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, visits, decisions) }()
	go func() {
		defer close(visits)
		rng := rand.New(rand.NewPCG(7, 7))
		for i := 0; i < 200; i++ {
			at := t0.AddDate(0, 0, 5).Add(time.Duration(i) * time.Minute)
			v := vocab.Visit{ID: fmt.Sprintf("w%03d", i), Start: at, End: at.Add(time.Second), Model: toy,
				Descriptors: [][]float32{face(5+i%7, rng)}}
			select {
			case visits <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	n := 0
	go func() {
		for range decisions {
			n++
		}
	}()
	rng := rand.New(rand.NewPCG(8, 8))
	for i := 0; i < 20; i++ {
		if _, err := cl.AddStaff(context.Background(), control.Enrolment{Name: fmt.Sprint("staff", i%3), Faces: faces(20+i%3, 1, rng)}); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.ForgetFace(context.Background(), faces(5+i%7, 1, rng)); err != nil && control.KindOf(err) != control.NotFound {
			t.Fatal(err)
		}
		if _, err := cl.Stats(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("deciding: %v", err)
	}
	if err := cl.Check(context.Background()); err != nil {
		t.Errorf("store check: %v", err)
	}
	if s, _ := cl.Staff(context.Background()); len(s) != 3 || !reflect.DeepEqual([]string{s[0].Name, s[1].Name, s[2].Name}, []string{"staff0", "staff1", "staff2"}) {
		t.Errorf("staff: %+v", s)
	}
}
