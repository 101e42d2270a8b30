package appliance

import (
	"context"
	"fmt"
	"time"

	"joren/appliance/control"
	"joren/appliance/installer"
	"joren/cluster/identity"
	"joren/cluster/store"
)

// pagePeople is the identity service as the box's page uses it: enrol,
// list, remove, match and forget. The service does the work; this only
// translates, names the faces' source ("camera" and the time: the store
// keeps no picture), and drops a forgotten visitor from the page's and the
// button's memory of the last decisions.
type pagePeople struct{ a *Appliance }

var _ installer.People = pagePeople{}

func (p pagePeople) Mode() string { return string(p.a.svc.Mode()) }

func (p pagePeople) Staff() ([]installer.StaffMember, error) {
	ms, err := p.a.svc.Staff()
	if err != nil {
		return nil, err
	}
	out := make([]installer.StaffMember, len(ms))
	for i, m := range ms {
		out[i] = staffMember(m)
	}
	return out, nil
}

func staffMember(m store.Staff) installer.StaffMember {
	return installer.StaffMember{Name: m.Name, Faces: len(m.Exemplars), Added: m.Added}
}

// sources names faces taken from the camera at now.
func (p pagePeople) sources(n int, now time.Time) []string {
	out := make([]string, n)
	at := now.In(p.a.zone).Format("2006-01-02 15:04:05")
	for i := range out {
		out[i] = fmt.Sprintf("camera %s #%d", at, i+1)
	}
	return out
}

// AddStaff enrols a member of staff as the command does (control.Ops:
// the visitor they were counted as before is forgotten).
func (p pagePeople) AddStaff(name string, faces [][]float32) (installer.StaffMember, error) {
	a, err := p.a.ops.AddStaff(context.Background(), control.Enrolment{
		Name: name, Faces: control.Faces{Descriptors: faces, Sources: p.sources(len(faces), time.Now())},
	})
	if err != nil {
		return installer.StaffMember{}, err
	}
	return installer.StaffMember{Name: a.Staff.Name, Faces: a.Staff.Faces, Added: a.Staff.Added}, nil
}

func (p pagePeople) RemoveStaff(name string) (bool, error) { return p.a.svc.RemoveStaff(name) }

func (p pagePeople) Customers() ([]installer.Customer, error) {
	cs, err := p.a.svc.Customers(time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]installer.Customer, len(cs))
	for i, c := range cs {
		out[i] = installer.Customer{
			Name: c.Name, Note: c.Note, Faces: len(c.Exemplars), Consented: c.Consented,
			Visits: c.Visits, Days: c.Days, LastVisit: c.LastVisit, Regular: c.Regular,
		}
	}
	return out, nil
}

func (p pagePeople) AddCustomer(name, note string, faces [][]float32) (installer.Enrolled, error) {
	now := time.Now()
	e, err := p.a.svc.AddCustomer(name, note, p.sources(len(faces), now), faces, now)
	if err != nil {
		return installer.Enrolled{}, err
	}
	c := e.Customer
	return installer.Enrolled{
		Customer: installer.Customer{Name: c.Name, Note: c.Note, Faces: len(c.Exemplars), Consented: c.Consented, Visits: e.Visits, Days: e.Days},
		New:      e.New, Adopted: e.Adopted != "",
	}, nil
}

func (p pagePeople) RemoveCustomer(name string) (installer.Forgotten, bool, error) {
	f, ok, err := p.a.svc.RemoveCustomer(name)
	if ok {
		p.a.dropRecent(f.ID)
	}
	return forgotten(f), ok, err
}

func (p pagePeople) Match(faces [][]float32) (installer.Person, error) {
	m, err := p.a.svc.Match(faces)
	if err != nil {
		return installer.Person{}, err
	}
	out := installer.Person{Staff: m.Staff, Visitor: m.Visitor, Customer: m.Customer, Visits: m.Visits, Days: m.Days, LastVisit: m.LastSeen}
	if m.Visitor != "" {
		out.Pseudonym, _ = p.a.maker.Pseudonym(m.Visitor, time.Now()) // what head office knows them by now
	}
	return out, nil
}

func (p pagePeople) Forget(visitor string) (installer.Forgotten, bool, error) {
	f, ok, err := p.a.svc.Forget(visitor)
	if ok {
		p.a.dropRecent(f.ID)
	}
	return forgotten(f), ok, err
}

func forgotten(f identity.Forgotten) installer.Forgotten {
	return installer.Forgotten{Visits: f.Visits, Days: f.Days, Logged: f.Logged, Customer: f.Customer}
}

// dropRecent removes a forgotten visitor from the last decisions the page
// lists and from the button's "last customer", whoever forgot them (the
// page, a command through the control socket).
func (a *Appliance) dropRecent(id string) {
	if a.recent != nil {
		a.recent.forget(id)
	}
	if a.forget != nil {
		a.forget.Drop(id)
	}
}
