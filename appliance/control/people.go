package control

import (
	"context"
	"strconv"
	"time"

	"joren/cluster/identity"
	"joren/cluster/store"
)

// Staff is a staff member as listed: no descriptor.
type Staff struct {
	Name    string    `json:"name"`
	Added   time.Time `json:"added"`
	Faces   int       `json:"faces"`
	Sources []string  `json:"sources"`
}

func staffOf(m store.Staff) Staff {
	return Staff{Name: m.Name, Added: m.Added, Faces: len(m.Exemplars), Sources: m.Sources}
}

// Enrolment is a person to enrol, or whose faces to add.
type Enrolment struct {
	Name string `json:"name"`
	// Note is kept with a customer's enrolment (how consent was given).
	Note  string `json:"note,omitempty"`
	Faces Faces  `json:"faces"`
}

// StaffAdded is what AddStaff did.
type StaffAdded struct {
	Staff Staff `json:"staff"`
	// Added faces, now Staff.Faces in all.
	Added int `json:"added"`
	// Visitor is the visitor the faces matched before they were enrolled
	// (a staff member counted as a customer before), forgotten now with
	// their visits and days: staff are never counted.
	Visitor string `json:"visitor,omitempty"`
	Visits  int    `json:"visits,omitempty"`
	Days    int    `json:"days,omitempty"`
	// Customer is the enrolled customer the faces also match, if any: an
	// enrolment given with consent is not undone by enrolling staff.
	Customer string `json:"customer,omitempty"`
}

// Staff lists the staff members, by name.
func (o *Ops) Staff(context.Context) ([]Staff, error) {
	svc, err := o.service()
	if err != nil {
		return nil, err
	}
	all, err := svc.Staff()
	if err != nil {
		return nil, err
	}
	out := make([]Staff, len(all))
	for i, m := range all {
		out[i] = staffOf(m)
	}
	return out, nil
}

// AddStaff enrols a staff member's faces (added to theirs if the name is
// enrolled). Staff are not customers: the visitor the box counted them as
// before (the visits of the enrolment itself, at the door, or earlier
// ones) is forgotten, and said; an enrolled customer is only said.
func (o *Ops) AddStaff(_ context.Context, e Enrolment) (StaffAdded, error) {
	svc, err := o.service()
	if err != nil {
		return StaffAdded{}, err
	}
	if err := identity.CheckStaffName(e.Name); err != nil {
		return StaffAdded{}, refuse(Invalid, "%v", err)
	}
	if err := o.check(e.Faces); err != nil {
		return StaffAdded{}, err
	}
	// Whom they were, before their faces are staff's.
	was, err := svc.Match(e.Faces.Descriptors)
	if err != nil {
		return StaffAdded{}, refuse(Invalid, "%v", err)
	}
	m, err := svc.AddStaff(e.Name, sources(e.Faces), e.Faces.Descriptors, o.now())
	if err != nil {
		return StaffAdded{}, err
	}
	o.log.Info("staff enrolled", "staff", e.Name, "faces", len(e.Faces.Descriptors))
	a := StaffAdded{Staff: staffOf(m), Added: len(e.Faces.Descriptors), Customer: was.Customer}
	if was.Visitor != "" && was.Customer == "" && was.Staff == "" {
		f, ok, err := svc.Forget(was.Visitor)
		switch {
		case err != nil:
			o.log.Warn("the new staff member's visits as a visitor could not be forgotten", "staff", e.Name, "visitor", was.Visitor, "error", err)
		case ok:
			a.Visitor, a.Visits, a.Days = f.ID, f.Visits, f.Days
			o.forgot(f.ID)
			o.log.Info("the new staff member's visits as a visitor are forgotten: staff are not counted", "staff", e.Name, "visitor", f.ID, "visits", f.Visits)
		}
	}
	return a, nil
}

// RemoveStaff forgets a staff member.
func (o *Ops) RemoveStaff(_ context.Context, name string) error {
	svc, err := o.service()
	if err != nil {
		return err
	}
	ok, err := svc.RemoveStaff(name)
	if err != nil {
		return err
	}
	if !ok {
		return refuse(NotFound, "no staff member named %q (see `joren staff list`)", name)
	}
	o.log.Info("staff removed", "staff", name)
	return nil
}

// Customer is an enrolled customer as listed: no descriptor.
type Customer struct {
	Name      string    `json:"name"`
	Consented time.Time `json:"consented"`
	Note      string    `json:"note,omitempty"`
	Faces     int       `json:"faces"`
	Sources   []string  `json:"sources"`
	// Visitor is their identity; Visits and Days since enrolment (or since
	// the visitor they were adopted from was first seen).
	Visitor   string    `json:"visitor"`
	Visits    int       `json:"visits"`
	Days      int       `json:"days"`
	LastVisit time.Time `json:"last_visit,omitzero"`
	Regular   bool      `json:"regular"`
}

// Customers lists the enrolled customers, by name, as of now.
func (o *Ops) Customers(context.Context) ([]Customer, error) {
	svc, err := o.service()
	if err != nil {
		return nil, err
	}
	cs, err := svc.Customers(o.now())
	if err != nil {
		return nil, err
	}
	out := make([]Customer, len(cs))
	for i, c := range cs {
		out[i] = Customer{
			Name: c.Name, Consented: c.Consented, Note: c.Note, Faces: len(c.Exemplars), Sources: c.Sources,
			Visitor: c.Identity, Visits: c.Visits, Days: c.Days, LastVisit: c.LastVisit, Regular: c.Regular,
		}
	}
	return out, nil
}

// CustomerAdded is what AddCustomer did.
type CustomerAdded struct {
	Name      string    `json:"name"`
	Consented time.Time `json:"consented"`
	// New is set when the customer was not enrolled before; Added faces
	// were enrolled now, Faces are theirs in all.
	New   bool `json:"new"`
	Added int  `json:"added"`
	Faces int  `json:"faces"`
	// Adopted is the visitor (counting mode) these faces showed: their
	// history, Visits on Days, became the customer's.
	Adopted string `json:"adopted,omitempty"`
	Visits  int    `json:"visits,omitempty"`
	Days    int    `json:"days,omitempty"`
	// Mode is the store's mode (in counting mode everyone is remembered).
	Mode string `json:"mode"`
}

// AddCustomer enrols a customer who consented, recording today as the
// consent date (identity.Service.AddCustomer).
func (o *Ops) AddCustomer(_ context.Context, e Enrolment) (CustomerAdded, error) {
	svc, err := o.service()
	if err != nil {
		return CustomerAdded{}, err
	}
	if err := identity.CheckCustomerName(e.Name); err != nil {
		return CustomerAdded{}, refuse(Invalid, "%v", err)
	}
	if err := o.check(e.Faces); err != nil {
		return CustomerAdded{}, err
	}
	en, err := svc.AddCustomer(e.Name, e.Note, sources(e.Faces), e.Faces.Descriptors, o.now())
	if err != nil {
		return CustomerAdded{}, err
	}
	o.log.Info("customer enrolled", "new", en.New, "faces", len(e.Faces.Descriptors))
	return CustomerAdded{
		Name: e.Name, Consented: en.Customer.Consented, New: en.New, Added: len(e.Faces.Descriptors), Faces: len(en.Customer.Exemplars),
		Adopted: en.Adopted, Visits: en.Visits, Days: en.Days, Mode: string(svc.Mode()),
	}, nil
}

// CustomerRemoved is what RemoveCustomer did.
type CustomerRemoved struct {
	Name   string `json:"name"`
	Visits int    `json:"visits"`
	Days   int    `json:"days"`
	// Logged decisions deleted; the file compacted from FileBefore to
	// FileAfter bytes.
	Logged     int   `json:"logged"`
	FileBefore int64 `json:"file_before"`
	FileAfter  int64 `json:"file_after"`
}

// RemoveCustomer deletes everything about a customer (consent withdrawn),
// then compacts the store's file so that nothing of them is left in it.
func (o *Ops) RemoveCustomer(_ context.Context, name string) (CustomerRemoved, error) {
	svc, err := o.service()
	if err != nil {
		return CustomerRemoved{}, err
	}
	f, ok, err := svc.RemoveCustomer(name)
	if err != nil {
		return CustomerRemoved{}, err
	}
	if !ok {
		return CustomerRemoved{}, refuse(NotFound, "no customer named %q (see `joren customers list`); nothing deleted", name)
	}
	o.forgot(f.ID)
	r := CustomerRemoved{Name: name, Visits: f.Visits, Days: f.Days, Logged: f.Logged}
	if r.FileBefore, r.FileAfter, err = svc.Compact(); err != nil {
		return r, err
	}
	o.log.Info("customer removed, store compacted", "visitor", f.ID, "logged", f.Logged)
	return r, nil
}

// ModeState is the store's mode, and what a switch to consent mode would
// forget.
type ModeState struct {
	Store string `json:"store"`
	Mode  string `json:"mode"`
	// Customers enrolled (kept by any switch); Forget is how many visitors
	// who did not enrol a switch to consent mode would forget.
	Customers int `json:"customers"`
	Forget    int `json:"forget"`
}

// Mode is the store's mode.
func (o *Ops) Mode(context.Context) (ModeState, error) {
	svc, err := o.service()
	if err != nil {
		return ModeState{}, err
	}
	forget, keep := svc.Pending(store.Consent)
	return ModeState{Store: o.st.Dir(), Mode: string(svc.Mode()), Customers: keep, Forget: forget}, nil
}

// ModeRequest asks for a mode; ForgetOthers confirms that switching to
// consent mode forgets every visitor who did not enrol.
type ModeRequest struct {
	Mode         string `json:"mode"`
	ForgetOthers bool   `json:"forget_others"`
}

// ModeChange is what SetMode did.
type ModeChange struct {
	Store string `json:"store"`
	From  string `json:"from"`
	Mode  string `json:"mode"`
	// Forgotten visitors (who had not enrolled); Customers kept; the file
	// compacted from FileBefore to FileAfter bytes (to consent mode).
	Forgotten  int   `json:"forgotten"`
	Customers  int   `json:"customers"`
	FileBefore int64 `json:"file_before,omitempty"`
	FileAfter  int64 `json:"file_after,omitempty"`
}

// Changed tells whether the mode changed (false: it was already so).
func (c ModeChange) Changed() bool { return c.From != c.Mode }

// SetMode switches the store's mode (identity.Service.SetMode). Switching
// to consent mode forgets people: without ForgetOthers it is refused
// (Confirm), saying how many.
func (o *Ops) SetMode(ctx context.Context, r ModeRequest) (ModeChange, error) {
	svc, err := o.service()
	if err != nil {
		return ModeChange{}, err
	}
	want, err := store.ParseMode(r.Mode)
	if err != nil {
		return ModeChange{}, refuse(Invalid, "%v", err)
	}
	dir, cur := o.st.Dir(), svc.Mode()
	if want == store.Consent && cur != store.Consent && !r.ForgetOthers {
		forget, keep := svc.Pending(store.Consent)
		return ModeChange{}, refuse(Confirm, "switching identity store %s to consent mode forgets %d visitor(s) who did not enrol, with all their data (%d enrolled customer(s) and the staff are kept); run again with --forget-others to confirm", dir, forget, keep)
	}
	ch, err := svc.SetMode(ctx, want)
	if err != nil {
		return ModeChange{}, err
	}
	return ModeChange{
		Store: dir, From: string(ch.From), Mode: string(ch.To), Forgotten: ch.Forgotten, Customers: ch.Customers,
		FileBefore: ch.FileBefore, FileAfter: ch.FileAfter,
	}, nil
}

// sources names each descriptor of f: its Sources, or "face N" where the
// caller named none (check refuses a count that does not match).
func sources(f Faces) []string {
	if len(f.Sources) > 0 {
		return f.Sources
	}
	out := make([]string, len(f.Descriptors))
	for i := range out {
		out[i] = "face " + strconv.Itoa(i+1)
	}
	return out
}
