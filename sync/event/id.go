package event

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"joren/vocab"
	"time"

	"github.com/oklog/ulid/v2"
)

// eventID is a ULID whose time is the visit's and whose 80 random bits are
// a keyed hash of the visit id: the same decision always gets the same id
// (so a re-published decision deduplicates), different visits get
// different ids, and nobody without the secret can link an id to a visit.
// A decision without a visit id gets random bits.
func (m *Maker) eventID(d vocab.Decision) string {
	var id ulid.ULID
	if err := id.SetTime(ulid.Timestamp(d.Time)); err != nil {
		// Only times after the year 10889 overflow.
		id.SetTime(ulid.MaxTime())
	}
	var entropy [10]byte
	if d.Visit != "" {
		h := hmac.New(sha256.New, m.idKey)
		h.Write([]byte(d.Visit))
		copy(entropy[:], h.Sum(nil))
	} else {
		rand.Read(entropy[:])
	}
	id.SetEntropy(entropy[:])
	return id.String()
}

// NewID returns a fresh random ULID at t, for messages that are not
// derived from a visit (commands, replies).
func NewID(t time.Time) string {
	return ulid.MustNew(ulid.Timestamp(t), rand.Reader).String()
}

func isULID(s string) bool {
	_, err := ulid.ParseStrict(s)
	return err == nil
}
