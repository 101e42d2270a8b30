package dashboard

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"joren/office"
)

// period is one range of days of the numbers view.
type period struct {
	From, To string
	// Total over the shops selected; Sites per shop; Days per day (only
	// days with visits); Heatmap visits by weekday (Monday first) and
	// local hour.
	Total   counts
	Sites   []siteCounts
	Days    []dayCounts
	Heatmap [7][24]int64
}

type counts struct {
	office.Counts
	ReturnRate float64 `json:"return_rate"`
}

func withRate(c office.Counts) counts { return counts{Counts: c, ReturnRate: c.ReturnRate()} }

type siteCounts struct {
	Site    string
	Devices int
	counts
}

type dayCounts struct {
	Day string
	counts
}

type numbersReply struct {
	// AllSites are every shop with a box, for the selector.
	AllSites []string
	Sites    []string
	Period   period
	// Compare is the period compared with, when asked for.
	Compare *period
}

// maxDays bounds a range: ten years of days.
const maxDays = 3660

// parseRange reads from and to (YYYY-MM-DD); empty means the last 30
// days up to today.
func parseRange(from, to string, now time.Time) (string, string, error) {
	if to == "" {
		to = now.Format(time.DateOnly)
	}
	if from == "" {
		t, err := time.Parse(time.DateOnly, to)
		if err != nil {
			return "", "", badRequest{fmt.Errorf("to %q is not a day (YYYY-MM-DD)", to)}
		}
		from = t.AddDate(0, 0, -29).Format(time.DateOnly)
	}
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	switch {
	case err1 != nil:
		return "", "", badRequest{fmt.Errorf("from %q is not a day (YYYY-MM-DD)", from)}
	case err2 != nil:
		return "", "", badRequest{fmt.Errorf("to %q is not a day (YYYY-MM-DD)", to)}
	case f.After(t):
		return "", "", badRequest{fmt.Errorf("from %s is after to %s", from, to)}
	case t.Sub(f) > maxDays*24*time.Hour:
		return "", "", badRequest{fmt.Errorf("%s to %s is more than %d days", from, to, maxDays)}
	}
	return from, to, nil
}

func (s *Server) numbers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.cfg.Now()
	from, to, err := parseRange(q.Get("from"), q.Get("to"), now)
	if err != nil {
		s.reply(w, r, nil, err)
		return
	}
	out := numbersReply{Sites: q["site"]}
	if out.Sites == nil {
		out.Sites = []string{}
	}
	ds, err := s.cfg.Store.Devices(r.Context())
	if err != nil {
		s.reply(w, r, nil, err)
		return
	}
	out.AllSites = []string{}
	for _, d := range ds {
		if !slices.Contains(out.AllSites, d.Site) {
			out.AllSites = append(out.AllSites, d.Site)
		}
	}
	if out.Period, err = s.period(r, from, to, out.Sites); err != nil {
		s.reply(w, r, nil, err)
		return
	}
	if q.Get("cfrom") != "" || q.Get("cto") != "" {
		cfrom, cto, err := parseRange(q.Get("cfrom"), q.Get("cto"), now)
		if err != nil {
			s.reply(w, r, nil, err)
			return
		}
		p, err := s.period(r, cfrom, cto, out.Sites)
		if err != nil {
			s.reply(w, r, nil, err)
			return
		}
		out.Compare = &p
	}
	s.reply(w, r, out, nil)
}

// period reads one period's numbers: two queries on the daily rollups.
func (s *Server) period(r *http.Request, from, to string, sites []string) (period, error) {
	rg := office.Range{From: from, To: to, Sites: sites}
	p := period{From: from, To: to, Sites: []siteCounts{}, Days: []dayCounts{}}
	st, err := s.cfg.Store.Sites(r.Context(), rg)
	if err != nil {
		return p, err
	}
	var total office.Counts
	for _, t := range st {
		total = total.Plus(t.Counts)
		p.Sites = append(p.Sites, siteCounts{Site: t.Site, Devices: t.Devices, counts: withRate(t.Counts)})
	}
	p.Total = withRate(total)
	tl, err := s.cfg.Store.Timeline(r.Context(), rg)
	if err != nil {
		return p, err
	}
	for _, d := range tl {
		p.Days = append(p.Days, dayCounts{Day: d.Day, counts: withRate(d.Counts)})
		day, err := time.Parse(time.DateOnly, d.Day)
		if err != nil {
			return p, fmt.Errorf("day %q in the rollups: %w", d.Day, err)
		}
		wd := (int(day.Weekday()) + 6) % 7 // Monday first
		for h, n := range d.Hours {
			p.Heatmap[wd][h] += n
		}
	}
	return p, nil
}

// csv downloads the daily numbers of a range as joren-office report
// --csv prints them.
func (s *Server) csv(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, err := parseRange(q.Get("from"), q.Get("to"), s.cfg.Now())
	if err != nil {
		s.reply(w, r, nil, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="joren-%s-%s.csv"`, from, to))
	if err := office.WriteCSV(r.Context(), s.cfg.Store, office.Range{From: from, To: to, Sites: q["site"]}, w); err != nil {
		// Headers are gone; the log says what happened.
		s.log.Error("dashboard: CSV download", "error", err)
	}
}
