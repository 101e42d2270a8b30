package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"joren/office/pgtest"
	"joren/sync/event"
	"joren/sync/mosquittotest"
	"joren/vocab"
)

// BenchmarkIngest measures head office end to end: 100 boxes' visit
// events published (QoS 1) into a real mosquitto, collected by a real
// `joren-office run` process into SQLite or a durable PostgreSQL, until
// the office has stored them all. It reports events per second
// sustained, and the collector process's peak resident memory (VmHWM):
// bounded by the broker's in-flight window and the batch size, whatever
// the backlog.
func BenchmarkIngest(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			broker := mosquittotest.Start(b, mosquittotest.Options{Config: []string{"max_queued_messages 0", "max_inflight_messages 1000"}})
			dsn := "sqlite:" + filepath.Join(b.TempDir(), "office.db")
			if kind == "postgres" {
				pg := pgtest.Start(b, pgtest.Options{Durable: true})
				dsn = pg.NewDatabase(b)
			}
			pw := filepath.Join(b.TempDir(), "password")
			os.WriteFile(pw, []byte("bench password\n"), 0o600)
			addr := freeAddr(b)
			o := start(b, "run", "--broker", broker.URL(), "--db", dsn, "--listen", addr, "--password-file", pw, "--log-level", "warn")
			waitHealthy(b, addr)

			const boxes, perIter, clients = 100, 10_000, 8
			makers := make([]*event.Maker, boxes)
			for i := range makers {
				secret := make(event.Secret, 32)
				copy(secret, fmt.Sprint("box", i))
				m, err := event.NewMaker(event.Config{Device: "door-1", Site: fmt.Sprintf("shop-%03d", i), Secret: secret, Location: time.UTC})
				if err != nil {
					b.Fatal(err)
				}
				makers[i] = m
			}
			pubs := make([]paho.Client, clients)
			for i := range pubs {
				c := paho.NewClient(broker.ClientOptions(fmt.Sprint("bench-pub-", i)).SetMaxResumePubInFlight(1000))
				if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					b.Fatal(tok.Error())
				}
				defer c.Disconnect(100)
				pubs[i] = c
			}
			var (
				sent    int
				elapsed time.Duration
				seq     int
			)
			for b.Loop() {
				// The events of this round, made before the clock starts.
				type msg struct {
					topic   string
					payload []byte
				}
				batch := make([][]msg, clients)
				for i := range perIter {
					seq++
					m := makers[seq%boxes]
					v, err := m.Visit(vocab.Decision{Visit: fmt.Sprint("v", seq), Visitor: fmt.Sprint("p", seq%5000),
						Time: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Second), New: seq%3 == 0, Visits: 1 + seq%5, Days: 1, Confidence: 0.9})
					if err != nil {
						b.Fatal(err)
					}
					p, _ := json.Marshal(v)
					batch[i%clients] = append(batch[i%clients], msg{"joren/" + v.Site + "/door-1/visit", p})
				}
				t0 := time.Now()
				var wg sync.WaitGroup
				for i, c := range pubs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var window []paho.Token
						for _, m := range batch[i] {
							window = append(window, c.Publish(m.topic, 1, false, m.payload))
							if len(window) == 256 {
								window[0].Wait()
								window = window[1:]
							}
						}
						for _, tok := range window {
							tok.Wait()
						}
					}()
				}
				wg.Wait()
				sent += perIter
				for stored(b, addr) < float64(sent) {
					time.Sleep(20 * time.Millisecond)
				}
				elapsed += time.Since(t0)
			}
			b.ReportMetric(float64(sent)/elapsed.Seconds(), "events/s")
			b.ReportMetric(peakRSS(b, o.cmd.Process.Pid), "office-peak-RSS-MB")
		})
	}
}

func freeAddr(b testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(b testing.TB, addr string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get("http://" + addr + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatal("joren-office did not become healthy")
}

// stored reads joren_office_visits_total{result="stored"} from /metrics.
func stored(b testing.TB, addr string) float64 {
	r, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `joren_office_visits_total{result="stored"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// peakRSS is a process's peak resident memory (VmHWM), in MB.
func peakRSS(b testing.TB, pid int) float64 {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(s), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
