package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"joren/vocab"
)

// metrics are the appliance's Prometheus metrics, in a registry of its own
// (no global state), and what the health check reads.
type metrics struct {
	a         *Appliance
	reg       *prometheus.Registry
	visits    *prometheus.CounterVec
	decisions *prometheus.CounterVec

	mu        sync.Mutex
	lastFrame time.Time // when the frame counter last moved
	frames    int64
	fps       float64
}

func newMetrics(a *Appliance) *metrics {
	m := &metrics{a: a, reg: prometheus.NewRegistry(), lastFrame: time.Now()}
	m.visits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "joren_visits_total", Help: "Visits (passages) seen, by whether a face was good enough to describe.",
	}, []string{"usable"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "joren_decisions_total", Help: "Decisions of the identity store, by kind (new, returning, regular, became-regular, staff).",
	}, []string{"kind"})
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(
		m.visits, m.decisions,
		// Prometheus's convention for what a process is built as: a
		// constant 1 with the facts as labels.
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "joren_build_info", Help: "Always 1: the build's version (joren --version), its Go toolchain, the face model in use and the device.",
			ConstLabels: prometheus.Labels{"version": a.o.Version, "goversion": runtime.Version(), "model": a.model.ID(), "device": a.device},
		}, func() float64 { return 1 }),
		counter("joren_frames_total", "Frames processed by the pipeline.", func() float64 { return float64(a.pipe.Stats().Frames) }),
		counter("joren_frames_dropped_total", "Frames the camera delivered while the pipeline was busy, skipped.", func() float64 { return float64(a.src.Stats().Dropped) }),
		counter("joren_frames_unreadable_total", "Frames that could not be decoded.", func() float64 { return float64(a.src.Stats().Unreadable) }),
		counter("joren_camera_reconnects_total", "Times the camera or stream was reopened after a loss.", func() float64 { return float64(a.src.Stats().Reconnects) }),
		counter("joren_faces_described_total", "Face descriptors computed.", func() float64 { return float64(a.pipe.Stats().Described) }),
		gauge("joren_fps", "Frames processed per second over the last seconds.", func() float64 { m.mu.Lock(); defer m.mu.Unlock(); return m.fps }),
		gauge("joren_last_frame_age_seconds", "Seconds since the pipeline last processed a frame.", func() float64 { return m.frameAge().Seconds() }),
		gauge("joren_outbox_pending", "Visit events waiting in the outbox for the broker.", func() float64 { return float64(a.box.Len()) }),
		counter("joren_outbox_dropped_total", "Events dropped because the outbox was full.", func() float64 { return float64(a.box.Dropped()) }),
		gauge("joren_store_identities", "Visitors known to the identity store.", func() float64 { return float64(a.svc.Len()) }),
		gauge("joren_store_bytes", "Size of the identity store file.", func() float64 {
			n, _ := a.st.FileSize()
			return float64(n)
		}),
	)
	if _, err := os.Stat(thermalZone); err == nil {
		m.reg.MustRegister(gauge("joren_cpu_temperature_celsius", "SoC temperature.", func() float64 {
			t, _ := cpuTemperature()
			return t
		}))
	}
	return m
}

func (m *metrics) visit(usable bool) { m.visits.WithLabelValues(strconv.FormatBool(usable)).Inc() }

func (m *metrics) decision(d vocab.Decision) {
	m.decisions.WithLabelValues(string(kindOf(d))).Inc()
}

// tick updates the frame rate and the time of the last frame; the
// watchdog calls it.
func (m *metrics) tick(now time.Time, every time.Duration) {
	n := m.a.pipe.Stats().Frames
	m.mu.Lock()
	defer m.mu.Unlock()
	if n != m.frames {
		m.fps = float64(n-m.frames) / every.Seconds()
		m.frames, m.lastFrame = n, now
	} else {
		m.fps = 0
	}
}

func (m *metrics) frameAge() time.Duration {
	age, _, _ := m.frameState(time.Now())
	return age
}

// frameState returns the time since the pipeline last processed a frame
// (since start, if none yet), the frame rate, and the frames so far.
func (m *metrics) frameState(now time.Time) (age time.Duration, fps float64, frames int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return now.Sub(m.lastFrame), m.fps, m.frames
}

// serveHTTP serves /healthz and /metrics until ctx is done.
func (a *Appliance) serveHTTP(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h := a.Health()
		w.Header().Set("Content-Type", "application/json")
		if h.Status != vocab.StatusOK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(h)
	})
	ln := a.httpLn
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	a.log.Info("health and metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("health and metrics server: %w", err)
	}
	return nil
}
