package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"joren/internal/version"
	"joren/office"
	"joren/office/dashboard"
	"joren/office/ingest"
)

// webFlags configure the dashboard.
type webFlags struct {
	listen       string
	passwordFile string
	silentAfter  time.Duration
}

func (w *webFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&w.listen, "listen", "", "serve the dashboard, /metrics and /healthz on this address (host:port)")
	fl.StringVar(&w.passwordFile, "password-file", "", "file holding the dashboard's password (at least 8 characters; needed with --listen)")
	fl.DurationVar(&w.silentAfter, "silent-after", 15*time.Minute, "a box heard from no longer than this is a silent box (an alert)")
}

func (w *webFlags) check() error {
	if w.listen != "" && w.passwordFile == "" {
		return usagef("--listen needs --password-file FILE (the dashboard's password)")
	}
	return nil
}

// webServer is the dashboard, listening.
type webServer struct {
	srv *http.Server
	ln  net.Listener
	g   *globals
}

// open opens the listener now, so that an address in use fails at start.
func (w *webFlags) open(g *globals, store office.Store, reg *prometheus.Registry, c *ingest.Collector, _ office.Retention) (*webServer, error) {
	if w.listen == "" {
		return nil, nil
	}
	b, err := os.ReadFile(w.passwordFile)
	if err != nil {
		return nil, fmt.Errorf("reading the dashboard's password: %w", err)
	}
	d, err := dashboard.New(dashboard.Config{
		Store: store, Password: strings.TrimRight(string(b), "\r\n"), Metrics: reg, Collector: c.State,
		SilentAfter: w.silentAfter, Version: version.String(), Log: g.log,
	})
	if err != nil {
		return nil, fmt.Errorf("--password-file %s: %w", w.passwordFile, err)
	}
	ln, err := net.Listen("tcp", w.listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	g.log.Info("dashboard listening", "url", "http://"+ln.Addr().String()+"/")
	return &webServer{
		srv: &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		ln:  ln, g: g,
	}, nil
}

// serve serves until ctx ends, then lets requests in progress finish.
func (s *webServer) serve(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.srv.Serve(s.ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("dashboard: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
