package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"joren/office"
	"joren/office/ingest"
)

// webFlags configure the dashboard (added with the dashboard).
type webFlags struct {
	listen string
}

func (w *webFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&w.listen, "listen", "", "serve the dashboard and /metrics on this address (host:port)")
}

func (w *webFlags) check() error { return nil }

type webServer struct{}

func (w *webFlags) open(*globals, office.Store, *prometheus.Registry, *ingest.Collector, office.Retention) (*webServer, error) {
	return nil, nil
}

func (s *webServer) serve(ctx context.Context) error { return nil }
