package publish

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"joren/sync/mosquittotest"
)

// BenchmarkDelivery measures events per second through the whole path:
// Publish (event made, stored and fsynced in the outbox), the delivery
// loop, a local mosquitto, and a QoS 1 subscriber receiving each event.
// Each iteration is a burst of 200 visits.
func BenchmarkDelivery(b *testing.B) {
	const burst = 200
	broker := mosquittotest.Start(b, mosquittotest.Options{})
	sub := broker.Subscribe(b, "head-office", "joren/+/+/visit")
	h := newHarness(b, broker, nil)
	stop := h.run(nil)
	defer stop()
	b.ResetTimer()
	for n := range b.N {
		for i := n * burst; i < (n+1)*burst; i++ {
			if err := h.p.Publish(decision(i)); err != nil {
				b.Fatal(err)
			}
		}
		want := (n + 1) * burst
		if _, ok := sub.WaitFor(time.Minute, func(m []mosquittotest.Message) bool { return len(m) >= want }); !ok {
			b.Fatalf("received %d of %d events", len(sub.Messages()), want)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*burst)/b.Elapsed().Seconds(), "events/s")
	reportPeakRSS(b)
}

// reportPeakRSS reports the process's peak resident memory (VmHWM).
func reportPeakRSS(b *testing.B) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			b.ReportMetric(kb/1024, "peak-RSS-MB")
		}
	}
}
