package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"joren/appliance/config"
	"joren/appliance/installer"
	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/device/button"
	"joren/device/indicator"
	"joren/device/pins"
	"joren/sync/event"
	"joren/sync/outbox"
	"joren/sync/publish"
	"joren/vision/capture"
	"joren/vision/dlib"
	"joren/vision/models"
	"joren/vision/onnx"
	"joren/vision/pipeline"
	"joren/vision/quality"
	"joren/vision/track"
	"joren/vocab"
)

// Options are what Run takes beyond the configuration: the build's
// version, and what the demo and the tests replace.
type Options struct {
	// Log receives what the appliance does (nil: discarded).
	Log     *slog.Logger
	Version string
	// IndicatorOutput, if set, replaces the configured indicator output.
	IndicatorOutput indicator.Output
	// OnDecision, if set, is called with every decision once it is
	// durable (the demo prints them; tests check them). It must not block.
	OnDecision func(vocab.Decision, vocab.Visit)
	// Notifier tells the service manager about readiness and liveness
	// (nil: systemd's sd_notify, a no-op outside systemd).
	Notifier Notifier
}

// Appliance is a configured, opened door camera. Open, then Run once.
type Appliance struct {
	cfg     config.Config
	o       Options
	log     *slog.Logger
	zone    *time.Location
	device  string
	dataDir string

	frames  *dlib.Frames
	net     *onnx.Net
	desc    pipeline.Describer
	model   vocab.Model
	st      *store.Store
	svc     *identity.Service
	box     *outbox.Outbox
	maker   *event.Maker
	pub     *publish.Publisher
	ind     *indicator.Indicator
	lines   []interface{ Halt() error }
	btn     *button.Button
	forget  *ForgetLast
	src     *capture.Source
	pipe    *pipeline.Pipeline
	metrics *metrics
	recent  *recent
	live    *installer.Live
	page    *installer.Server
	pageLn  net.Listener
	httpLn  net.Listener

	closers []func() error
}

// Open loads the models, opens the store, the outbox, the camera and the
// GPIO lines, checking everything before anything runs: a wrong path or a
// missing pin is reported at once, with what to fix.
func Open(cfg config.Config, o Options) (_ *Appliance, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Notifier == nil {
		o.Notifier = systemdNotifier{}
	}
	a := &Appliance{cfg: cfg, o: o, log: o.Log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := a.resolveDevice(); err != nil {
		return nil, err
	}
	if err := a.openModels(); err != nil {
		return nil, err
	}
	if err := a.openStore(); err != nil {
		return nil, err
	}
	if err := a.openEvents(); err != nil {
		return nil, err
	}
	if err := a.openIndicator(); err != nil {
		return nil, err
	}
	a.recent = newRecent(20, a.zone)
	if err := a.openInstaller(); err != nil {
		return nil, err
	}
	if err := a.openCamera(); err != nil {
		return nil, err
	}
	a.metrics = newMetrics(a)
	// The listeners are opened here, not in Run: an address in use is a
	// mistake to report at start, and a page that cannot listen must not
	// stop the stages that share its errgroup.
	if l := a.cfg.HTTP.Listen; l != "" {
		ln, err := listen("http.listen", l)
		if err != nil {
			return nil, err
		}
		a.httpLn = ln
		a.onClose(closeListener(ln))
	}
	if a.page != nil {
		ln, err := listen("installer.listen", a.cfg.Installer.Listen)
		if err != nil {
			return nil, err
		}
		a.pageLn = ln
		a.onClose(closeListener(ln))
	}
	return a, nil
}

// listen opens the address of configuration key key.
func listen(key, addr string) (net.Listener, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("%s: %q: want host:port, such as 127.0.0.1:9180 or :8080", key, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return ln, nil
}

// closeListener closes l at Close if serving it has not already.
func closeListener(l net.Listener) func() error {
	return func() error {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
}

func (a *Appliance) onClose(f func() error) { a.closers = append(a.closers, f) }

// Close releases everything Open took, in reverse order.
func (a *Appliance) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

func (a *Appliance) resolveDevice() error {
	c := a.cfg
	a.zone = time.Local
	if c.Device.Timezone != "" {
		z, err := time.LoadLocation(c.Device.Timezone)
		if err != nil {
			return fmt.Errorf("device.timezone: %w", err)
		}
		a.zone = z
	}
	a.dataDir = c.Device.DataDir
	if err := os.MkdirAll(a.dataDir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory (device.data_dir): %w", err)
	}
	return nil
}

func (a *Appliance) openModels() error {
	v := a.cfg.Vision
	cnn := v.Detector == "cnn"
	frames, err := dlib.OpenFrames(a.cfg.Device.Models, cnn)
	if err != nil {
		return fmt.Errorf("device.models: %w", err)
	}
	a.frames = frames
	a.onClose(frames.Close)
	a.desc, a.model = frames, frames.Model()
	if v.Embedder == "onnx" {
		s, err := models.FindONNX(a.cfg.Device.Models, v.ONNXModel)
		if err != nil {
			return fmt.Errorf("vision.onnx_model: %w", err)
		}
		net, err := onnx.Open(filepath.Join(a.cfg.Device.Models, s.File()), s)
		if err != nil {
			return err
		}
		a.net = net
		a.onClose(net.Close)
		a.desc, a.model = pipeline.NetDescriber{Shapes: frames, Net: net}, net.Model()
	}
	a.log.Info("face models loaded", "models", a.cfg.Device.Models, "model", a.model.ID(), "detector", v.Detector)
	return nil
}

func (a *Appliance) storeDir() string {
	if a.cfg.Store.Dir != "" {
		return a.cfg.Store.Dir
	}
	return filepath.Join(a.dataDir, "store")
}

func (a *Appliance) openStore() error {
	c := a.cfg
	lim := store.DefaultLimits()
	lim.MaxIdentities = c.Store.MaxIdentities
	if c.Store.MaxBytes > 0 {
		lim.MaxBytes = c.Store.MaxBytes
	}
	mode, err := store.ParseMode(c.Store.Mode)
	if err != nil {
		return fmt.Errorf("store.mode: %w", err)
	}
	st, err := store.Open(a.storeDir(), store.Options{Model: a.model, Zone: a.zone.String(), Create: true, Limits: lim, KeyFile: c.Store.KeyFile, Mode: mode})
	var ke *store.KeyError
	var ee *store.EncryptedError
	if errors.As(err, &ke) || errors.As(err, &ee) {
		return fmt.Errorf("store.key_file: %w", err)
	}
	if err != nil {
		return err
	}
	a.st = st
	a.onClose(st.Close)
	switch {
	case st.KeyCreated():
		a.log.Warn("made a new key for the identity store: back it up, without it the store cannot be read", "key_file", c.Store.KeyFile)
	case !st.Encrypted():
		a.log.Warn("the identity store is not encrypted (store.key_file is empty)", "store", a.storeDir())
	}
	pol := identity.Policy{
		RegularDays: c.Regular.Days,
		Window:      c.Regular.WindowDays,
		MergeWindow: time.Duration(c.Regular.MergeMinutes) * time.Minute,
		Retention:   c.Store.RetentionDays,
	}
	svc, err := identity.New(st, identity.Options{Policy: pol, Log: a.log, Mode: mode})
	if err != nil {
		return err
	}
	a.svc = svc
	a.forget = NewForgetLast(forgetter{svc}, 2*time.Minute)
	return nil
}

// forgetter adapts the identity service to what the button and the
// command topic need.
type forgetter struct{ svc *identity.Service }

func (f forgetter) Forget(_ context.Context, id string) error {
	_, _, err := f.svc.Forget(id)
	return err
}

func (f forgetter) Visitors(ctx context.Context) ([]string, error) { return f.svc.Visitors(ctx) }

func (a *Appliance) openIndicator() error {
	c := a.cfg.Indicator
	ps := indicator.DefaultPatterns()
	for kind, p := range map[indicator.Kind]string{indicator.Regular: c.Regular, indicator.BecameRegular: c.NewRegular} {
		if p == "" {
			continue
		}
		if err := ps.Set(string(kind) + "=" + p); err != nil {
			return fmt.Errorf("indicator: %w", err)
		}
	}
	var out indicator.Output
	switch {
	case a.o.IndicatorOutput != nil:
		out = a.o.IndicatorOutput
	case c.Kind == "log":
		out = indicator.NewLog(a.log)
	case c.Kind == "gpio":
		var led, buzz indicator.Line
		for _, p := range []struct {
			key, spec string
			dst       *indicator.Line
		}{{"indicator.led", c.LED, &led}, {"indicator.buzzer", c.Buzzer, &buzz}} {
			if p.spec == "" {
				continue
			}
			spec, err := pins.Parse(p.spec)
			if err != nil {
				return fmt.Errorf("%s: %w", p.key, err)
			}
			line, err := pins.OpenOutput(spec)
			if err != nil {
				return fmt.Errorf("%s: %w", p.key, err)
			}
			*p.dst = line
			a.lines = append(a.lines, line)
		}
		out = indicator.NewGPIO(led, buzz)
	}
	if out != nil {
		a.ind = indicator.New(out, ps, a.log)
	}
	if c.Button != "" {
		spec, err := pins.Parse(c.Button)
		if err != nil {
			return fmt.Errorf("indicator.button: %w", err)
		}
		in, err := pins.OpenInput(spec)
		if err != nil {
			return fmt.Errorf("indicator.button: %w", err)
		}
		a.lines = append(a.lines, in)
		a.btn = button.New(in, button.Options{Hold: 2 * time.Second}, a.log)
	}
	return nil
}

func (a *Appliance) openCamera() error {
	c := a.cfg
	co := capture.Options{Width: c.Camera.Width, Height: c.Camera.Height, FPS: c.Camera.FPS, Log: a.log}
	if c.Camera.Clock != "" {
		tl, err := capture.ReadTimeline(c.Camera.Clock)
		if err != nil {
			return fmt.Errorf("camera.clock: %w", err)
		}
		co.Timeline = tl
	}
	src, err := capture.Open(c.Camera.Source, co)
	if err != nil {
		return fmt.Errorf("camera.source: %w", err)
	}
	// A camera may be plugged in after boot, but a recording that is not
	// there is a typo.
	if k := src.Spec().Kind; !k.Live() {
		if _, err := os.Stat(src.Spec().Path); err != nil {
			return fmt.Errorf("camera.source: %w", err)
		}
	}
	a.src = src
	pc := pipeline.Config{
		CNN:         c.Vision.Detector == "cnn",
		DetectWidth: c.Vision.DetectWidth,
		Gate:        quality.Gate{MinFace: c.Vision.MinFace, MinSharpness: c.Vision.MinSharpness, MinFrontal: c.Vision.MinFrontal},
		Log:         a.log,
	}
	pc.Track.K = c.Vision.Descriptors
	if a.live != nil {
		pc.Preview = a.live
	}
	if c.Vision.DebugDir != "" {
		dbg, err := pipeline.NewDebugDir(c.Vision.DebugDir)
		if err != nil {
			return fmt.Errorf("vision.debug_dir: %w", err)
		}
		a.onClose(dbg.Close)
		pc.Debug = dbg
		a.log.Warn("DEBUG: every described face's picture is written to disk (vision.debug_dir)", "dir", c.Vision.DebugDir)
	}
	a.pipe = pipeline.New(a.frames, a.desc, pc)
	return nil
}

// Run runs the appliance until ctx is done (a signal) or its source ends
// (a recording). Every decision is durable in the store, and its event in
// the outbox, before Run returns; delivery to the broker gets a few
// seconds at shutdown, then waits for the next start.
func (a *Appliance) Run(ctx context.Context) error {
	started := time.Now()
	// Stages that live as long as the pipeline (indicator, delivery,
	// button, HTTP, watchdog) stop when it is done or ctx is.
	auxCtx, stopAux := context.WithCancel(ctx)
	defer stopAux()
	g, gctx := errgroup.WithContext(ctx)
	aux, auxGctx := errgroup.WithContext(auxCtx)

	tracks := make(chan track.Visit)
	visits := make(chan vocab.Visit)
	decisions := make(chan vocab.Decision)
	toPublish := make(chan vocab.Decision)

	g.Go(func() error { return a.pipe.Run(gctx, a.src, tracks) })
	g.Go(func() error { return a.visits(gctx, tracks, visits) })
	g.Go(func() error { return a.svc.Run(gctx, visits, decisions) })
	g.Go(func() error { return a.fanOut(gctx, decisions, toPublish) })
	// The publisher stores every event before the next is taken, and
	// once its input closes delivers what it can.
	g.Go(func() error { return a.pub.Run(auxCtx, toPublish) })

	if a.ind != nil {
		aux.Go(func() error { return a.ind.Run(auxGctx) })
		a.ind.Show(indicator.Started) // the lamp test
	}
	if a.btn != nil {
		aux.Go(func() error { return a.btn.Serve(auxGctx, a.forgetLast) })
	}
	if a.httpLn != nil {
		aux.Go(func() error { return a.serveHTTP(auxGctx) })
	}
	if a.page != nil {
		aux.Go(func() error { return a.page.Serve(auxGctx, a.pageLn) })
	}
	aux.Go(func() error { return a.maintainNightly(auxGctx) })
	aux.Go(func() error { return a.watchdog(auxGctx) })

	a.o.Notifier.Ready()
	a.log.Info("joren running", "device", a.device, "site", a.cfg.Device.Site, "camera", a.src.Spec(), "model", a.model.ID(),
		"store", a.storeDir(), "identities", a.svc.Len(), "outbox_pending", a.box.Len())
	err := g.Wait()
	a.o.Notifier.Stopping()
	stopAux()
	if aerr := aux.Wait(); err == nil && !errors.Is(aerr, context.Canceled) {
		err = aerr
	}
	for _, l := range a.lines {
		l.Halt()
	}
	ps, cs := a.pipe.Stats(), a.src.Stats()
	a.log.Info("joren stopped", "ran", time.Since(started).Round(time.Second), "frames", ps.Frames, "dropped", cs.Dropped,
		"visits", ps.Visits, "decided", a.svc.Counters().Decided, "outbox_pending", a.box.Len())
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // a signal: a normal stop
	}
	return err
}

// visits passes on the visits the identity store can use.
func (a *Appliance) visits(ctx context.Context, in <-chan track.Visit, out chan<- vocab.Visit) error {
	defer close(out)
	for v := range in {
		a.metrics.visit(v.Usable())
		if !v.Usable() {
			a.log.Debug("visit without a usable face", "visit", v.ID, "faces", v.Faces)
			continue
		}
		select {
		case out <- v.Visit:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// fanOut acts on every durable decision: the indicator first (staff must
// not wait for the network or the disk), then the outbox.
func (a *Appliance) fanOut(ctx context.Context, in <-chan vocab.Decision, publish chan<- vocab.Decision) error {
	defer close(publish)
	for d := range in {
		if a.ind != nil {
			a.ind.Show(kindOf(d))
		}
		a.forget.Observe(d)
		a.metrics.decision(d)
		a.recent.add(d)
		a.log.Info("visit decided", decisionAttrs(d)...)
		if a.o.OnDecision != nil {
			a.o.OnDecision(d, vocab.Visit{})
		}
		select {
		case publish <- d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func decisionAttrs(d vocab.Decision) []any {
	kind := string(kindOf(d))
	attrs := []any{"visit", d.Visit, "time", d.Time.Format(time.RFC3339), "kind", kind}
	if d.Staff != "" {
		return append(attrs, "staff", d.Staff)
	}
	if d.Unknown {
		return append(attrs, "visitor", "not enrolled", "confidence", fmt.Sprintf("%.2f", d.Confidence))
	}
	return append(attrs, "visitor", d.Visitor, "visits", d.Visits, "days", d.Days, "regular", d.Regular, "confidence", fmt.Sprintf("%.2f", d.Confidence))
}

// forgetLast is the button's action.
func (a *Appliance) forgetLast(ctx context.Context) error {
	err := a.forget.Do(ctx)
	if err == nil && a.ind != nil {
		a.ind.Show(indicator.Forgot)
	}
	return err
}

// maintainNightly runs the maintenance pass at the configured local hour
// (the identity stage also runs it before the first visit of a day, so a
// box that is off at night still maintains its store).
func (a *Appliance) maintainNightly(ctx context.Context) error {
	for {
		now := time.Now().In(a.zone)
		next := time.Date(now.Year(), now.Month(), now.Day(), a.cfg.Store.MaintainHour, 0, 0, 0, a.zone)
		if !next.After(now) {
			next = next.AddDate(0, 0, 1)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(next)):
		}
		if !a.svc.MaintenanceDue(time.Now()) {
			continue
		}
		rep, err := a.svc.Maintain(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			a.log.Error("maintenance pass failed; it is tried again with the next visit", "error", err)
			continue
		}
		a.log.Info("maintenance pass", "report", fmt.Sprintf("%+v", rep))
	}
}
