package appliance

import (
	"errors"
	"fmt"
	"net"

	"joren/appliance/control"
)

// openListeners opens the addresses of the health endpoint, the
// installer's page and the control socket. They are opened by Open, not by
// Run: an address in use is a mistake to report at start, and a page that
// cannot listen must not stop the stages that share its errgroup.
func (a *Appliance) openListeners() error {
	if p := a.cfg.Control.Socket; p != "" {
		// Not fatal: the door works without it. Health reports it, and
		// the commands need the service stopped until it is fixed.
		ln, err := control.Listen(p)
		if err != nil {
			a.ctlErr = fmt.Errorf("%w: joren staff, customers, forget and store need the service stopped until this is fixed", err)
			a.log.Error("no control socket", "key", "control.socket", "error", a.ctlErr)
		} else {
			a.ctlLn = ln
			a.onClose(closeListener(ln)) // closing removes the socket file
		}
	}
	if l := a.cfg.HTTP.Listen; l != "" {
		ln, err := listen("http.listen", l)
		if err != nil {
			return err
		}
		a.httpLn = ln
		a.onClose(closeListener(ln))
	}
	if a.page != nil {
		ln, err := listen("installer.listen", a.cfg.Installer.Listen)
		if err != nil {
			return err
		}
		a.pageLn = ln
		a.onClose(closeListener(ln))
	}
	return nil
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
