package office

// Counts are the numbers of a shop, box and day (see the package comment
// for what each one counts).
type Counts struct {
	Visits        int64 `json:"visits"`
	NewVisitors   int64 `json:"new_visitors"`
	Returning     int64 `json:"returning"`
	RegularVisits int64 `json:"regular_visits"`
	BecameRegular int64 `json:"became_regular"`
}

// Add counts v, exactly as the box's event.Counts.Add does.
func (c *Counts) Add(v Visit) {
	c.Visits++
	if v.New {
		c.NewVisitors++
	} else {
		c.Returning++
	}
	if v.Regular {
		c.RegularVisits++
	}
	if v.BecameRegular {
		c.BecameRegular++
	}
}

// Plus returns c + o.
func (c Counts) Plus(o Counts) Counts {
	return Counts{
		Visits:        c.Visits + o.Visits,
		NewVisitors:   c.NewVisitors + o.NewVisitors,
		Returning:     c.Returning + o.Returning,
		RegularVisits: c.RegularVisits + o.RegularVisits,
		BecameRegular: c.BecameRegular + o.BecameRegular,
	}
}

// ReturnRate is returning / visits (0 without visits).
func (c Counts) ReturnRate() float64 {
	if c.Visits == 0 {
		return 0
	}
	return float64(c.Returning) / float64(c.Visits)
}

// Hours are visits per local hour of the day.
type Hours [24]int64

// Plus returns h + o.
func (h Hours) Plus(o Hours) Hours {
	for i := range h {
		h[i] += o[i]
	}
	return h
}

// DayRow is the rollup of one shop, box and local day.
type DayRow struct {
	Site, Device, Day string
	Counts
	Hours Hours
}

// Add counts v into the row.
func (r *DayRow) Add(v Visit) {
	r.Counts.Add(v)
	r.Hours[v.Hour]++
}
