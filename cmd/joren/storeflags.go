package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"joren/appliance/config"
	"joren/appliance/control"
	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vision/camera"
	"joren/vision/dlib"
	"joren/vision/models"
	"joren/vocab"
)

// deviceConfig is the device's own configuration file: the commands that
// open the device's store read it unless --config says otherwise.
const deviceConfig = "/etc/joren/joren.yaml"

// storeFlags are the flags of every command that opens the identity store.
type storeFlags struct {
	withPolicy bool
	// config is the configuration file the store's settings come from
	// (--config; "" none).
	config  string
	dir     string
	keyFile string
	// mode is the mode a command expects ("": the store's); a new store
	// is made in it.
	mode        string
	tz          string
	regularDays int
	window      int
	merge       int
	retention   int
}

// register adds --store (defaulting to $JOREN_STORE), --key-file
// (defaulting to $JOREN_STORE_KEY_FILE) and, with policy, the regular
// policy's flags.
func (f *storeFlags) register(cmd *cobra.Command, policy bool) {
	cmd.Flags().StringVar(&f.dir, "store", os.Getenv("JOREN_STORE"), "identity store directory (env JOREN_STORE; default with --config: the configuration's)")
	cmd.Flags().StringVar(&f.keyFile, "key-file", os.Getenv("JOREN_STORE_KEY_FILE"), "key file of an encrypted store (env JOREN_STORE_KEY_FILE; default with --config: store.key_file, on the device /run/joren/store.key): a new store is encrypted with it, an unencrypted one when opened for writing; made (mode 0600) if missing and its directory exists")
	if !policy {
		return
	}
	f.withPolicy = true
	fl := cmd.Flags()
	fl.StringVar(&f.tz, "tz", "", "time zone whose local days count, as an IANA name like Asia/Tokyo (default: the store's; for a new store device.timezone with --config, else UTC)")
	fl.IntVar(&f.regularDays, "regular-days", identity.DefaultRegularDays, "a visitor is a regular once seen on this many distinct days within the window (default with --config: regular.days)")
	fl.IntVar(&f.window, "window", identity.DefaultWindow, "the regular window, in days (default with --config: regular.window_days)")
	fl.IntVar(&f.merge, "merge-minutes", int(identity.DefaultMergeWindow/time.Minute), "passages of one visitor less than this many minutes apart are one visit (default with --config: regular.merge_minutes)")
	fl.IntVar(&f.retention, "retention", identity.DefaultRetention, "visitors unseen for this many days are deleted (default with --config: store.retention_days)")
}

// registerDevice adds --config to a command that works on the device's
// store: the store's place, key, mode and policy, the face models and the
// control socket of the running service come from the configuration.
func (f *storeFlags) registerDevice(cmd *cobra.Command) {
	def := ""
	if _, err := os.Stat(deviceConfig); err == nil {
		def = deviceConfig
	}
	cmd.Flags().StringVar(&f.config, "config", def, "the device's configuration file, for the store's directory, key, mode and policy, the face models and the running service's control socket (default "+deviceConfig+" when it exists; \"\" for none); explicit flags override it, with a warning")
}

// storePlace is where a command's store is and how it is kept.
type storePlace struct {
	dir     string
	keyFile string
	mode    store.Mode // expected ("": the store's); a new store's
	zone    string     // IANA name ("": the store's; UTC for a new store)
	// policy is the regular policy (zero fields: the defaults; Zone nil:
	// the store's).
	policy identity.Policy
	limits store.Limits

	// From the configuration (cfg nil: none).
	file string
	cfg  *config.Config
	// newMode and newZone are those of a store made now (the device's);
	// socket is the running service's control socket ("": none);
	// modelDir holds the face models (g.modelDir without configuration).
	newMode  store.Mode
	newZone  string
	socket   string
	modelDir string
	// explicit are the policy flags given on the command line: the
	// running service cannot apply another policy than its own.
	explicit map[string]int
}

// resolve says where the store is and how it is kept, or gives a usage
// error. It is the one place that reads the store's flags, environment and
// the device's configuration.
func (f *storeFlags) resolve(cmd *cobra.Command, g *globals) (storePlace, error) {
	p, err := f.settings(cmd, g)
	if err != nil {
		return storePlace{}, err
	}
	if p.dir == "" {
		return storePlace{}, usagef("no identity store: give --store DIR (or set JOREN_STORE), or --config FILE (the device's configuration)")
	}
	return p, nil
}

// settings is the store's place without requiring a directory (replay
// makes a temporary store without one).
func (f *storeFlags) settings(cmd *cobra.Command, g *globals) (storePlace, error) {
	p := storePlace{dir: f.dir, keyFile: f.keyFile, mode: store.Mode(f.mode), zone: f.tz, modelDir: g.modelDir, explicit: map[string]int{}}
	if p.zone != "" {
		if _, err := time.LoadLocation(p.zone); err != nil {
			return storePlace{}, usagef("--tz %q: not a time zone (want an IANA name like Europe/Paris): %v", p.zone, err)
		}
	}
	if p.mode != "" {
		if _, err := store.ParseMode(f.mode); err != nil {
			return storePlace{}, usagef("--mode: %v", err)
		}
	}
	if f.withPolicy {
		p.policy = identity.Policy{RegularDays: f.regularDays, Window: f.window, MergeWindow: time.Duration(f.merge) * time.Minute, Retention: f.retention}
	}
	if f.config != "" {
		if err := f.fromConfig(cmd, g, &p); err != nil {
			return storePlace{}, err
		}
	}
	if f.withPolicy {
		p.policy.Zone = time.UTC // only for validation here; the service uses the store's
		if err := p.policy.Validate(); err != nil {
			return storePlace{}, usagef("%v", err)
		}
		p.policy.Zone = nil
	}
	return p, nil
}

// fromConfig reads the store's settings from the configuration file, as
// `joren run` reads them (with the JOREN_<SECTION>_<KEY> environment). A
// flag given explicitly wins, and a warning says it differs from the
// device's.
func (f *storeFlags) fromConfig(cmd *cobra.Command, g *globals, p *storePlace) error {
	// The file's own checks, not the machine's: joren run meets those (its
	// listen addresses are in use while it runs).
	cfg, warnings, err := config.Load(f.config, config.Options{Environ: environ()})
	var ce *config.Error
	switch {
	case errors.As(err, &ce):
		// Each problem names the file, line and key, as `config check`.
		printWarnings(g.stderr, warnings)
		return err
	case err != nil:
		return usagef("--config %s: %v (give the device's configuration, or --config \"\" and --store DIR)", f.config, errors.Unwrap(err))
	}
	p.file, p.cfg = f.config, &cfg
	p.socket = cfg.Control.Socket
	p.limits = cfg.Limits()
	p.newMode, p.newZone = store.Mode(cfg.Store.Mode), cfg.Zone()
	switch {
	case !g.modelDirSet:
		p.modelDir = cfg.Device.Models
	case g.modelDir != cfg.Device.Models:
		g.log.Warn(fmt.Sprintf("--models %s overrides device.models %s of %s: this command and the device differ", g.modelDir, cfg.Device.Models, f.config))
	}
	fl := cmd.Flags()
	// given tells whether the user chose a value: the flag, or for
	// --store and --key-file their environment variable.
	given := func(flag, env string) bool {
		return fl.Changed(flag) || env != "" && os.Getenv(env) != ""
	}
	warn := func(flag string, value any, key string, device any) {
		g.log.Warn(fmt.Sprintf("--%s %v overrides %s %v of %s: this command and the device differ", flag, value, key, device, f.config))
	}
	str := func(v *string, flag, env, key, device string) {
		switch {
		case !given(flag, env):
			*v = device
		case *v != device:
			warn(flag, *v, key, device)
		}
	}
	str(&p.dir, "store", "JOREN_STORE", "store.dir", cfg.StoreDir())
	str(&p.keyFile, "key-file", "JOREN_STORE_KEY_FILE", "store.key_file", cfg.Store.KeyFile)
	if f.withPolicy {
		dev := cfg.Policy()
		num := func(v *int, flag, key string, device int) {
			if !fl.Changed(flag) {
				*v = device
				return
			}
			p.explicit[flag] = *v
			if *v != device {
				warn(flag, *v, key, device)
			}
		}
		merge := int(p.policy.MergeWindow / time.Minute)
		num(&p.policy.RegularDays, "regular-days", "regular.days", dev.RegularDays)
		num(&p.policy.Window, "window", "regular.window_days", dev.Window)
		num(&merge, "merge-minutes", "regular.merge_minutes", int(dev.MergeWindow/time.Minute))
		num(&p.policy.Retention, "retention", "store.retention_days", dev.Retention)
		p.policy.MergeWindow = time.Duration(merge) * time.Minute
	} else {
		p.policy = cfg.Policy()
	}
	return nil
}

// policyAgrees refuses policy flags that differ from the running
// service's policy: it decides with its own.
func (p storePlace) policyAgrees(svc control.Policy) error {
	for flag, keeps := range map[string]int{"regular-days": svc.RegularDays, "window": svc.Window, "merge-minutes": svc.MergeMinutes, "retention": svc.Retention} {
		if v, ok := p.explicit[flag]; ok && v != keeps {
			return usagef("--%s %d: the running service (identity store %s) keeps %d, from its configuration, and cannot apply another policy: drop the flag, or stop the service (systemctl stop joren) to use another", flag, v, p.dir, keeps)
		}
	}
	return nil
}

// faces sets the flags of ff not given to the configuration's vision
// settings (the device's descriptors), and returns the directory of the
// face models to embed faces with.
func (p storePlace) faces(cmd *cobra.Command, g *globals, ff *faceFlags) string {
	if p.cfg != nil {
		fl := cmd.Flags()
		v := p.cfg.Vision
		if !fl.Changed("embedder") {
			ff.embedder = v.Embedder
		}
		if !fl.Changed("onnx-model") {
			ff.onnxModel = v.ONNXModel
		}
		if !fl.Changed("detector") {
			ff.detector = v.Detector
		}
	}
	if ff.detector == string(camera.Auto) {
		ff.stored = p.modelName(cmd.Context(), g)
	}
	return p.modelDir
}

// modelName is the name of the store's model ("" if there is no store,
// or it cannot tell): read from the file, or asked of the running service
// that holds it.
func (p storePlace) modelName(ctx context.Context, g *globals) string {
	m, err := store.ReadModel(p.dir)
	if err == nil || errors.Is(err, store.ErrNoStore) {
		return m.Name
	}
	if p.socket != "" {
		if cl, derr := control.Dial(ctx, p.socket); derr == nil {
			defer cl.Close()
			if info, ierr := cl.Info(ctx); ierr == nil && sameDir(info.Store, p.dir) {
				name, _, _ := strings.Cut(info.Model, "@")
				return name
			}
		}
	}
	g.log.Warn("choosing the face detector without the identity store's model", "err", err)
	return ""
}

// checkDevice warns when the store is not as the configuration expects:
// `joren run` then refuses to start until they agree.
func (p storePlace) checkDevice(g *globals, meta store.Meta, r storeRequest) {
	if p.cfg == nil {
		return
	}
	if meta.Mode != p.newMode && !r.setsMode {
		g.log.Warn(fmt.Sprintf("identity store %s is in %s mode but store.mode in %s says %s: joren run refuses to start until they agree (joren customers mode %s, or set store.mode: %s)", p.dir, meta.Mode, p.file, p.newMode, p.newMode, meta.Mode))
	}
	if p.cfg.Device.Timezone != "" && meta.Zone != p.newZone {
		g.log.Warn(fmt.Sprintf("identity store %s counts days in %s but device.timezone in %s says %s: joren run refuses to start until they agree", p.dir, meta.Zone, p.file, p.newZone))
	}
}

// check validates the store's flags (usage errors), for a command that
// does work (embedding faces) before it opens the store.
func (f *storeFlags) check(cmd *cobra.Command, g *globals) error {
	_, err := f.resolve(cmd, g)
	return err
}

// storeAccess is how a command uses the identity store.
type storeAccess int

const (
	// inspect reads the store and changes nothing (several readers may
	// share it); it must exist.
	inspect storeAccess = iota
	// change reads and writes it through its identity service; it must
	// exist.
	change
	// create is change, making the store first if there is none.
	create
)

// storeRequest is what a command asks of the store.
type storeRequest struct {
	access storeAccess
	// model is the model of the descriptors the command brings: a store
	// of another model is refused. The zero Model opens any store; a
	// store made now then records the installed model.
	model vocab.Model
	// newMode, if set, is the mode of a store made now (instead of
	// --mode).
	newMode store.Mode
	// noSpace is identity.Options.NoSpace: match by distance alone.
	noSpace bool
	// setsMode says the command manages the store's mode itself (no
	// warning that it differs from the configuration's).
	setsMode bool
}

// openedStore is an open identity store, with its identity service unless
// it was opened to inspect.
type openedStore struct {
	storePlace
	db  *store.Store
	svc *identity.Service
	// made says the store did not exist and was made now.
	made bool
}

// Close closes the store.
func (s *openedStore) Close() error { return s.db.Close() }

// open resolves the store's place and opens it as r asks.
func (f *storeFlags) open(cmd *cobra.Command, g *globals, r storeRequest) (*openedStore, error) {
	p, err := f.resolve(cmd, g)
	if err != nil {
		return nil, err
	}
	return p.open(g, r)
}

// open opens the store at p as r asks.
func (p storePlace) open(g *globals, r storeRequest) (*openedStore, error) {
	s := &openedStore{storePlace: p}
	model, zone := r.model, p.zone
	if r.access == create {
		if _, err := os.Stat(filepath.Join(p.dir, store.FileName)); err != nil {
			s.made = true
			if model.Dim == 0 {
				model = installedModel(g, p.modelDir)
			}
			switch {
			case r.newMode != "":
				s.mode = r.newMode
			case s.mode == "" && p.newMode != "":
				s.mode = p.newMode // the device's
			}
			if zone == "" {
				zone = p.newZone
			}
		}
	}
	st, err := store.Open(p.dir, store.Options{
		Model: model, Zone: zone, Create: r.access == create, ReadOnly: r.access == inspect,
		KeyFile: p.keyFile, Mode: s.mode, Limits: p.limits,
	})
	if errors.Is(err, store.ErrNoStore) {
		return nil, fmt.Errorf("%w (it is made by `joren run`, `joren replay --store DIR`, `joren staff add` or `joren customers add`)", err)
	}
	if err != nil {
		return nil, err
	}
	if st.KeyCreated() {
		g.log.Warn("made a new store key: keep a copy of it apart from the device; without it the store cannot be read", "key_file", p.keyFile)
	}
	s.db = st
	if r.access == inspect {
		return s, nil
	}
	s.svc, err = identity.New(st, identity.Options{Policy: p.policy, Log: g.log, Mode: s.mode, NoSpace: r.noSpace})
	if err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// installedModel describes the descriptors of the dlib model installed in
// dir without loading it: its digest is the one `joren models` recorded,
// the same one the recognizer reports, so stores made by replay and by
// staff enrolment agree.
func installedModel(g *globals, dir string) vocab.Model {
	m := dlib.Describe()
	man, err := models.ReadManifest(dir)
	if e, ok := man.Lookup(models.ResNetFile); err == nil && ok {
		m.Digest = e.SHA256
		return m
	}
	g.log.Warn("no model manifest: the store records the model without its digest", "models", dir)
	return m
}
