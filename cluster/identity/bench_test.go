package identity_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/internal/testenv"
	"joren/vocab"
)

// heapMB is the Go heap in use after a collection: what the service keeps
// in memory (the index), without bbolt's file mapping.
func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// synth makes synthetic identities around the shared descriptors: each
// identity a shared descriptor moved a little (a new person near a real
// one), its exemplars moved a little more. For timing and memory only.
type synth struct {
	base [][]float32
	rng  *rand.Rand
}

func newSynth(b testing.TB) *synth {
	names, by, _ := dev(b)
	var base [][]float32
	for _, n := range names {
		base = append(base, by[n]...)
	}
	return &synth{base: base, rng: rand.New(rand.NewPCG(7, 7))}
}

func (s *synth) near(v []float32, sd float64) []float32 {
	out := make([]float32, len(v))
	for i := range v {
		out[i] = v[i] + float32(s.rng.NormFloat64()*sd)
	}
	return out
}

func (s *synth) person() []float32 { return s.near(s.base[s.rng.IntN(len(s.base))], 0.03) }

// benchStore makes a store of n identities (1 to 8 exemplars each) and
// loads it.
func benchStore(b *testing.B, n int, sync bool) (*store.Store, *identity.Service, *synth) {
	return benchStoreKey(b, n, sync, "")
}

// benchKey is a key file for an encrypted benchmark store.
func benchKey(b *testing.B) string { return filepath.Join(b.TempDir(), "store.key") }

// benchStoreKey is benchStore, encrypted with keyFile if set.
func benchStoreKey(b *testing.B, n int, sync bool, keyFile string) (*store.Store, *identity.Service, *synth) {
	b.Helper()
	_, _, model := dev(b)
	sy := newSynth(b)
	dir := b.TempDir()
	lim := store.Limits{MaxIdentities: 2 * n, MaxBytes: 8 << 30}
	st, err := store.Open(dir, store.Options{Model: model, Create: true, NoSync: true, Limits: lim, KeyFile: keyFile})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		err := st.Update(func(tx *store.Tx) error {
			for k := 0; k < 2000 && done < n; k++ {
				id, err := tx.NewID()
				if err != nil {
					return err
				}
				p := sy.person()
				at := t0.Add(time.Duration(done) * time.Minute)
				rec := store.Identity{ID: id, Created: at, LastSeen: at, LastEnd: at, LastVisit: "s" + id, Visits: 1, TotalDays: 1, Days: []int32{20393}}
				for e := 1 + sy.rng.IntN(8); e > 0; e-- {
					rec.Exemplars = append(rec.Exemplars, store.Exemplar{Visit: "s" + id, Time: at, Day: 20393, Count: 1 + sy.rng.IntN(3), Mean: sy.near(p, 0.02)})
				}
				if err := tx.PutIdentity(rec); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	st, err = store.Open(dir, store.Options{Model: model, NoSync: !sync, Limits: lim, KeyFile: keyFile})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	svc, err := identity.New(st, identity.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return st, svc, sy
}

// cpuTime is the process's user and system CPU time: unlike wall-clock
// latency, it does not count time the scheduler gave to other processes
// on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentiles(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	at := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) }
	b.ReportMetric(at(0.5), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

var sizes = []int{1_000, 10_000, 100_000}

func sizeName(n int) string { return fmt.Sprintf("identities=%dk", n/1000) }

// BenchmarkMatch is the decision of Observe at the door: a visit of 3
// descriptors against every identity in memory (and the staff), without
// the durable write. The target: p99 under 2 ms at 10,000 identities. One
// op is 500 visits.
func BenchmarkMatch(b *testing.B) {
	for _, n := range sizes {
		b.Run(sizeName(n), func(b *testing.B) { benchMatch(b, n, "") })
	}
}

// BenchmarkMatchEncrypted is BenchmarkMatch at 10,000 identities on an
// encrypted store: the cost of encryption at the door (a match reads the
// matched identity's record, which is then decrypted).
func BenchmarkMatchEncrypted(b *testing.B) { benchMatch(b, 10_000, benchKey(b)) }

func benchMatch(b *testing.B, n int, keyFile string) {
	_, svc, sy := benchStoreKey(b, n, false, keyFile)
	heap := heapMB()
	visits := make([][][]float32, 256)
	for i := range visits {
		p := sy.person()
		visits[i] = [][]float32{sy.near(p, 0.02), sy.near(p, 0.02), sy.near(p, 0.02)}
	}
	// Each op is a batch, so that percentiles have samples
	// even at bench-table's few ops.
	const batch = 500
	lat := make([]time.Duration, 0, b.N*batch)
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N*batch; i++ {
		start := time.Now()
		if _, err := svc.Match(visits[i%len(visits)]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	cpu = cpuTime() - cpu
	b.StopTimer()
	percentiles(b, lat)
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/match")
	b.ReportMetric(heap, "heap-MB")
	b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
}

// BenchmarkObserve is a whole decision: matching, updating the identity,
// and the durable (fsync'd) commit, at 10,000 identities. One op is 50
// visits.
func BenchmarkObserve(b *testing.B) { benchObserve(b, "") }

// BenchmarkObserveEncrypted is BenchmarkObserve on an encrypted store: the
// identity and the visit log record sealed, every record read opened.
func BenchmarkObserveEncrypted(b *testing.B) { benchObserve(b, benchKey(b)) }

func benchObserve(b *testing.B, keyFile string) {
	_, svc, sy := benchStoreKey(b, 10_000, true, keyFile)
	model := svc.Model()
	const batch = 50
	lat := make([]time.Duration, 0, b.N*batch)
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := 0; i < b.N*batch; i++ {
		p := sy.person()
		v := vocab.Visit{ID: fmt.Sprintf("b%08d", i), Start: at.Add(time.Duration(i) * time.Second), Model: model,
			Descriptors: [][]float32{sy.near(p, 0.02), sy.near(p, 0.02)}}
		v.End = v.Start
		start := time.Now()
		if _, err := svc.Observe(context.Background(), v); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	percentiles(b, lat)
	b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
}

// BenchmarkOpen opens a store of 10,000 identities and loads it into
// memory: the start-up of the identity stage.
func BenchmarkOpen(b *testing.B) { benchOpen(b, "") }

// BenchmarkOpenEncrypted is BenchmarkOpen on an encrypted store: every
// identity is decrypted on the way in.
func BenchmarkOpenEncrypted(b *testing.B) { benchOpen(b, benchKey(b)) }

func benchOpen(b *testing.B, keyFile string) {
	st, _, _ := benchStoreKey(b, 10_000, false, keyFile)
	dir, model, lim := st.Dir(), st.Meta().Model, st.Limits()
	st.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := store.Open(dir, store.Options{Model: model, Limits: lim, KeyFile: keyFile})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := identity.New(s, identity.Options{}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
	b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
}

// BenchmarkMaintain is a maintenance pass over a store of 10,000
// identities: a day's worth of touched identities (300), and every one
// of them (after a migration, say).
func BenchmarkMaintain(b *testing.B) {
	for _, dirty := range []int{300, 10_000} {
		b.Run(fmt.Sprintf("checked=%d", dirty), func(b *testing.B) {
			st, svc, _ := benchStore(b, 10_000, false)
			var ids []string
			st.View(func(tx *store.Tx) error {
				return tx.ForEachIdentity(func(r store.Identity) error { ids = append(ids, r.ID); return nil })
			})
			now := time.Date(2026, 11, 20, 4, 0, 0, 0, time.UTC)
			var total time.Duration
			for i := 0; i < b.N; i++ {
				err := st.Update(func(tx *store.Tx) error {
					for _, id := range ids[:dirty] {
						if err := tx.MarkDirty(id); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				r, err := svc.Maintain(context.Background(), now)
				if err != nil || r.Remaining != 0 {
					b.Fatalf("%+v %v", r, err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/pass")
			b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
		})
	}
}

// BenchmarkCompact is the compaction that ends every maintenance pass, on
// a store of 10,000 identities (plain and encrypted: the records are
// copied as they are, sealed or not).
func BenchmarkCompact(b *testing.B) {
	for _, kind := range []string{"plain", "encrypted"} {
		b.Run(kind, func(b *testing.B) {
			key := ""
			if kind == "encrypted" {
				key = benchKey(b)
			}
			st, _, _ := benchStoreKey(b, 10_000, true, key)
			b.ResetTimer()
			var size int64
			for i := 0; i < b.N; i++ {
				_, after, err := st.Compact()
				if err != nil {
					b.Fatal(err)
				}
				size = after
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/compaction")
			b.ReportMetric(float64(size)/(1<<20), "file-MB")
			b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
		})
	}
}

// BenchmarkEncrypt is the one-time encryption of an existing plain store
// of 10,000 identities (opening it with a key for the first time).
func BenchmarkEncrypt(b *testing.B) {
	st, _, _ := benchStore(b, 10_000, false)
	dir, model, lim := st.Dir(), st.Meta().Model, st.Limits()
	st.Close()
	plain, err := os.ReadFile(filepath.Join(dir, store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := os.WriteFile(filepath.Join(dir, store.FileName), plain, 0o600); err != nil {
			b.Fatal(err)
		}
		key := benchKey(b)
		b.StartTimer()
		s, err := store.Open(dir, store.Options{Model: model, Limits: lim, KeyFile: key})
		if err != nil {
			b.Fatal(err)
		}
		if !s.Encrypted() {
			b.Fatal("not encrypted")
		}
		s.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/store")
	b.ReportMetric(float64(len(plain))/(1<<20), "plain-file-MB")
	b.ReportMetric(testenv.PeakRSSMB(), "peak-RSS-MB")
}
