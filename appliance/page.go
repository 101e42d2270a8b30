package appliance

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"joren/appliance/installer"
	"joren/device/indicator"
	"joren/vocab"
)

// openInstaller prepares the installer's page when installer.enabled is
// on: the live view the pipeline feeds and the page that shows it. It
// runs before openCamera, which hands the live view to the pipeline.
func (a *Appliance) openInstaller() error {
	c := a.cfg.Installer
	if !c.Enabled {
		return nil
	}
	if err := installer.CheckPasswordFile(c.PasswordFile); err != nil {
		return fmt.Errorf("installer.password_file: %w", err)
	}
	a.live = installer.NewLive(installer.LiveOptions{})
	// A new track of the person being enrolled is theirs when the model
	// says so (a busy pipeline ends tracks).
	model := a.model
	a.capture = installer.NewCapture(installer.CaptureOptions{Same: func(x, y []float32) bool { return model.Distance(x, y) <= model.Threshold }})
	a.pageOn = make(chan string, 1)
	opt := installer.Options{
		Listen:       c.Listen,
		PasswordFile: c.PasswordFile,
		OffAfter:     time.Duration(c.OffAfterMinutes) * time.Minute,
		Live:         a.live,
		Status:       pageStatus{a},
		Pseudonym: func(d vocab.Decision) string {
			p, _ := a.maker.Pseudonym(d.Visitor, d.Time) // what head office sees too
			return p
		},
		Settings: installer.ConfigSettings(a.cfg),
		Title:    a.device,
		Log:      a.log,
		TestIndicator: func() error {
			if a.ind == nil {
				return errors.New("there is no staff indicator (indicator.kind: none)")
			}
			a.ind.Show(indicator.Regular)
			return nil
		},
		StaffPasswordFile: c.StaffPasswordFile,
		Zone:              a.zone,
		Health:            a.Health,
		People:            pagePeople{a},
		Capture:           a.capture,
	}
	if a.o.ConfigFile != "" {
		opt.Configure = a.configure
	}
	srv, err := installer.New(opt)
	if err != nil {
		return err
	}
	a.page = srv // it says it is on, and until when, as it starts
	return nil
}

// pageStatus is what the installer's page shows of the appliance's work.
type pageStatus struct{ a *Appliance }

func (s pageStatus) Counts() installer.Counts {
	a := s.a
	c := installer.Counts{
		Frames:   a.pipe.Stats().Frames,
		Dropped:  a.src.Stats().Dropped,
		Outbox:   a.box.Len(),
		Visitors: a.svc.Len(),
	}
	c.VisitsToday, c.RegularsToday = a.recent.today(time.Now().In(a.zone))
	if n, err := a.st.FileSize(); err == nil {
		c.StoreBytes = n
	}
	return c
}

func (s pageStatus) Decisions(n int) []vocab.Decision {
	ds := s.a.recent.all()
	return ds[max(0, len(ds)-n):]
}

// recent keeps the last decisions, and today's tally, for the installer
// page.
type recent struct {
	mu   sync.Mutex
	max  int
	zone *time.Location
	list []vocab.Decision

	day      string // the local day of the tally
	visits   int
	regulars map[string]bool
}

func newRecent(max int, zone *time.Location) *recent {
	return &recent{max: max, zone: zone, regulars: map[string]bool{}}
}

func (r *recent) add(d vocab.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, d)
	if len(r.list) > r.max {
		r.list = r.list[len(r.list)-r.max:]
	}
	if d.Staff != "" {
		return // staff are not customers
	}
	if day := d.Time.In(r.zone).Format(time.DateOnly); day != r.day {
		r.day, r.visits, r.regulars = day, 0, map[string]bool{}
	}
	r.visits++
	if d.Regular {
		r.regulars[d.Visitor] = true
	}
}

// forget drops the decisions of a forgotten visitor: the page no longer
// lists them.
func (r *recent) forget(visitor string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = slices.DeleteFunc(r.list, func(d vocab.Decision) bool { return d.Visitor == visitor })
}

func (r *recent) all() []vocab.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]vocab.Decision(nil), r.list...)
}

// today returns the customer visits and the distinct regulars of the local
// day of now (zero if no decision was made that day).
func (r *recent) today(now time.Time) (visits, regulars int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.In(r.zone).Format(time.DateOnly) != r.day {
		return 0, 0
	}
	return r.visits, len(r.regulars)
}
