package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"joren/office"
	"joren/office/sqlstore"
	"joren/vocab"
)

// chain is a small chain's data for the dashboard's tests and pictures:
// six shops, eight boxes, 60 days of visits shaped like a shop's day
// (a lunch and an evening peak, busier weekends), and boxes in every
// state the fleet view knows.
type chain struct {
	store  office.Store
	now    time.Time
	visits int64            // in the last 30 days, every shop
	today  map[string]int64 // per box and day (UTC)
}

var shops = []struct {
	site    string
	devices []string
	size    float64 // visits a day, roughly
}{
	{"osaka-umeda", []string{"door-1", "door-2"}, 70},
	{"paris-marais", []string{"door-1"}, 45},
	{"kyoto-gion", []string{"door-1"}, 30},
	{"lyon-presquile", []string{"door-1", "door-2"}, 55},
	{"nara-park", []string{"door-1"}, 18},
	{"tokyo-ginza", []string{"door-1"}, 90},
}

func newChain(t testing.TB, now time.Time) *chain {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "office.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &chain{store: s, now: now, today: map[string]int64{}}
	rng := rand.New(rand.NewPCG(7, 16))
	from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -59)
	cut := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -29)
	var b office.Batch
	for _, sh := range shops {
		for _, dev := range sh.devices {
			for d := range 60 {
				day := from.AddDate(0, 0, d)
				if day.After(now) {
					break
				}
				n := sh.size / float64(len(sh.devices))
				if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
					n *= 1.4
				}
				n *= 1 + 0.15*math.Sin(float64(d)/4)
				for i := range int(n * (0.8 + 0.4*rng.Float64())) {
					// A lunch peak at 12-13 and an evening one at 18.
					h := 10 + rng.IntN(10)
					if rng.Float64() < 0.35 {
						h = []int{12, 13, 18}[rng.IntN(3)]
					}
					at := day.Add(time.Duration(h)*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
					if at.After(now) {
						continue
					}
					isNew := rng.Float64() < 0.38
					regular := !isNew && rng.Float64() < 0.45
					id := ulid.MustNew(ulid.Timestamp(at), rng32(rng)).String()
					b.Visits = append(b.Visits, office.Visit{
						ID: id, Site: sh.site, Device: dev, Time: at, Period: at.Format("2006-01"),
						Visitor: fmt.Sprintf("%032x", i), New: isNew, Visits: 1 + rng.IntN(8), Days: 1 + rng.IntN(5),
						Regular: regular, BecameRegular: regular && rng.Float64() < 0.1, Confidence: 0.9, Schema: 1,
					})
					if !at.Before(cut) {
						c.visits++
					}
					c.today[sh.site+"/"+dev+"/"+at.Format(time.DateOnly)]++
				}
			}
		}
	}
	c.write(t, &b)
	c.boxes(t)
	return c
}

func rng32(r *rand.Rand) *ulidEntropy { return &ulidEntropy{r} }

type ulidEntropy struct{ r *rand.Rand }

func (e *ulidEntropy) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e.r.IntN(256))
	}
	return len(p), nil
}

func (c *chain) write(t testing.TB, b *office.Batch) {
	t.Helper()
	if _, err := c.store.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// boxes gives every box a status and stats: most healthy, one offline,
// one silent, one with a stalled camera, one with a backlog.
func (c *chain) boxes(t testing.TB) {
	var b office.Batch
	for _, sh := range shops {
		for _, dev := range sh.devices {
			state, reason, seen := "online", "", c.now.Add(-time.Minute)
			temp := 52.5
			health := vocab.Health{Status: vocab.StatusOK, Time: seen, Camera: vocab.CameraHealth{State: vocab.CameraOK, FPS: 14.8, LastFrameAgeS: 0.1},
				Broker: vocab.BrokerHealth{State: vocab.BrokerConnected}, Clock: vocab.ClockHealth{Synchronised: true, Trusted: true},
				Disk: &vocab.DiskHealth{FreeBytes: 11_200_000_000, TotalBytes: 30_000_000_000}, TemperatureC: &temp}
			pending := 0
			switch sh.site + "/" + dev {
			case "nara-park/door-1":
				state, reason, seen = "offline", "connection lost", c.now.Add(-3*time.Hour)
			case "kyoto-gion/door-1":
				seen = c.now.Add(-2 * time.Hour)
			case "lyon-presquile/door-2":
				reason := "no frame for 5m40s (3 reconnections): check the camera and its cable"
				health.Status, health.Camera = vocab.StatusDegraded, vocab.CameraHealth{State: vocab.CameraNoFrames, LastFrameAgeS: 340, Reconnects: 3, Reason: reason}
				health.Problems = []vocab.Problem{{Key: "camera", Reason: reason}}
			case "paris-marais/door-1":
				pending = 1800
				health.Status, health.Broker = vocab.StatusDegraded, vocab.BrokerHealth{State: vocab.BrokerConnecting, Reason: "connection refused"}
				health.Problems = []vocab.Problem{{Key: "clock", Reason: "not synchronised to network time: check the network and its time server"}}
			}
			status, _ := json.Marshal(map[string]any{"schema": 1, "state": state, "reason": reason, "device": dev, "site": sh.site, "version": "v1.3.0", "uptime_s": 86400})
			day := seen.UTC().Format(time.DateOnly)
			stats, _ := json.Marshal(map[string]any{"schema": 1, "device": dev, "site": sh.site, "time": seen.UTC(), "day": day,
				"today": map[string]any{"visits": c.today[sh.site+"/"+dev+"/"+day]}, "outbox": map[string]any{"pending": pending, "delivered": 100, "dropped": 0}, "health": health})
			b.Status = append(b.Status, office.StatusUpdate{Site: sh.site, Device: dev, State: state, Reason: reason, Received: seen, Version: "v1.3.0", Payload: status})
			b.Stats = append(b.Stats, office.StatsUpdate{Site: sh.site, Device: dev, Time: seen, Day: day, Visits: c.today[sh.site+"/"+dev+"/"+day], Payload: stats})
			b.Seen = append(b.Seen, office.Seen{Site: sh.site, Device: dev, At: seen})
		}
	}
	b.Quarantine = []office.Quarantined{
		{Hash: "q1", Topic: "joren/lyon-presquile/door-2/visit", Payload: []byte(`{"schema":1,"kind":"maybe"}`), Reason: "not a valid visit message: missing properties 'id', 'device', ...", FirstSeen: c.now.Add(-time.Hour), LastSeen: c.now.Add(-time.Hour), Times: 3},
		{Hash: "q2", Topic: "joren/test-bench/door-9/stats", Payload: []byte(`hello`), Reason: "not JSON: invalid character 'h' looking for beginning of value", FirstSeen: c.now.Add(-2 * time.Hour), LastSeen: c.now.Add(-2 * time.Hour), Times: 1},
	}
	c.write(t, &b)
}
