package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	// Version is the service's build, told to clients (Info).
	Version string
	// Log receives who asked for what (nil: discarded).
	Log *slog.Logger
	// Allow says whether a peer may use the socket (default: root and
	// the service's own user).
	Allow func(Peer) bool
}

// Serve answers the operations of ops on ln until ctx is done. Each
// connection's peer is checked first; a refused peer is logged and
// disconnected. Operations run under ctx, not the request's: a change a
// command asked for completes even if the command is interrupted.
func Serve(ctx context.Context, ln net.Listener, ops *Ops, o ServeOptions) error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Allow == nil {
		me := uint32(os.Geteuid())
		o.Allow = func(p Peer) bool { return p.UID == 0 || p.UID == me }
	}
	s := &server{ctx: ctx, ops: ops, o: o}
	srv := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if pc, ok := c.(peerConn); ok {
				return context.WithValue(ctx, peerKey{}, pc.peer)
			}
			return ctx
		},
		ErrorLog: slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	o.Log.Info("control socket", "path", ln.Addr().String())
	err := srv.Serve(peerListener{Listener: ln, allow: o.Allow, log: o.Log})
	if errors.Is(err, http.ErrServerClosed) || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("control socket: %w", err)
}

type server struct {
	ctx context.Context
	ops *Ops
	o   ServeOptions
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	o := s.ops
	none := func(h func(context.Context) (any, error)) func(context.Context, struct{}) (any, error) {
		return func(ctx context.Context, _ struct{}) (any, error) { return h(ctx) }
	}
	handle(s, mux, "GET "+routeInfo, none(func(ctx context.Context) (any, error) {
		i, err := o.Info(ctx)
		i.Version, i.PID = s.o.Version, os.Getpid()
		return i, err
	}))
	handle(s, mux, "GET "+routeStats, none(func(ctx context.Context) (any, error) { return o.Stats(ctx) }))
	mux.HandleFunc("POST "+routeExport, s.export)
	handle(s, mux, "POST "+routeCheck, none(func(ctx context.Context) (any, error) { return struct{}{}, o.Check(ctx) }))
	handle(s, mux, "POST "+routeMaintain, func(ctx context.Context, m maintain) (any, error) { return o.Maintain(ctx, m.TrustClock) })
	handle(s, mux, "GET "+routeStaff, none(func(ctx context.Context) (any, error) { return o.Staff(ctx) }))
	handle(s, mux, "POST "+routeStaffAdd, func(ctx context.Context, e Enrolment) (any, error) { return o.AddStaff(ctx, e) })
	handle(s, mux, "POST "+routeStaffRemove, func(ctx context.Context, n name) (any, error) { return struct{}{}, o.RemoveStaff(ctx, n.Name) })
	handle(s, mux, "GET "+routeCustomers, none(func(ctx context.Context) (any, error) { return o.Customers(ctx) }))
	handle(s, mux, "POST "+routeCustomerAdd, func(ctx context.Context, e Enrolment) (any, error) { return o.AddCustomer(ctx, e) })
	handle(s, mux, "POST "+routeCustomerRemove, func(ctx context.Context, n name) (any, error) { return o.RemoveCustomer(ctx, n.Name) })
	handle(s, mux, "GET "+routeMode, none(func(ctx context.Context) (any, error) { return o.Mode(ctx) }))
	handle(s, mux, "POST "+routeSetMode, func(ctx context.Context, r ModeRequest) (any, error) { return o.SetMode(ctx, r) })
	handle(s, mux, "POST "+routeMatch, func(ctx context.Context, f Faces) (any, error) { return o.Match(ctx, f) })
	handle(s, mux, "POST "+routeForget, func(ctx context.Context, v visitor) (any, error) { return o.Forget(ctx, v.Visitor) })
	handle(s, mux, "POST "+routeForgetFace, func(ctx context.Context, f Faces) (any, error) { return o.ForgetFace(ctx, f) })
	return mux
}

// handle serves one operation: the request's JSON body (none for GET)
// decoded into Req, the answer or the refusal encoded as JSON.
func handle[Req any](s *server, mux *http.ServeMux, pattern string, op func(context.Context, Req) (any, error)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var req Req
		if r.Method != http.MethodGet {
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				writeError(w, refuse(Invalid, "%s: bad request body: %v", r.URL.Path, err))
				return
			}
		}
		// The service's context: the operation is not abandoned halfway
		// because the command that asked went away.
		resp, err := op(s.ctx, req)
		s.logRequest(r, start, err)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
}

// export answers an export: every visitor, customer and staff member, one
// JSON object a line.
func (s *server) export(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req export
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		writeError(w, refuse(Invalid, "%s: bad request body: %v", r.URL.Path, err))
		return
	}
	var (
		b   bytes.Buffer
		err error
	)
	if req.WithDescriptors {
		// Descriptors are biometric data: such an export is a deliberate
		// act, with the service stopped.
		err = refuse(Failed, "an export with descriptors needs the store to itself: stop the service first (systemctl stop joren)")
	} else {
		// Buffered (the store is bounded), so the store's read transaction
		// lasts as long as the export takes, not as long as the reader
		// dawdles.
		err = s.ops.Export(s.ctx, &b, false)
	}
	s.logRequest(r, start, err)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Write(b.Bytes())
}

// reads are the routes that change nothing besides the GETs.
var reads = map[string]bool{routeExport: true, routeCheck: true, routeMatch: true}

// logRequest logs who asked for what: changes at info, reads at debug.
func (s *server) logRequest(r *http.Request, start time.Time, err error) {
	peer, _ := r.Context().Value(peerKey{}).(Peer)
	level := slog.LevelInfo
	if r.Method == http.MethodGet || reads[r.URL.Path] {
		level = slog.LevelDebug
	}
	attrs := []any{"op", r.URL.Path, "uid", peer.UID, "pid", peer.PID, "took", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		attrs = append(attrs, "refused", err)
	}
	s.o.Log.Log(r.Context(), level, "control request", attrs...)
}

func writeError(w http.ResponseWriter, err error) {
	k := KindOf(err)
	status := map[Kind]int{NotFound: http.StatusNotFound, Invalid: http.StatusBadRequest, Confirm: http.StatusConflict}[k]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(failure{Error: err.Error(), Kind: k})
}

type peerKey struct{}

// peerConn is an accepted connection with its peer's credentials.
type peerConn struct {
	net.Conn
	peer Peer
}

// peerListener accepts only the connections of allowed peers.
type peerListener struct {
	net.Listener
	allow func(Peer) bool
	log   *slog.Logger
}

func (l peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		p, err := peerOf(c)
		switch {
		case err != nil:
			l.log.Warn("control socket: connection refused", "error", err)
		case !l.allow(p):
			l.log.Warn("control socket: connection refused: only root and the service's user may use it", "uid", p.UID, "pid", p.PID)
		default:
			return peerConn{Conn: c, peer: p}, nil
		}
		c.Close()
	}
}
