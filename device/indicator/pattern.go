package indicator

import (
	"fmt"
	"strings"
	"time"
)

// Kind is what a pattern announces.
type Kind string

const (
	// Regular: a regular walked in.
	Regular Kind = "regular"
	// BecameRegular: this visit made the visitor a regular.
	BecameRegular Kind = "became-regular"
	// Returning: a known visitor who is not (yet) a regular.
	Returning Kind = "returning"
	// NewVisitor: a first visit.
	NewVisitor Kind = "new"
	// Staff: a staff member.
	Staff Kind = "staff"
	// Forgot confirms that the button forgot the last visitor.
	Forgot Kind = "forgot"
	// Started is the lamp test when the appliance starts: whoever wired
	// the box or powered it on sees that the LED works.
	Started Kind = "started"
)

// Kinds lists every kind, most important first: when requests are
// coalesced, the earliest in this list wins.
func Kinds() []Kind {
	return []Kind{Forgot, BecameRegular, Regular, Returning, NewVisitor, Staff, Started}
}

// rank is k's place in Kinds (len(Kinds()) for an unknown kind).
func rank(k Kind) int {
	kinds := Kinds()
	for i, x := range kinds {
		if x == k {
			return i
		}
	}
	return len(kinds)
}

// Step holds the LED and buzzer in one state for a while.
type Step struct {
	LED    bool
	Buzzer bool
	For    time.Duration
}

// Pattern is a sequence of steps; everything is off after the last one.
// The empty pattern shows nothing.
type Pattern []Step

// MaxPattern bounds a pattern's length: a pattern is a signal, not a
// light show, and a long one would delay the next.
const MaxPattern = 10 * time.Second

// ParsePattern reads a pattern written as comma-separated steps, each
// "WHAT DURATION" where WHAT is led, buzz, led+buzz or off:
//
//	led+buzz 100ms, off 100ms, led 100ms, off 100ms, led 100ms
//
// is three short blinks, the first with a short beep. "none" (or the
// empty string) is the empty pattern.
func ParsePattern(s string) (Pattern, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	var (
		p     Pattern
		total time.Duration
	)
	for i, part := range strings.Split(s, ",") {
		fields := strings.Fields(part)
		if len(fields) != 2 {
			return nil, fmt.Errorf("pattern %q, step %d %q: want WHAT DURATION, such as \"led 100ms\"", s, i+1, strings.TrimSpace(part))
		}
		var st Step
		for _, w := range strings.Split(fields[0], "+") {
			switch w {
			case "led":
				st.LED = true
			case "buzz", "buzzer":
				st.Buzzer = true
			case "off":
				if fields[0] != "off" {
					return nil, fmt.Errorf("pattern %q, step %d: off cannot be combined", s, i+1)
				}
			default:
				return nil, fmt.Errorf("pattern %q, step %d: %q, want led, buzz, led+buzz or off", s, i+1, w)
			}
		}
		d, err := time.ParseDuration(fields[1])
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("pattern %q, step %d: duration %q, want a positive duration such as 100ms", s, i+1, fields[1])
		}
		st.For = d
		total += d
		p = append(p, st)
	}
	if total > MaxPattern {
		return nil, fmt.Errorf("pattern %q lasts %s, longer than %s", s, total, MaxPattern)
	}
	return p, nil
}

// String writes p as ParsePattern reads it.
func (p Pattern) String() string {
	if len(p) == 0 {
		return "none"
	}
	parts := make([]string, len(p))
	for i, st := range p {
		what := "off"
		switch {
		case st.LED && st.Buzzer:
			what = "led+buzz"
		case st.LED:
			what = "led"
		case st.Buzzer:
			what = "buzz"
		}
		parts[i] = what + " " + st.For.String()
	}
	return strings.Join(parts, ", ")
}

// Duration is how long p plays.
func (p Pattern) Duration() time.Duration {
	var d time.Duration
	for _, s := range p {
		d += s.For
	}
	return d
}

// Patterns maps kinds to patterns; a kind without a pattern shows nothing.
type Patterns map[Kind]Pattern

// DefaultPatterns: three short blinks and a short beep for a regular;
// three blinks with two beeps and a long last blink for a new regular;
// one long blink to confirm a forget. Other visitors and staff show
// nothing: staff look up only when it matters.
func DefaultPatterns() Patterns {
	must := func(s string) Pattern {
		p, err := ParsePattern(s)
		if err != nil {
			panic(err)
		}
		return p
	}
	return Patterns{
		Regular:       must("led+buzz 120ms, off 120ms, led 120ms, off 120ms, led 120ms"),
		BecameRegular: must("led+buzz 120ms, off 120ms, led+buzz 120ms, off 120ms, led 600ms"),
		Forgot:        must("led 1s"),
		Started:       must("led 1s"),
	}
}

// Set parses "KIND=PATTERN" and sets it, for configuration flags.
func (ps Patterns) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("indicator pattern %q: want KIND=PATTERN, such as regular=\"led 100ms, off 100ms, led 100ms\"", kv)
	}
	kind := Kind(strings.TrimSpace(k))
	if rank(kind) == len(Kinds()) {
		return fmt.Errorf("indicator pattern %q: unknown kind %q (want one of %v)", kv, kind, Kinds())
	}
	p, err := ParsePattern(v)
	if err != nil {
		return err
	}
	ps[kind] = p
	return nil
}
