package appliance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"joren/appliance/control"

	"joren/device/indicator"
	"joren/vision/track"
	"joren/vocab"
)

// Stopping is bounded: systemd (TimeoutStopSec) and an updater wait for
// joren, and a stop that hangs ends in SIGKILL, losing the visits in view.
const (
	// drainBudget is how long the stages get, once stopped, to finish the
	// visits of the people in view: flushed by the tracker, decided,
	// stored, shown, put in the outbox, and delivered if the broker is
	// there. Past it, every stage gives up what it is waiting for.
	drainBudget = 3 * time.Second
	// stopBudget bounds Run's return after the stop: what a stage is in
	// the middle of (a detection, a store transaction, a maintenance
	// step, the broker's goodbye) gets the rest. A stage still running
	// then is abandoned (logged as an error; nothing is closed under it),
	// so that the process exits within 5 s of SIGTERM whatever happens.
	stopBudget = 4500 * time.Millisecond
)

// Run runs the appliance until ctx is done (a signal) or its source ends
// (a recording). Every decision is durable in the store, and its event in
// the outbox, before anyone is told of it, and a stop finishes the visits
// of the people in view.
//
// When ctx is done the camera stops at once; the stages downstream end as
// their inputs close, with the visits still in flight, and every send
// gives up drainBudget after the stop (a stage's context is cut then).
// Delivery to the broker gets what is left of the budget, and nothing if
// the broker is unreachable: the events wait in the outbox for the next
// start. Run returns within stopBudget of ctx being done, and returns nil
// for such a stop.
func (a *Appliance) Run(ctx context.Context) error {
	started := time.Now()
	// Restart (the page's settings) ends Run as a signal does.
	ctx, cancel := a.restartable(ctx)
	defer cancel()
	// run is the stages' life: cut drainBudget after the stop.
	run, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(drainBudget, abort) })()
	g, gctx := errgroup.WithContext(run)
	// stop is the signal, or a stage's failure: the camera, the
	// maintenance passes and the stages beside the pipeline (indicator,
	// button, HTTP, page, watchdog) stop at once.
	stop, stopNow := context.WithCancel(gctx)
	defer stopNow()
	defer context.AfterFunc(ctx, stopNow)()
	aux, auxCtx := errgroup.WithContext(stop)

	tracks := make(chan track.Visit)
	visits := make(chan vocab.Visit)
	decisions := make(chan vocab.Decision)
	toPublish := make(chan vocab.Decision)

	g.Go(func() error {
		// Stopped by a signal is the pipeline's normal end: it must not
		// cut the stages that finish the visits it handed over.
		if err := a.pipe.Run(stop, a.src, tracks); ctx.Err() == nil || !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
	g.Go(func() error { return a.visits(gctx, tracks, visits) })
	g.Go(func() error { return a.svc.RunUntil(gctx, stop, visits, decisions) })
	// The publisher stores every event before the next is taken, and
	// once its input closes delivers what it can, unless the broker is
	// unreachable at a stop: then its events wait in the outbox.
	pubCtx, stopPub := context.WithCancel(gctx)
	defer stopPub()
	g.Go(func() error {
		err := a.fanOut(gctx, decisions, toPublish)
		if stop.Err() != nil && a.pub.Broker().State != vocab.BrokerConnected {
			stopPub()
		}
		return err
	})
	g.Go(func() error { return a.pub.Run(pubCtx, toPublish) })

	// The indicator outlives the stages by the patterns it still has to
	// show when a recording ends (await drains it); a signal or a
	// stage's failure cuts it at once.
	indCtx, stopInd := context.WithCancel(context.WithoutCancel(ctx))
	defer stopInd()
	defer context.AfterFunc(ctx, stopInd)()
	if a.ind != nil {
		aux.Go(func() error { return a.ind.Run(indCtx) })
		a.ind.Show(indicator.Started) // the lamp test
	}
	if a.btn != nil {
		aux.Go(func() error { return a.btn.Serve(auxCtx, a.pressed) })
	}
	if a.httpLn != nil {
		aux.Go(func() error { return a.serveHTTP(auxCtx) })
	}
	if a.page != nil {
		aux.Go(func() error { return a.servePage(auxCtx) })
		port := a.pageLn.Addr().(*net.TCPAddr).Port
		aux.Go(func() error { return a.announce(auxCtx, port) })
	}
	if a.ctlLn != nil {
		aux.Go(func() error {
			return control.Serve(auxCtx, a.ctlLn, a.ops, control.ServeOptions{Version: a.o.Version, Log: a.log})
		})
	}
	aux.Go(func() error { return a.maintainNightly(auxCtx) })
	aux.Go(func() error { return a.watchClock(auxCtx) })
	aux.Go(func() error { return a.watchdog(auxCtx) })

	a.o.Notifier.Ready()
	a.log.Info("joren running", "device", a.device, "site", a.cfg.Device.Site, "camera", a.src.String(), "model", a.model.ID(),
		"store", a.storeDir(), "identities", a.svc.Len(), "outbox_pending", a.box.Len())
	err := a.await(ctx, g, aux, stopNow, stopInd)
	for _, l := range a.lines {
		l.Halt()
	}
	ps, cs := a.pipe.Stats(), a.src.Stats()
	a.log.Info("joren stopped", "ran", time.Since(started).Round(time.Second), "frames", ps.Frames, "dropped", cs.Dropped,
		"visits", ps.Visits, "decided", a.svc.Counters().Decided, "outbox_pending", a.box.Len())
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil // a signal: a normal stop
	}
	return err
}

// await waits for the stages to end (the source ended, a stage failed, or
// ctx is done and they finished the visits in view), then for the stages
// beside them, each wait bounded by stopBudget from the stop. A stage that
// does not end in time is abandoned: Close then leaves everything open
// (it may be in use) to the process's exit.
func (a *Appliance) await(ctx context.Context, g, aux *errgroup.Group, stop, stopInd context.CancelFunc) error {
	stages, sides := make(chan error, 1), make(chan error, 1)
	go func() { stages <- g.Wait() }()
	var (
		err   error
		ended bool
	)
	select {
	case err = <-stages:
		ended = true
	case <-ctx.Done():
	}
	stopped := time.Now()
	a.o.Notifier.Stopping()
	stop()
	if ended && err == nil && a.ind != nil {
		// A recording that ended: its last decisions' patterns are shown
		// whole (a signal cuts them short).
		drain, cancel := context.WithTimeout(context.Background(), drainBudget)
		a.ind.Drain(drain)
		cancel()
	}
	stopInd()
	go func() { sides <- aux.Wait() }()
	limit := time.NewTimer(stopBudget)
	defer limit.Stop()
	if !ended {
		select {
		case err = <-stages:
		case <-limit.C:
			a.abandoned = true
			a.log.Error("the stages did not stop in time; abandoned", "waited", stopBudget)
			return err
		}
	}
	select {
	case aerr := <-sides:
		if err == nil && !errors.Is(aerr, context.Canceled) {
			err = aerr
		}
	case <-limit.C:
		a.abandoned = true
		a.log.Error("the indicator, button, web pages or maintenance did not stop in time; abandoned", "waited", stopBudget)
	}
	a.log.Debug("stages stopped", "took", time.Since(stopped).Round(time.Millisecond))
	return err
}

// maintainNightly runs the maintenance pass at the configured local hour
// (the identity stage also runs it before the first visit of a day, so a
// box that is off at night still maintains its store). A recording timed
// by camera.clock has only the passes its visits' days call for: its
// simulated days mean nothing to the wall clock.
func (a *Appliance) maintainNightly(ctx context.Context) error {
	if a.cfg.Camera.Clock != "" {
		return nil
	}
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
		switch {
		case ctx.Err() != nil:
			return nil // stopped: the next pass resumes where this one stopped
		case err != nil:
			a.log.Error("maintenance pass failed; it is tried again with the next visit", "error", err)
			continue
		}
		a.log.Info("maintenance pass", "report", fmt.Sprintf("%+v", rep))
	}
}
