package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"joren/appliance/internal/password"
	"joren/cluster/store"
	"joren/device/pins"
	"joren/vision/camera"
	"joren/vision/doorsim/truth"
	"joren/vision/models"
)

// checkMachine records what this machine would refuse of a configuration
// whose values make sense: each check reads what the appliance's Open
// reads, with the same code where it is pure Go, and never changes
// anything (no directory is made, no key written, no pin claimed).
func (c Config) checkMachine(r *report) {
	if err := creatable(c.Device.DataDir); err != nil {
		r.bad("device.data_dir", nil, "%v", err)
	}
	c.checkStoreFiles(r)
	if err := models.CheckFiles(c.Device.Models); err != nil {
		r.bad("device.models", nil, "%v", err)
	} else {
		c.checkFaceModels(r)
	}
	if p := sourceFile(c.Camera.Source); p != "" {
		if _, err := os.Stat(p); err != nil {
			r.bad("camera.source", nil, "%v", err)
		}
	}
	if csiRE.MatchString(strings.TrimSpace(c.Camera.Source)) {
		if err := csiBoard(); err != nil {
			r.bad("camera.source", nil, "%q: %v", c.Camera.Source, err)
		}
	}
	if c.Camera.Clock != "" {
		tl, err := truth.ReadTimeline(c.Camera.Clock)
		if err == nil {
			err = tl.Check()
		}
		if err != nil {
			r.bad("camera.clock", nil, "%v", err)
		}
	}
	if c.Vision.DebugDir != "" {
		if err := creatable(c.Vision.DebugDir); err != nil {
			r.bad("vision.debug_dir", nil, "%v", err)
		}
	}
	if err := c.EventSetup().CheckFiles(); err != nil {
		eventProblem(r, err)
	}
	for _, f := range []struct{ key, path string }{
		{"events.password_file", c.Events.PasswordFile},
		{"events.command_key_file", c.Events.CommandKeyFile},
		{"events.key_file", c.Events.KeyFile},
	} {
		secretMode(r, f.key, f.path)
	}
	if c.Installer.Enabled {
		if _, err := password.Read(c.Installer.PasswordFile, "installer.password_file", password.Min); err != nil {
			r.bad("installer.password_file", nil, "%v", err)
		} else {
			secretMode(r, "installer.password_file", c.Installer.PasswordFile)
		}
		if f := c.Installer.StaffPasswordFile; f != "" {
			if _, err := password.Read(f, "installer.staff_password_file", password.MinStaff); err != nil {
				r.bad("installer.staff_password_file", nil, "%v", err)
			} else {
				secretMode(r, "installer.staff_password_file", f)
			}
		}
	}
	for _, l := range c.Indicator.lines() {
		spec, _ := pins.Parse(l.spec) // validate checked the form
		if err := pins.Lookup(spec); err != nil {
			r.bad(l.key, nil, "%v", err)
		}
	}
	if c.HTTP.Listen != "" {
		if err := localHost(c.HTTP.Listen); err != nil {
			r.bad("http.listen", nil, "%v", err)
		}
	}
	if c.Installer.Enabled {
		if err := localHost(c.Installer.Listen); err != nil {
			r.bad("installer.listen", nil, "%v", err)
		}
	}
}

// checkStoreFiles checks the store's directory and key as store.Open
// would meet them: a key that exists must load (store.LoadKey), a key
// that does not is made on first start, in a directory that must exist
// already (store.LoadOrCreateKey never makes it).
func (c Config) checkStoreFiles(r *report) {
	dir := c.StoreDir()
	if err := creatable(dir); err != nil {
		r.bad("store.dir", []string{"device.data_dir"}, "%v", err)
	}
	c.checkStoreState(r, dir)
	k := c.Store.KeyFile
	if k == "" {
		return
	}
	_, err := os.Stat(k)
	switch {
	case err == nil:
		if _, err := store.LoadKey(k); err != nil {
			r.bad("store.key_file", nil, "%v", err)
			return
		}
		secretMode(r, "store.key_file", k)
	case errors.Is(err, fs.ErrNotExist):
		d := filepath.Dir(k)
		st, err := os.Stat(d)
		switch {
		case err != nil:
			r.bad("store.key_file", nil, "%s: its directory must exist (the key is made there on first start, never on the data partition): %v", k, err)
		case !st.IsDir():
			r.bad("store.key_file", nil, "%s: %s is not a directory", k, d)
		default:
			if err := unix.Access(d, unix.W_OK|unix.X_OK); err != nil {
				r.bad("store.key_file", nil, "%s: the key is made on first start, but its directory %s is not writable: %v", k, d, err)
			}
		}
	default:
		r.bad("store.key_file", nil, "%v", err)
	}
}

// checkStoreState checks an existing store against the keys that must
// match it: an encrypted store needs its key (store.key_file), and days
// are counted in the zone the store was made with (device.timezone). The
// store is opened read-only with the configured key, as the appliance
// opens it: a store that joren holds open (the check runs beside it),
// that is damaged or whose layout is older than this build (joren
// migrates it) is said in a warning, not refused here.
func (c Config) checkStoreState(r *report, dir string) {
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		return
	}
	st, err := openStoreReadOnly(dir, c.Store.KeyFile)
	var ee *store.EncryptedError
	switch {
	case errors.As(err, &ee):
		r.bad("store.key_file", nil, "%v", err)
		return
	case err != nil:
		r.warn("store.dir", []string{"device.data_dir"}, "the store could not be checked against this configuration: %v", err)
		return
	}
	defer st.Close()
	zone := c.Device.Timezone
	if zone == "" {
		zone = time.Local.String() // what the appliance records
	}
	if got := st.Meta().Zone; got != zone {
		r.bad("device.timezone", nil, "%q: the identity store in %s counts days in %s; days already counted would shift, so joren refuses to open it: keep %s, or start a new store (store.dir)", c.Device.Timezone, dir, got, got)
	}
}

// openStoreReadOnly opens the store at dir for reading, a panic of a
// damaged file included in the error.
func openStoreReadOnly(dir, keyFile string) (st *store.Store, err error) {
	defer func() {
		if p := recover(); p != nil {
			st, err = nil, fmt.Errorf("reading %s: %v", filepath.Join(dir, store.FileName), p)
		}
	}()
	return store.Open(dir, store.Options{ReadOnly: true, KeyFile: keyFile})
}

// secretMode warns when the secret file at path (if any) can be read by
// other users than its owner. The code that reads a secret does not
// refuse such a file: this is a warning, not an error.
func secretMode(r *report, key, path string) {
	if path == "" {
		return
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o077 == 0 {
		return
	}
	r.warn(key, nil, "%s can be read by other users (mode %04o): chmod 600 %s", path, st.Mode().Perm(), path)
}

// creatable tells whether dir exists as a writable directory, or could be
// made (os.MkdirAll) under its nearest existing ancestor.
func creatable(dir string) error {
	p := filepath.Clean(dir)
	for {
		st, err := os.Stat(p)
		switch {
		case err == nil && !st.IsDir():
			if p == filepath.Clean(dir) {
				return fmt.Errorf("%s is a file, not a directory", p)
			}
			return fmt.Errorf("%s cannot be made: %s is a file", dir, p)
		case err == nil:
			if err := unix.Access(p, unix.W_OK|unix.X_OK); err != nil {
				if p == filepath.Clean(dir) {
					return fmt.Errorf("%s is not writable: %w", p, err)
				}
				return fmt.Errorf("%s cannot be made: %s is not writable: %w", dir, p, err)
			}
			return nil
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTDIR):
			return err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return err
		}
		p = parent
	}
}

// localHost tells whether this machine can listen on addr's host: every
// interface, or an address of one of its interfaces (a name: one it
// resolves to).
func localHost(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || allInterfaces(host) {
		return err
	}
	ips := []net.IP{net.ParseIP(strings.SplitN(host, "%", 2)[0])}
	if ips[0] == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return fmt.Errorf("%q: cannot resolve %s: %w", addr, host, err)
		}
		ips = ips[:0]
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil // cannot tell: net.Listen will
	}
	for _, ip := range ips {
		if ip.IsUnspecified() {
			return nil
		}
		for _, a := range ifaddrs {
			// All of 127.0.0.0/8 is this machine's, one address of
			// the rest.
			if n, ok := a.(*net.IPNet); ok && (n.IP.Equal(ip) || ip.IsLoopback() && n.Contains(ip)) {
				return nil
			}
		}
	}
	return fmt.Errorf("%q: %s is not an address of this machine", addr, host)
}

// deviceIndex is a camera given by number (0 for /dev/video0), as
// vision/capture reads it.
var deviceIndex = regexp.MustCompile(`^[0-9]{1,3}$`)

// sourceFile is the recording or picture folder a camera source reads,
// or "" for a live source (a camera, a CSI camera, a stream, a GStreamer
// pipeline), as vision/capture tells them apart: a live source may come
// later (a camera plugged in after boot), a recording must be there.
func sourceFile(source string) string {
	s := strings.TrimSpace(source)
	lower := strings.ToLower(s)
	switch {
	case s == "", csiRE.MatchString(s), strings.HasPrefix(lower, "gst:"), deviceIndex.MatchString(s),
		strings.HasPrefix(s, "/dev/"), strings.HasPrefix(s, "v4l2://"):
		return ""
	case strings.HasPrefix(s, "file://"):
		return strings.TrimPrefix(s, "file://")
	case strings.Index(s, "://") > 0:
		return ""
	}
	return s
}

// csiBoard tells whether this board has CSI cameras that vision/capture
// can read: a Raspberry Pi (libcamera) or an NVIDIA Jetson (Argus), as
// its device tree says. capture's own rule (capture.Machine, which needs
// cgo to build) is held to this one by cmd/joren's
// TestConfigCameraAgrees.
func csiBoard() error {
	model, err := os.ReadFile("/proc/device-tree/model")
	if err != nil {
		return fmt.Errorf("csi cameras are supported on a Raspberry Pi (libcamera) or an NVIDIA Jetson (Argus), and this machine has no device tree (%v): use a USB camera (/dev/video0) or a gst:PIPELINE source", err)
	}
	compatible, _ := os.ReadFile("/proc/device-tree/compatible")
	for _, c := range strings.Split(string(compatible), "\x00") {
		if strings.HasPrefix(c, "raspberrypi,") || strings.HasPrefix(c, "brcm,bcm2711") || strings.HasPrefix(c, "brcm,bcm2712") || strings.HasPrefix(c, "nvidia,tegra") {
			return nil
		}
	}
	m := strings.TrimSpace(strings.TrimRight(string(model), "\x00"))
	if strings.Contains(m, "Raspberry Pi") || strings.Contains(m, "Jetson") {
		return nil
	}
	return fmt.Errorf("csi cameras are supported on a Raspberry Pi (libcamera) or an NVIDIA Jetson (Argus); this board is %q: use a USB camera (/dev/video0) or a gst:PIPELINE source", m)
}

// checkFaceModels checks that the detector's and the embedder's files are
// in the model directory, whose dlib files are.
func (c Config) checkFaceModels(r *report) {
	if c.Vision.Detector == string(camera.Auto) {
		// What the box will choose, when it is not the default.
		stored, _ := store.ReadModel(c.StoreDir())
		if d, why := camera.Choose(camera.Auto, c.Device.Models, stored.Name); d != camera.YuNet {
			r.warn("vision.detector", []string{"device.models"}, "auto chooses %s: %s", d, why)
		}
	}
	if c.Vision.Detector == "yunet" {
		if _, err := os.Stat(filepath.Join(c.Device.Models, models.YuNetFile)); err != nil {
			r.bad("vision.detector", []string{"device.models"}, "yunet: %v (run joren models build or joren models fetch yunet, or choose detector: hog)", err)
		}
	}
	if c.Vision.Embedder == "onnx" {
		o, err := models.FindONNX(c.Device.Models, c.Vision.ONNXModel)
		if err == nil {
			_, err = os.Stat(filepath.Join(c.Device.Models, o.File()))
		}
		if err != nil {
			r.bad("vision.onnx_model", []string{"vision.embedder"}, "%v", err)
		}
	}
}
