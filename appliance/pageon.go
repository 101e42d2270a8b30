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
	// A request while the page is on has nothing to do. It is the page
	// that says, not servePage: the page refuses connections as soon as
	// it turns off, before Serve returns, and a press in that moment must
	// not be lost.
	if a.page.On() {
		return nil
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
				// Presses made while it was being turned on are
				// answered by this one.
				select {
				case <-a.pageOn:
				default:
				}
			}
		}
	}
}
