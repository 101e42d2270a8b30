package control_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"joren/appliance/control"
)

// TestAddStaffForgetsTheirVisitor: a member of staff the box counted as a
// visitor before is enrolled and that visitor forgotten (staff are never
// counted), through the socket as on the store itself; whoever shows
// what the box decided hears of it.
func TestAddStaffForgetsTheirVisitor(t *testing.T) {
	now := func() time.Time { return t0.AddDate(0, 0, 5) }
	for _, remote := range []bool{false, true} {
		st, svc := newStore(t)
		var dropped []string
		ops := control.New(st, svc, control.Options{Now: now, OnForget: func(id string) { dropped = append(dropped, id) }})
		var a api = opsAPI{ops}
		if remote {
			_, cl := serve(t, ops, control.ServeOptions{})
			a = clientAPI{cl}
		}
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(7, 7))
		was, err := a.Match(ctx, faces(4, 1, rng))
		if err != nil || was.Visitor == "" {
			t.Fatalf("person 4 before: %+v %v", was, err)
		}
		added, err := a.AddStaff(ctx, control.Enrolment{Name: "Dee", Faces: faces(4, 2, rng)})
		if err != nil || added.Visitor != was.Visitor || added.Visits != was.Visits || added.Days != was.Days || added.Customer != "" {
			t.Fatalf("remote %v: AddStaff = %+v, %v; want visitor %s forgotten (%d visits, %d days)", remote, added, err, was.Visitor, was.Visits, was.Days)
		}
		if len(dropped) != 1 || dropped[0] != was.Visitor {
			t.Errorf("remote %v: OnForget heard %v, want [%s]", remote, dropped, was.Visitor)
		}
		now, err := a.Match(ctx, faces(4, 1, rng))
		if err != nil || now.Staff != "Dee" || now.Visitor != "" {
			t.Errorf("remote %v: person 4 after: %+v %v", remote, now, err)
		}
		if _, err := a.Forget(ctx, was.Visitor); err == nil {
			t.Errorf("remote %v: visitor %s is still there", remote, was.Visitor)
		}
		// Someone never seen: nothing forgotten.
		if added, err := a.AddStaff(ctx, control.Enrolment{Name: "Eli", Faces: faces(9, 1, rng)}); err != nil || added.Visitor != "" || len(dropped) != 1 {
			t.Errorf("remote %v: a new face: %+v %v, dropped %v", remote, added, err, dropped)
		}
	}
}
