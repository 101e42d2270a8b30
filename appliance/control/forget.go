package control

import (
	"context"

	"joren/cluster/identity"
)

// Match is whom one person's faces match, with the evidence and the bar
// the door uses (identity.Service.Match).
type Match struct {
	// Visitor is the visitor they match ("" if nobody), with their
	// visits and days, and the enrolled customer they are, if any.
	Visitor  string `json:"visitor,omitempty"`
	Visits   int    `json:"visits,omitempty"`
	Days     int    `json:"days,omitempty"`
	Customer string `json:"customer,omitempty"`
	// Staff is the staff member they are, if so (Visitor is then empty).
	Staff string `json:"staff,omitempty"`
	// Nearest is the most likely visitor even below the bar, and LogOdds
	// the evidence for them (> 0: they are the one).
	Nearest string  `json:"nearest,omitempty"`
	LogOdds float64 `json:"log_odds"`
}

// Match tells whom faces match, changing nothing: what a person confirms
// before a visitor is forgotten by their face.
func (o *Ops) Match(_ context.Context, f Faces) (Match, error) {
	svc, err := o.service()
	if err != nil {
		return Match{}, err
	}
	if err := o.check(f); err != nil {
		return Match{}, err
	}
	m, err := svc.Match(f.Descriptors)
	if err != nil {
		return Match{}, refuse(Invalid, "%v", err)
	}
	return Match{Visitor: m.Visitor, Visits: m.Visits, Days: m.Days, Customer: m.Customer, Staff: m.Staff, Nearest: m.Nearest, LogOdds: finite(m.LogOdds)}, nil
}

// finite keeps JSON-able the -Inf of an empty store.
func finite(x float64) float64 {
	if x < -1e300 {
		return -1e300
	}
	return x
}

// Forgotten is a visitor deleted with everything kept about them.
type Forgotten struct {
	Visitor string `json:"visitor"`
	Visits  int    `json:"visits"`
	Days    int    `json:"days"`
	// Logged decisions deleted with them.
	Logged int `json:"logged"`
	// Customer is the enrolled customer they were, if any: the enrolment
	// went too.
	Customer string `json:"customer,omitempty"`
}

// Forget deletes the visitor id (or the one it was merged into) with
// everything kept about them; NotFound if there is none.
func (o *Ops) Forget(_ context.Context, id string) (Forgotten, error) {
	svc, err := o.service()
	if err != nil {
		return Forgotten{}, err
	}
	f, ok, err := svc.Forget(id)
	if err != nil {
		return Forgotten{}, err
	}
	if !ok {
		return Forgotten{}, refuse(NotFound, "no visitor %s in %s; nothing deleted", id, o.st.Dir())
	}
	o.forgot(f.ID)
	o.log.Info("visitor forgotten on request", "visitor", f.ID, "logged", f.Logged)
	return forgotten(f), nil
}

// ForgetFace forgets the visitor the faces match, with the evidence the
// door uses. Nothing is deleted (NotFound) when they match nobody; nor when
// they show a staff member (Failed: staff are removed by name).
func (o *Ops) ForgetFace(ctx context.Context, f Faces) (Forgotten, error) {
	m, err := o.Match(ctx, f)
	if err != nil {
		return Forgotten{}, err
	}
	switch {
	case m.Staff != "":
		return Forgotten{}, refuse(Failed, "shows staff member %s, not a visitor: `joren staff remove %s` removes staff; nothing deleted", m.Staff, m.Staff)
	case m.Visitor == "" && m.Nearest != "":
		return Forgotten{}, refuse(NotFound, "matches no visitor (the nearest, %s, is too unlikely: log odds %.1f); nothing deleted", m.Nearest, m.LogOdds)
	case m.Visitor == "":
		return Forgotten{}, refuse(NotFound, "matches no visitor: the store has none; nothing deleted")
	}
	return o.Forget(ctx, m.Visitor)
}

func forgotten(f identity.Forgotten) Forgotten {
	return Forgotten{Visitor: f.ID, Visits: f.Visits, Days: f.Days, Logged: f.Logged, Customer: f.Customer}
}
