package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"joren/appliance/config"
	"joren/appliance/control"
	"joren/appliance/installer"
	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/device/button"
	"joren/device/indicator"
	"joren/sync/event"
	"joren/sync/outbox"
	"joren/sync/publish"
	"joren/vision/camera"
	"joren/vision/pipeline"
	"joren/vocab"
)

// Options are what Open takes beyond the configuration: the camera side,
// the build's version, and what the demo and the tests replace.
type Options struct {
	// Log receives what the appliance does (nil: discarded).
	Log     *slog.Logger
	Version string
	// Built is when the firmware was built: the wall clock is never
	// believed before it (zero: unknown).
	Built time.Time
	// IndicatorOutput, if set, replaces the configured indicator output.
	IndicatorOutput indicator.Output
	// OnDecision, if set, is called with every decision once it is
	// durable (the demo prints them; tests check them). It must not block.
	OnDecision func(vocab.Decision, vocab.Visit)
	// Notifier tells the service manager about readiness and liveness
	// (nil: systemd's sd_notify, a no-op outside systemd).
	Notifier Notifier
	// Camera opens the face models and the camera (required): they need
	// cgo, which the appliance does not; cmd/joren passes
	// vision/camera/cv's Driver.
	Camera Camera
	// ConfigFile is the configuration file cfg was loaded from (joren run
	// --config): the box's page changes settings in it, and a
	// configuration that joren-provision rejected is reported beside it
	// (RejectedFile). Empty: the page has no settings.
	ConfigFile string
}

// Appliance is a configured, opened door camera. Open, then Run once.
type Appliance struct {
	cfg     config.Config
	o       Options
	log     *slog.Logger
	zone    *time.Location
	device  string
	dataDir string

	faces   camera.Faces
	model   vocab.Model
	st      *store.Store
	svc     *identity.Service
	ops     *control.Ops
	box     *outbox.Outbox
	maker   *event.Maker
	pub     *publish.Publisher
	ind     *indicator.Indicator
	lines   []interface{ Halt() error }
	btn     *button.Button
	forget  *ForgetLast
	src     camera.Source
	pipe    *pipeline.Pipeline
	metrics *metrics
	recent  *recent
	live    *installer.Live
	capture *installer.Capture
	page    *installer.Server
	pageLn  net.Listener
	pageOn  chan string // asks the page to turn on again, saying who asked
	httpLn  net.Listener
	ctlLn   net.Listener
	ctlErr  error // why there is no control socket
	// restart, set while Run runs, stops it as a signal would: a clean
	// exit that systemd answers by starting joren again.
	restartMu sync.Mutex
	restart   context.CancelFunc
	// cameraGrace overrides the camera's grace time (tests; 0: the
	// constant).
	cameraGrace time.Duration

	closers []func() error
	// abandoned is set when a stage did not stop within stopBudget: it
	// may still be using what Close would release.
	abandoned bool
}

// Open loads the models, opens the store, the outbox, the camera and the
// GPIO lines, checking everything before anything runs: a wrong path or a
// missing pin is reported at once, with what to fix.
func Open(cfg config.Config, o Options) (_ *Appliance, err error) {
	if o.Camera == nil {
		return nil, errors.New("appliance: no camera driver (Options.Camera)")
	}
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
	if err := a.openFaces(); err != nil {
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
	if err := a.openListeners(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Appliance) onClose(f func() error) { a.closers = append(a.closers, f) }

// Close releases everything Open took, in reverse order. After a Run
// whose stages did not stop in time it releases nothing: they may still be
// using it, and the process is about to exit (what is in the store and the
// outbox was committed).
func (a *Appliance) Close() error {
	if a.abandoned {
		return errors.New("a stage did not stop in time: nothing was closed")
	}
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// resolveDevice settles the box's name, its time zone and its data
// directory.
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

// forgetter adapts the identity service to what the button and the
// command topic need.
type forgetter struct{ svc *identity.Service }

func (f forgetter) Forget(_ context.Context, id string) error {
	_, _, err := f.svc.Forget(id)
	return err
}

func (f forgetter) Visitors(ctx context.Context) ([]string, error) { return f.svc.Visitors(ctx) }
