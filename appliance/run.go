package appliance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"joren/appliance/control"

	"joren/device/indicator"
	"joren/vision/track"
	"joren/vocab"
)

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
	if a.ctlLn != nil {
		aux.Go(func() error {
			return control.Serve(auxGctx, a.ctlLn, a.ops, control.ServeOptions{Version: a.o.Version, Log: a.log})
		})
	}
	aux.Go(func() error { return a.maintainNightly(auxGctx) })
	aux.Go(func() error { return a.watchdog(auxGctx) })

	a.o.Notifier.Ready()
	a.log.Info("joren running", "device", a.device, "site", a.cfg.Device.Site, "camera", a.src.String(), "model", a.model.ID(),
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
