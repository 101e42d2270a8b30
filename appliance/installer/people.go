package installer

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// People is the identity store as the page's flows use it: enrol staff
// and customers from the camera's faces, list and remove them, find whom
// a face is and forget them. The appliance implements it over its
// identity service, which does the work (the page only collects the faces
// and asks).
type People interface {
	// Mode is the store's mode: counting or consent.
	Mode() string
	// Staff lists the staff members, by name.
	Staff() ([]StaffMember, error)
	// AddStaff adds faces (descriptors) to a staff member, enrolling them
	// if new.
	AddStaff(name string, faces [][]float32) (StaffMember, error)
	// RemoveStaff deletes a staff member; false if there is none of the
	// name.
	RemoveStaff(name string) (bool, error)
	// Customers lists the enrolled customers, by name.
	Customers() ([]Customer, error)
	// AddCustomer enrols a customer who consented (note: how), or adds
	// faces to one.
	AddCustomer(name, note string, faces [][]float32) (Enrolled, error)
	// RemoveCustomer deletes an enrolled customer with everything kept
	// about them; false if there is none of the name.
	RemoveCustomer(name string) (Forgotten, bool, error)
	// Match tells whom faces (of one person) show, changing nothing.
	Match(faces [][]float32) (Person, error)
	// Forget deletes visitor (an id a Person or a decision carries) with
	// everything kept about them; false if there is none.
	Forget(visitor string) (Forgotten, bool, error)
}

// StaffMember is a member of staff as the page lists them.
type StaffMember struct {
	Name  string
	Faces int
	Added time.Time
}

// Customer is an enrolled customer as the page lists them.
type Customer struct {
	Name, Note   string
	Faces        int
	Consented    time.Time
	Visits, Days int
	// LastVisit is zero before the first.
	LastVisit time.Time
	Regular   bool
}

// Enrolled is what AddCustomer did.
type Enrolled struct {
	Customer
	// New is set for a new enrolment (not faces added to one).
	New bool
	// Adopted is set when the faces were those of a visitor the store
	// already counted: their visits became the customer's.
	Adopted bool
}

// Person is whom a face shows.
type Person struct {
	// Staff is the staff member it is, if any.
	Staff string
	// Visitor is the store's visitor it is ("" if nobody): an internal id
	// that never reaches the browser. Customer names the enrolled
	// customer it is, if any.
	Visitor, Customer string
	// Pseudonym is the visitor's pseudonym now (the one head office
	// sees), LastVisit when they were last seen.
	Pseudonym    string
	Visits, Days int
	LastVisit    time.Time
}

// Forgotten is what forgetting deleted.
type Forgotten struct {
	Visits, Days int
	// Logged counts the visit records deleted with them.
	Logged int
	// Customer names the enrolment deleted with them, if any.
	Customer string
}

// Faces collected per flow: several good faces make an enrolment that
// recognises the person from other angles; a few are enough to tell whom a
// face is.
const (
	enrolFaces = 5
	matchFaces = 3
	// pendingFor is how long a face matched at the camera may be
	// forgotten after it was shown.
	pendingFor = 5 * time.Minute
	// taskKept is how long a finished task's outcome is shown.
	taskKept = 2 * time.Minute
)

// Task purposes.
const (
	enrolStaff    = "staff"
	enrolCustomer = "customer"
	lookForget    = "forget"
)

// peopleState is the page's side of the people flows: the task using the
// camera (one at a time) and the faces matched for forgetting.
type peopleState struct {
	mu      sync.Mutex
	seq     int64
	task    *task
	pending map[string]pending // ref -> whom
}

// task is one collection of faces and what is done with them.
type task struct {
	ID      int64  `json:"id"`
	Purpose string `json:"purpose"`
	Name    string `json:"name,omitempty"`
	// State is collecting, done or failed.
	State   string     `json:"state"`
	Message string     `json:"message,omitempty"`
	Match   *matchJSON `json:"match,omitempty"`
	ended   time.Time
	cancel  context.CancelFunc
}

type pending struct {
	visitor string
	until   time.Time
}

// matchJSON is whom the face at the camera is, as the page shows it: by
// pseudonym, never by internal id.
type matchJSON struct {
	// Ref names the visitor for /api/forget (a random reference, valid
	// for pendingFor).
	Ref       string     `json:"ref,omitempty"`
	Staff     string     `json:"staff,omitempty"`
	Who       string     `json:"who,omitempty"`
	Customer  string     `json:"customer,omitempty"`
	Visits    int        `json:"visits,omitempty"`
	Days      int        `json:"days,omitempty"`
	LastVisit *time.Time `json:"last_visit,omitempty"`
	LastLocal string     `json:"last_local,omitempty"`
}

func (ps *peopleState) clear() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.task != nil && ps.task.cancel != nil {
		ps.task.cancel()
	}
	ps.task, ps.pending = nil, nil
}

// start begins a task unless one is collecting.
func (ps *peopleState) start(purpose, name string, cancel context.CancelFunc) (*task, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.task != nil && ps.task.State == "collecting" {
		return nil, ErrBusy
	}
	ps.seq++
	ps.task = &task{ID: ps.seq, Purpose: purpose, Name: name, State: "collecting", cancel: cancel}
	return ps.task, nil
}

// end records a task's outcome.
func (ps *peopleState) end(t *task, now time.Time, state, msg string, m *matchJSON) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	t.State, t.Message, t.Match, t.ended = state, msg, m, now
}

// current is the running task, or the last one for a while after it
// ended.
func (ps *peopleState) current(now time.Time) (task, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	t := ps.task
	if t == nil || (t.State != "collecting" && now.Sub(t.ended) > taskKept) {
		return task{}, false
	}
	return *t, true
}

func (ps *peopleState) cancel() bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.task == nil || ps.task.State != "collecting" {
		return false
	}
	ps.task.cancel()
	return true
}

// hold keeps visitor for forgetting and returns its reference.
func (ps *peopleState) hold(visitor string, now time.Time) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	ref := "c" + hex.EncodeToString(b[:])
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for r, p := range ps.pending {
		if now.After(p.until) {
			delete(ps.pending, r)
		}
	}
	if ps.pending == nil {
		ps.pending = map[string]pending{}
	}
	ps.pending[ref] = pending{visitor, now.Add(pendingFor)}
	return ref, nil
}

// take returns the visitor ref holds, once.
func (ps *peopleState) take(ref string, now time.Time) (string, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.pending[ref]
	delete(ps.pending, ref)
	return p.visitor, ok && !now.After(p.until)
}

// decisionRef is the page's reference to the visitor of a decision (by
// its visit): a keyed hash, so the page never holds the visitor's id and
// a reference means nothing once the page restarts.
func (s *Server) decisionRef(visit string) string {
	m := hmac.New(sha256.New, s.refKey[:])
	m.Write([]byte(visit))
	return "d" + hex.EncodeToString(m.Sum(nil)[:12])
}

// runTask collects faces and does what purpose says with them; it runs
// on its own goroutine and records the outcome in t.
func (s *Server) runTask(ctx context.Context, t *task, note string) {
	want := enrolFaces
	if t.Purpose == lookForget {
		want = matchFaces
	}
	faces, err := s.opt.Capture.Collect(ctx, want)
	now := s.now()
	if err != nil {
		if errors.Is(err, errCancelled) || errors.Is(err, context.Canceled) {
			s.people.end(t, now, "failed", "Cancelled.", nil)
		} else {
			s.people.end(t, now, "failed", "Not done: "+err.Error(), nil)
		}
		return
	}
	p := s.opt.People
	switch t.Purpose {
	case enrolStaff:
		m, err := p.AddStaff(t.Name, faces)
		if err != nil {
			s.people.end(t, now, "failed", "Not enrolled: "+err.Error(), nil)
			return
		}
		s.log.Info("installer page: staff enrolled from the camera", "faces", len(faces), "kept", m.Faces)
		s.people.end(t, now, "done", fmt.Sprintf("%s is enrolled as staff: %d faces kept (%d new).", m.Name, m.Faces, len(faces)), nil)
	case enrolCustomer:
		e, err := p.AddCustomer(t.Name, note, faces)
		if err != nil {
			s.people.end(t, now, "failed", "Not enrolled: "+err.Error(), nil)
			return
		}
		s.log.Info("installer page: customer enrolled from the camera", "faces", len(faces), "kept", e.Faces, "new", e.New, "adopted", e.Adopted)
		msg := fmt.Sprintf("%s is enrolled: %d faces kept (%d new).", e.Name, e.Faces, len(faces))
		switch {
		case !e.New:
			msg = fmt.Sprintf("%s was enrolled already: %d faces kept now (%d new).", e.Name, e.Faces, len(faces))
		case e.Adopted:
			msg += fmt.Sprintf(" Joren knew them as a visitor: their %s on %s count.", count(e.Visits, "visit"), count(e.Days, "day"))
		}
		s.people.end(t, now, "done", msg, nil)
	case lookForget:
		who, err := p.Match(faces)
		if err != nil {
			s.people.end(t, now, "failed", "Not found: "+err.Error(), nil)
			return
		}
		m := &matchJSON{Staff: who.Staff}
		switch {
		case who.Staff != "":
			s.people.end(t, now, "done", "This is a member of staff: nothing is kept about staff but their enrolment (remove it under Staff).", m)
			return
		case who.Visitor == "":
			s.people.end(t, now, "done", "Joren does not know this person: nothing is kept about them.", m)
			return
		}
		ref, err := s.people.hold(who.Visitor, now)
		if err != nil {
			s.people.end(t, now, "failed", err.Error(), nil)
			return
		}
		m.Ref, m.Who, m.Customer, m.Visits, m.Days = ref, short(who.Pseudonym), who.Customer, who.Visits, who.Days
		if !who.LastVisit.IsZero() {
			lv := who.LastVisit
			m.LastVisit, m.LastLocal = &lv, s.localTime(lv)
		}
		s.people.end(t, now, "done", "", m)
	}
}

// short is the page's form of a pseudonym: its first 8 characters.
func short(p string) string {
	r := []rune(p)
	return string(r[:min(len(r), 8)])
}

// localTime writes t in the shop's time zone, with the date unless it is
// today.
func (s *Server) localTime(t time.Time) string {
	lt, now := t.In(s.opt.Zone), s.now().In(s.opt.Zone)
	if lt.Format(time.DateOnly) == now.Format(time.DateOnly) {
		return lt.Format("15:04")
	}
	return lt.Format("2006-01-02 15:04")
}
