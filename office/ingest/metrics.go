package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the collector's Prometheus metrics.
type Metrics struct {
	messages  *prometheus.CounterVec
	visits    *prometheus.CounterVec
	batch     prometheus.Histogram
	commit    prometheus.Histogram
	errors    prometheus.Counter
	connected prometheus.Gauge
	lastBatch prometheus.Gauge
	lag       prometheus.Histogram
	net       prometheus.Counter
}

// NewMetrics makes the collector's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joren_office_messages_total",
			Help: "Messages received, by kind (visit, status, stats) and outcome (the kind, quarantined, cleared).",
		}, []string{"outcome"}),
		visits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joren_office_visits_total",
			Help: "Visit events by what became of them: stored (new), duplicate (stored before), too_old (past the event retention), recovered (stored by a group's safety net: its shared subscription had missed them; also counted as stored).",
		}, []string{"result"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "joren_office_batch_messages",
			Help:    "Messages per committed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 7),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "joren_office_commit_seconds",
			Help:    "Time to write and commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 10),
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "joren_office_write_errors_total",
			Help: "Batches the store failed to write (each is tried again; nothing is acknowledged before it is committed).",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "joren_office_broker_connected",
			Help: "1 while the collector is connected to the MQTT broker.",
		}),
		lastBatch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "joren_office_last_commit_timestamp_seconds",
			Help: "When the last batch was committed (Unix time).",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "joren_office_visit_delay_seconds",
			Help:    "From a visit's start to its event being stored: how late events arrive (a box offline shows here).",
			Buckets: []float64{1, 5, 30, 60, 300, 1800, 3600, 6 * 3600, 86400, 7 * 86400},
		}),
		net: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "joren_office_net_messages_total",
			Help: "Messages checked by draining the group's safety-net session.",
		}),
	}
	reg.MustRegister(m.messages, m.visits, m.batch, m.commit, m.errors, m.connected, m.lastBatch, m.lag, m.net)
	return m
}
