package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"joren/appliance/control"
	"joren/cluster/identity"
)

// identityOps are what the commands ask of the identity store: the
// operations of a store opened here (control.Ops), or of the running
// service through its control socket (control.Client). One implementation
// answers both ways, so the commands print the same and exit alike.
type identityOps interface {
	Info(context.Context) (control.Info, error)
	Stats(context.Context) (identity.Stats, error)
	Export(context.Context, io.Writer, bool) error
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
	Forget(context.Context, string) (control.Forgotten, error)
	ForgetFace(context.Context, control.Faces) (control.Forgotten, error)
}

// storeSession is a command's way to the store.
type storeSession struct {
	storePlace
	ops identityOps
	// service is set when the operations go to the running service.
	service *control.Info
	// made says the store did not exist and was made now.
	made  bool
	close func() error
}

// Close ends the session (closes the store opened here).
func (s *storeSession) Close() error { return s.close() }

// session resolves the store's place and reaches the store: through the
// running service if one serves it on the configuration's control socket,
// else by opening it here as r asks.
func (f *storeFlags) session(cmd *cobra.Command, g *globals, r storeRequest) (*storeSession, error) {
	p, err := f.resolve(cmd, g)
	if err != nil {
		return nil, err
	}
	if p.socket != "" {
		cl, err := control.Dial(cmd.Context(), p.socket)
		switch {
		case errors.Is(err, control.ErrNoService):
			g.log.Debug("no running service: opening the store", "socket", p.socket)
		case err != nil:
			return nil, fmt.Errorf("%w (or give --config \"\" to open the store without the service)", err)
		default:
			info, _ := cl.Info(cmd.Context())
			if sameDir(info.Store, p.dir) {
				if err := p.policyAgrees(info.Policy); err != nil {
					cl.Close()
					return nil, err
				}
				g.log.Debug("through the running service", "socket", p.socket, "version", info.Version, "pid", info.PID)
				return &storeSession{storePlace: p, ops: cl, service: &info, close: cl.Close}, nil
			}
			// Another store than the service's (--store): it is free.
			cl.Close()
		}
	}
	st, err := p.open(g, r)
	if err != nil {
		return nil, err
	}
	p.checkDevice(g, st.db.Meta(), r)
	ops := control.New(st.db, st.svc, control.Options{Policy: p.policy, Log: g.log})
	return &storeSession{storePlace: p, ops: ops, made: st.made, close: st.Close}, nil
}

// run is the RunE of a command that works on the store: it reaches the
// store as r asks, runs do on it, and closes it.
func (f *storeFlags) run(g *globals, r storeRequest, do func(cmd *cobra.Command, args []string, s *storeSession) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := f.session(cmd, g, r)
		if err != nil {
			return err
		}
		defer s.Close()
		return opError(do(cmd, args, s))
	}
}

// opError makes a refused request a usage error (exit status 2), as when
// the command line itself is wrong.
func opError(err error) error {
	var e *control.Error
	if errors.As(err, &e) && (e.Kind == control.Invalid || e.Kind == control.Confirm) {
		return usageError{err}
	}
	return err
}

// sameDir tells whether two paths name one directory.
func sameDir(a, b string) bool {
	clean := func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	return clean(a) == clean(b)
}
