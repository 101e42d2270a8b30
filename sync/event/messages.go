package event

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Status states.
const (
	Online  = "online"
	Offline = "offline"
)

// Status is the retained message on the status topic: "online" when the
// device connects (and refreshed with every stats period), "offline" as
// its last will or when it shuts down.
type Status struct {
	Schema int    `json:"schema"`
	State  string `json:"state"`
	Device string `json:"device"`
	Site   string `json:"site"`
	// Time is when the message was made; the last will has none (the
	// broker sends it later, when the connection is lost).
	Time time.Time `json:"time,omitzero"`
	// Reason says why the device is offline: "shutdown" or "connection
	// lost" (the last will).
	Reason string `json:"reason,omitempty"`
	// Version is the firmware's version.
	Version string `json:"version,omitempty"`
	// Models are the ids of the face models in use (vocab.Model.ID).
	Models []string `json:"models,omitempty"`
	// Since is when the process started; Uptime is seconds since then.
	Since  time.Time `json:"since,omitzero"`
	Uptime float64   `json:"uptime_s"`
	// Health is the box's health when the message was made (schema 2 on):
	// in every online status and in the offline status of a shutdown; the
	// last will has none (it was made at connection time).
	Health *Health `json:"health,omitempty"`
}

// Counts tallies customer visits: each decided visit once, whatever how
// often its event was published.
type Counts struct {
	Visits        int `json:"visits"`
	New           int `json:"new"`
	Returning     int `json:"returning"`
	Regulars      int `json:"regulars"`
	BecameRegular int `json:"became_regular"`
}

// Add counts v.
func (c *Counts) Add(v Visit) {
	c.Visits++
	if v.Kind == New {
		c.New++
	} else {
		c.Returning++
	}
	if v.Regular {
		c.Regulars++
	}
	if v.BecameRegular {
		c.BecameRegular++
	}
}

// OutboxStats describes the delivery queue.
type OutboxStats struct {
	// Pending events are stored and not yet acknowledged by the broker.
	Pending int `json:"pending"`
	// Delivered events were acknowledged since the process started.
	Delivered uint64 `json:"delivered"`
	// Dropped events were discarded, oldest first, because the outbox was
	// full (since the outbox was created).
	Dropped uint64 `json:"dropped"`
}

// Stats is the periodic message on the stats topic (also sent on
// connect, on a change of health, on the stats command and at shutdown).
type Stats struct {
	Schema int       `json:"schema"`
	Device string    `json:"device"`
	Site   string    `json:"site"`
	Time   time.Time `json:"time"`
	Since  time.Time `json:"since"`
	Uptime float64   `json:"uptime_s"`
	// Version is the firmware's version (schema 2 on).
	Version string `json:"version,omitempty"`
	// Day is the local date Today counts ("2026-05-14"), and UTCOffset
	// the shop's offset from UTC now ("+09:00"; schema 2 on).
	Day       string `json:"day"`
	UTCOffset string `json:"utc_offset,omitempty"`
	Today     Counts `json:"today"`
	// Total counts every visit decided since the outbox was created.
	Total  Counts      `json:"total"`
	Outbox OutboxStats `json:"outbox"`
	// Commands received and rejected since the process started.
	Commands CommandStats `json:"commands"`
	// Health is the box's health (schema 2 on).
	Health *Health `json:"health,omitempty"`
}

// CommandStats counts commands.
type CommandStats struct {
	Received int `json:"received"`
	Rejected int `json:"rejected"`
}

// Command names.
const (
	// Forget deletes the visitor whose pseudonym in Period is Visitor.
	Forget = "forget"
	// PublishStats asks for a stats message now.
	PublishStats = "stats"
	// Page turns the box's page on again after it turned itself off
	// (installer.off_after_minutes), for another round.
	Page = "page"
)

// Command is a message head office sends on the command topic (only when
// the device enables commands). It is authorised by Signature, an
// HMAC-SHA256 under a key shared by head office and the device, over the
// fields in SigningText's order; Time must be within a few minutes of the
// device's clock and ID must not repeat, so a recorded command cannot be
// replayed.
type Command struct {
	Schema int `json:"schema"`
	// ID is unique per command (a ULID is fine); the reply carries it.
	ID string `json:"id"`
	// Time is when the command was made, RFC 3339.
	Time string `json:"time"`
	// Name is the command: forget, stats or page.
	Name string `json:"command"`
	// Visitor and Period select the visitor to forget.
	Visitor string `json:"visitor,omitempty"`
	Period  string `json:"period,omitempty"`
	// Signature is hex HMAC-SHA256(key, SigningText()).
	Signature string `json:"signature"`
}

// SigningText is what Signature authenticates: the fields joined by
// newlines, exactly as they appear in the message.
func (c Command) SigningText() string {
	return strings.Join([]string{"joren-command-v1", fmt.Sprint(c.Schema), c.ID, c.Time, c.Name, c.Visitor, c.Period}, "\n")
}

// Sign sets c.Signature under key.
func (c *Command) Sign(key []byte) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(c.SigningText()))
	c.Signature = hex.EncodeToString(m.Sum(nil))
}

// ErrUnauthorised means a command's signature does not verify.
var ErrUnauthorised = errors.New("signature does not verify")

// ParseCommand decodes and checks a command: its fields, its signature
// under key, and that its time is within skew of now. Every error says
// what is wrong with the message, for the log and the reply.
func ParseCommand(payload []byte, key []byte, now time.Time, skew time.Duration) (Command, error) {
	var c Command
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Command{}, fmt.Errorf("not a command object: %w", err)
	}
	if dec.More() {
		return c, errors.New("trailing data after the command object")
	}
	if c.Schema != CommandSchema {
		return c, fmt.Errorf("schema %d, want %d", c.Schema, CommandSchema)
	}
	if c.ID == "" || len(c.ID) > 64 {
		return c, errors.New("id missing or longer than 64 characters")
	}
	// The signed text joins the fields with newlines: a field holding one
	// could pass for two.
	if strings.ContainsFunc(c.ID+c.Period, unicode.IsControl) {
		return c, errors.New("id or period holds control characters")
	}
	t, err := time.Parse(time.RFC3339Nano, c.Time)
	if err != nil {
		return c, fmt.Errorf("time %q is not RFC 3339", c.Time)
	}
	switch c.Name {
	case Forget:
		if !isPseudonym(c.Visitor) || c.Period == "" {
			return c, errors.New("forget needs a visitor pseudonym (32 hex digits) and its period")
		}
	case PublishStats, Page:
		if c.Visitor != "" || c.Period != "" {
			return c, fmt.Errorf("%s takes no visitor or period", c.Name)
		}
	default:
		return c, fmt.Errorf("unknown command %q (want forget, stats or page)", c.Name)
	}
	want := c
	want.Sign(key)
	got, err := hex.DecodeString(c.Signature)
	if err != nil || !hmac.Equal(got, mustHex(want.Signature)) {
		return c, ErrUnauthorised
	}
	if d := now.Sub(t); d > skew || d < -skew {
		return c, fmt.Errorf("time %s is %s away from the device's clock (allowed %s)", c.Time, d.Round(time.Second), skew)
	}
	return c, nil
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

// Reply answers a command on the reply topic.
type Reply struct {
	Schema int       `json:"schema"`
	Time   time.Time `json:"time"`
	// Command is the command's id ("" when the message had none).
	Command string `json:"command"`
	OK      bool   `json:"ok"`
	// Error says why the command was rejected or failed.
	Error string `json:"error,omitempty"`
	// Forgotten says how many identities a forget deleted.
	Forgotten int `json:"forgotten,omitempty"`
}
