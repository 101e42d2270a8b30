package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vocab"
)

// Ops are the operations on an identity store that people ask for. The
// appliance makes one over its open store and identity service (and serves
// it on the control socket); a command without a running
// service makes one over the store it opened. Its methods are safe for
// concurrent use: they go through the identity service, which serialises
// them with the decisions of the running pipeline.
type Ops struct {
	st       *store.Store
	svc      *identity.Service
	pol      identity.Policy
	now      func() time.Time
	log      *slog.Logger
	onForget func(string)
}

// Options configure Ops.
type Options struct {
	// Policy is the regular policy of Stats and Export when there is no
	// identity service (a store opened to inspect it); with one, the
	// service's policy is used.
	Policy identity.Policy
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives what was done (nil: discarded).
	Log *slog.Logger
	// OnForget, if set, hears the id of every visitor an operation
	// deleted (the running service drops them from what it shows).
	OnForget func(visitor string)
}

// New returns the operations on st through svc. svc may be nil for a store
// opened read-only: then only Info, Stats, Export and Check work.
func New(st *store.Store, svc *identity.Service, o Options) *Ops {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	pol := o.Policy
	if svc != nil {
		pol = svc.Policy()
	}
	return &Ops{st: st, svc: svc, pol: pol, now: o.Now, log: o.Log, onForget: o.OnForget}
}

// forgot tells Options.OnForget of a deleted visitor.
func (o *Ops) forgot(visitor string) {
	if o.onForget != nil {
		o.onForget(visitor)
	}
}

// errReadOnly is returned by a change asked of Ops without a service.
var errReadOnly = errors.New("the identity store was opened read-only")

func (o *Ops) service() (*identity.Service, error) {
	if o.svc == nil {
		return nil, errReadOnly
	}
	return o.svc, nil
}

// Policy is the regular policy, as the configuration states it.
type Policy struct {
	RegularDays  int    `json:"regular_days"`
	Window       int    `json:"window_days"`
	MergeMinutes int    `json:"merge_minutes"`
	Retention    int    `json:"retention_days"`
	Zone         string `json:"zone,omitempty"`
}

// PolicyOf states an identity policy (its zero fields filled with the
// defaults, as the service does).
func PolicyOf(p identity.Policy) Policy {
	d := identity.DefaultPolicy(p.Zone)
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	q := Policy{
		RegularDays: pick(p.RegularDays, d.RegularDays), Window: pick(p.Window, d.Window),
		MergeMinutes: pick(int(p.MergeWindow/time.Minute), int(d.MergeWindow/time.Minute)), Retention: pick(p.Retention, d.Retention),
	}
	if p.Zone != nil {
		q.Zone = p.Zone.String()
	}
	return q
}

// Info describes the store the operations work on.
type Info struct {
	// Store is its directory; Mode counting or consent; Model the model
	// of its descriptors.
	Store  string `json:"store"`
	Mode   string `json:"mode"`
	Model  string `json:"model"`
	Policy Policy `json:"policy"`
	// Version and PID of the service, over the control socket only.
	Version string `json:"version,omitempty"`
	PID     int    `json:"pid,omitempty"`
}

// Info describes the store.
func (o *Ops) Info(context.Context) (Info, error) {
	meta := o.st.Meta()
	mode := meta.Mode
	if o.svc != nil {
		mode = o.svc.Mode()
	}
	pol := o.pol
	if pol.Zone == nil {
		pol.Zone, _ = o.st.Zone()
	}
	return Info{Store: o.st.Dir(), Mode: string(mode), Model: meta.Model.ID(), Policy: PolicyOf(pol)}, nil
}

// Stats summarise the store as of now.
func (o *Ops) Stats(context.Context) (identity.Stats, error) {
	return identity.Summarise(o.st, o.pol, o.now())
}

// Export writes every visitor, customer and staff member to w, one JSON
// object a line (identity.Export).
func (o *Ops) Export(_ context.Context, w io.Writer, withDescriptors bool) error {
	return identity.Export(o.st, o.pol, o.now(), w, withDescriptors)
}

// Check checks the store's integrity: bbolt's page checks, every record
// and index.
func (o *Ops) Check(context.Context) error { return o.st.Check() }

// Maintenance is what a maintenance pass did (identity.Report).
type Maintenance struct {
	Expired    int   `json:"expired"`
	Pruned     int   `json:"pruned"`
	Checked    int   `json:"checked"`
	Merged     int   `json:"merged"`
	Split      int   `json:"split"`
	Remaining  int   `json:"remaining"`
	Compacted  bool  `json:"compacted"`
	FileBefore int64 `json:"file_before"`
	FileAfter  int64 `json:"file_after"`
	ElapsedMS  int64 `json:"elapsed_ms"`
	// Held says why retention did not run (the clock guard), if it did
	// not.
	Held string `json:"held,omitempty"`
}

// Maintain runs a maintenance pass now (retention, merges, splits, then
// compaction), as the nightly pass does. trustClock first takes the
// clock's date as right even after a jump the store does not take on its
// own (identity.Service.TrustClock).
func (o *Ops) Maintain(ctx context.Context, trustClock bool) (Maintenance, error) {
	svc, err := o.service()
	if err != nil {
		return Maintenance{}, err
	}
	now := o.now()
	if trustClock {
		if err := svc.TrustClock(now); err != nil {
			return Maintenance{}, err
		}
		o.log.Info("the clock's date taken as right, on request", "now", now)
	}
	r, err := svc.Maintain(ctx, now)
	if err != nil {
		return Maintenance{}, err
	}
	o.log.Info("maintenance pass asked for", "expired", r.Expired, "merged", r.Merged, "split", r.Split)
	return Maintenance{
		Expired: r.Expired, Pruned: r.Pruned, Checked: r.Checked, Merged: r.Merged, Split: r.Split, Remaining: r.Remaining,
		Compacted: r.Compacted, FileBefore: r.FileBefore, FileAfter: r.FileAfter, ElapsedMS: r.Elapsed.Milliseconds(), Held: r.Held,
	}, nil
}

// Faces are descriptors of one person's faces, computed by the caller
// from photos or from the camera: never the pictures themselves.
type Faces struct {
	// Model is the model of the descriptors (zero: the store's; a
	// descriptor of the wrong length is refused all the same).
	Model       vocab.Model `json:"model,omitzero"`
	Descriptors [][]float32 `json:"descriptors"`
	// Sources name where each descriptor comes from (an image file's
	// name, "camera"); kept with an enrolment, one per descriptor.
	Sources []string `json:"sources,omitempty"`
}

// check refuses faces of another model than the store's.
func (o *Ops) check(f Faces) error {
	if len(f.Descriptors) == 0 {
		return refuse(Invalid, "no face descriptors")
	}
	if len(f.Sources) > 0 && len(f.Sources) != len(f.Descriptors) {
		return refuse(Invalid, "%d source names for %d face descriptors", len(f.Sources), len(f.Descriptors))
	}
	if f.Model.Dim == 0 {
		return nil
	}
	st := o.st.Meta().Model
	if f.Model.ID() != st.ID() || f.Model.Dim != st.Dim {
		return &store.ModelError{Dir: o.st.Dir(), Store: st, Want: f.Model}
	}
	return nil
}
