package appliance

import (
	"context"
	"errors"
)

// ErrNoPage means the box has no page to turn on (installer.enabled is
// off).
var ErrNoPage = errors.New("the box's page is not enabled (installer.enabled: false)")

// TurnPageOn turns the box's page on again after it turned itself off, for
// another installer.off_after_minutes; by says who asked (the button, head
// office's command), for the journal. It never blocks.
func (a *Appliance) TurnPageOn(by string) error {
	if a.pageOn == nil {
		return ErrNoPage
	}
	select {
	case a.pageOn <- by:
	default: // already asked
	}
	return nil
}

// servePage serves the page until ctx is done; each time it turns itself
// off, it waits for TurnPageOn, listens again and serves it again.
func (a *Appliance) servePage(ctx context.Context) error {
	ln := a.pageLn
	for {
		if err := a.page.Serve(ctx, ln); err != nil {
			return err
		}
		// Requests made while the page was on have nothing to do.
		select {
		case <-a.pageOn:
		default:
		}
		for ln = nil; ln == nil; {
			select {
			case <-ctx.Done():
				return nil
			case by := <-a.pageOn:
				l, err := listen("installer.listen", a.cfg.Installer.Listen)
				if err != nil {
					// The address may have been taken meanwhile: say
					// so, and wait for the next request.
					a.log.Error("cannot turn the box's page on again", "by", by, "error", err)
					continue
				}
				ln = l
				a.log.Warn("the box's page is turned on again", "by", by)
			}
		}
	}
}
