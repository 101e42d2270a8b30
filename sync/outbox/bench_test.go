package outbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// visitPayload is a visit event as the publisher stores it (the same
// fields and typical lengths as package event's Visit).
func visitPayload(i int) (id string, payload []byte) {
	id = fmt.Sprintf("01JV%022d", i)
	payload, _ = json.Marshal(map[string]any{
		"schema": 1, "id": id, "device": "door-1", "site": "shibuya-1",
		"time":   time.Date(2026, 5, 14, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
		"period": "2026-05", "visitor": fmt.Sprintf("%032x", i*7919), "kind": "returning",
		"visits": 1 + i%40, "days": 1 + i%12, "regular": i%3 == 0, "became_regular": false, "confidence": 0.873,
	})
	return id, payload
}

// BenchmarkBytesPer10000 measures the outbox file for 10,000 pending
// visit events: its size, and the disk blocks it really occupies. Events
// are stored in batches of 100 to keep the benchmark short; the layout is
// the same as one event per transaction (keys only grow, pages are
// packed).
func BenchmarkBytesPer10000(b *testing.B) {
	var size, disk int64
	for range b.N {
		path := filepath.Join(b.TempDir(), "outbox.db")
		o, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 10000; i += 100 {
			recs := make([]Record, 100)
			for j := range recs {
				id, p := visitPayload(i + j)
				recs[j] = Record{ID: id, Topic: "joren/shibuya-1/door-1/visit", Payload: p}
			}
			if _, err := o.Put(recs, nil); err != nil {
				b.Fatal(err)
			}
		}
		o.Close()
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			b.Fatal(err)
		}
		size, disk = st.Size, st.Blocks*512
	}
	_, p := visitPayload(1)
	b.ReportMetric(float64(size), "file-bytes/10k-events")
	b.ReportMetric(float64(disk), "disk-bytes/10k-events")
	b.ReportMetric(float64(len(p)), "payload-bytes/event")
	reportPeakRSS(b)
}

// BenchmarkPut measures one event per transaction, as the publisher
// stores them: each Put is fsynced before it returns. Each iteration
// stores 100 events.
func BenchmarkPut(b *testing.B) {
	o, err := Open(filepath.Join(b.TempDir(), "outbox.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	id, p := visitPayload(1)
	b.ResetTimer()
	for range b.N {
		for range 100 {
			if _, err := o.Put([]Record{{ID: id, Topic: "joren/s/d/visit", Payload: p}}, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
	reportPeakRSS(b)
}

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
