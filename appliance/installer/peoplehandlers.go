package installer

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// readJSON decodes a small JSON body into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the request could not be read: " + err.Error()})
		return false
	}
	return true
}

type staffJSON struct {
	Name  string `json:"name"`
	Faces int    `json:"faces"`
	Added string `json:"added"`
}

type customerJSON struct {
	Name      string `json:"name"`
	Note      string `json:"note,omitempty"`
	Faces     int    `json:"faces"`
	Consented string `json:"consented"`
	Visits    int    `json:"visits"`
	Days      int    `json:"days"`
	LastVisit string `json:"last_visit,omitempty"`
	Regular   bool   `json:"regular"`
}

// people is /api/people: the store's mode, staff and customers.
func (s *Server) listPeople(w http.ResponseWriter, _ *http.Request) {
	p := s.opt.People
	staff, err := p.Staff()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	cs, err := p.Customers()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	out := struct {
		Mode      string         `json:"mode"`
		Staff     []staffJSON    `json:"staff"`
		Customers []customerJSON `json:"customers"`
	}{Mode: p.Mode(), Staff: []staffJSON{}, Customers: []customerJSON{}}
	for _, m := range staff {
		out.Staff = append(out.Staff, staffJSON{m.Name, m.Faces, s.day(m.Added)})
	}
	for _, c := range cs {
		cj := customerJSON{Name: c.Name, Note: c.Note, Faces: c.Faces, Consented: s.day(c.Consented), Visits: c.Visits, Days: c.Days, Regular: c.Regular}
		if !c.LastVisit.IsZero() {
			cj.LastVisit = s.localTime(c.LastVisit)
		}
		out.Customers = append(out.Customers, cj)
	}
	writeJSON(w, http.StatusOK, out)
}

// day writes t's date in the shop's time zone.
func (s *Server) day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.opt.Zone).Format(time.DateOnly)
}

// startCapture starts collecting faces: to enrol staff or a customer, or
// to find whom the person at the camera is.
func (s *Server) startCapture(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Purpose string `json:"purpose"`
		Name    string `json:"name"`
		Note    string `json:"note"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	switch req.Purpose {
	case enrolStaff, enrolCustomer:
		if req.Name == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a name is needed"})
			return
		}
	case lookForget:
		req.Name = ""
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unknown purpose %q (want staff, customer or forget)", req.Purpose)})
		return
	}
	ctx, cancel := context.WithCancel(s.serveCtx())
	t, err := s.people.start(req.Purpose, req.Name, cancel)
	if err != nil {
		cancel()
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	s.log.Info("installer page: collecting faces from the camera", "purpose", req.Purpose, "remote", clientIP(r), "role", s.roleOf(r))
	go func() {
		defer cancel()
		s.runTask(ctx, t, req.Note)
	}()
	cur, _ := s.people.current(s.now())
	writeJSON(w, http.StatusAccepted, s.taskJSON(cur))
}

// captureState is /api/capture: the task using the camera, and its
// progress.
func (s *Server) captureState(w http.ResponseWriter, _ *http.Request) {
	t, ok := s.people.current(s.now())
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"state": "idle"})
		return
	}
	writeJSON(w, http.StatusOK, s.taskJSON(t))
}

func (s *Server) taskJSON(t task) any {
	type progressJSON struct {
		task
		Got  int    `json:"got"`
		Want int    `json:"want"`
		Hint string `json:"hint,omitempty"`
	}
	out := progressJSON{task: t}
	if t.State == "collecting" {
		p := s.opt.Capture.Progress()
		out.Got, out.Want, out.Hint = p.Got, p.Want, p.Hint
	}
	return out
}

func (s *Server) cancelCapture(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"cancelled": s.people.cancel()})
}

// removePerson removes a staff member or an enrolled customer by name.
func (s *Server) removePerson(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	kind := r.PathValue("kind")
	var (
		found bool
		msg   string
		err   error
	)
	switch kind {
	case "staff":
		found, err = s.opt.People.RemoveStaff(req.Name)
		msg = fmt.Sprintf("%s is no longer enrolled as staff.", req.Name)
	case "customers":
		var f Forgotten
		f, found, err = s.opt.People.RemoveCustomer(req.Name)
		msg = fmt.Sprintf("%s is no longer enrolled; their %s on %s are forgotten.", req.Name, count(f.Visits, "visit"), count(f.Days, "day"))
	default:
		http.NotFound(w, r)
		return
	}
	switch {
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	case !found:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("nobody named %q", req.Name)})
	default:
		s.log.Info("installer page: removed", "kind", kind, "remote", clientIP(r), "role", s.roleOf(r))
		writeJSON(w, http.StatusOK, map[string]string{"message": msg})
	}
}

// forget deletes the visitor a reference names: the person matched at
// the camera, or the visitor of one of the last decisions.
func (s *Server) forget(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Ref string `json:"ref"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	now := s.now()
	visitor, ok := "", false
	switch {
	case strings.HasPrefix(req.Ref, "c"):
		visitor, ok = s.people.take(req.Ref, now)
	case strings.HasPrefix(req.Ref, "d"):
		for _, d := range s.opt.Status.Decisions(s.opt.Decisions) {
			if d.Visitor != "" && hmacEqual(s.decisionRef(d.Visit), req.Ref) {
				visitor, ok = d.Visitor, true
				break
			}
		}
	}
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "this visitor is no longer on the page: look again"})
		return
	}
	f, found, err := s.opt.People.Forget(visitor)
	switch {
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	case !found:
		writeJSON(w, http.StatusOK, map[string]string{"message": "Nothing was kept about this visitor any more."})
		return
	}
	s.log.Info("installer page: visitor forgotten", "remote", clientIP(r), "role", s.roleOf(r), "visits", f.Visits, "logged", f.Logged)
	msg := fmt.Sprintf("Forgotten: %s on %s and everything kept about them are deleted.", count(f.Visits, "visit"), count(f.Days, "day"))
	if f.Customer != "" {
		msg = fmt.Sprintf("Forgotten: %s's enrolment, %s on %s and everything kept about them are deleted.", f.Customer, count(f.Visits, "visit"), count(f.Days, "day"))
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": msg})
}

func hmacEqual(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// count writes n things: "1 visit", "3 visits".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
