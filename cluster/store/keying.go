package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// keying is how a store keeps its records: the key each is stored under
// and the form of its value. A plain store keeps natural keys and values
// as they are; an encrypted one seals every value and replaces the keys
// that would tell something by keyed hashes (docs/privacy.md). The record
// code asks its store's keying and is written once for both; the choice is
// made when the store is opened (or encrypted), nowhere else.
type keying interface {
	// name is the stored key of a record whose natural key is logical.
	name(bucket []byte, logical string) []byte
	// seal is the stored form of a value kept under key k of bucket;
	// open is its inverse, errAuth when the stored value is not one that
	// seal made for that place.
	seal(bucket, k, plain []byte) []byte
	open(bucket, k, stored []byte) ([]byte, error)
	// byIdentity starts the by-identity index keys of an identity's
	// logged visits (the visit's stored key follows).
	byIdentity(identity string) []byte
	// seenKey is the last-seen index key of identity id last seen at t,
	// and seenValue its value before sealing; seen reads an entry back
	// from its key and opened value.
	seenKey(t time.Time, id string) []byte
	seenValue(t time.Time, id string, flags byte) []byte
	seen(k, v []byte) (id string, t time.Time, flags byte, err error)
	// ordered tells whether stored keys sort as natural keys do.
	ordered() bool
}

// plainKeying keeps records as they are: natural keys, values in the
// clear. The last-seen index is ordered by exact time.
type plainKeying struct{}

func (plainKeying) name(_ []byte, logical string) []byte           { return []byte(logical) }
func (plainKeying) seal(_, _, plain []byte) []byte                 { return plain }
func (plainKeying) open(_, _, stored []byte) ([]byte, error)       { return stored, nil }
func (plainKeying) byIdentity(identity string) []byte              { return append([]byte(identity), 0) }
func (plainKeying) seenKey(t time.Time, id string) []byte          { return seenKey(t, id) }
func (plainKeying) seenValue(_ time.Time, _ string, f byte) []byte { return []byte{f} }
func (plainKeying) ordered() bool                                  { return true }

// seenKey is a plain store's last-seen index key: the time, then the id
// (the value is the flags).
func seenKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	return append(k, id...)
}

func (plainKeying) seen(k, v []byte) (string, time.Time, byte, error) {
	if len(k) < 8 {
		return "", time.Time{}, 0, fmt.Errorf("last-seen index entry %x is malformed", k)
	}
	var flags byte
	if len(v) > 0 {
		flags = v[0]
	}
	return string(k[8:]), time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC(), flags, nil
}

// sealedKeying seals every value with the store's key, bound to its
// bucket and key, and names the records whose natural keys tell something
// with a keyed hash.
type sealedKeying struct{ key *Key }

// hashed are the buckets whose natural keys tell something: people's
// names, and visit ids, which carry their time. Identity ids are
// sequence numbers and stay as they are (so do the dirty list's, which
// holds nothing else).
func hashed(bucket []byte) bool {
	return bytes.Equal(bucket, bVisits) || bytes.Equal(bucket, bStaff) || bytes.Equal(bucket, bCustomers)
}

func (s sealedKeying) name(bucket []byte, logical string) []byte {
	if !hashed(bucket) {
		return []byte(logical)
	}
	return s.key.name(bucket, []byte(logical))
}

func (s sealedKeying) seal(bucket, k, plain []byte) []byte { return s.key.seal(bucket, k, plain) }

func (s sealedKeying) open(bucket, k, stored []byte) ([]byte, error) {
	return s.key.open(bucket, k, stored)
}

func (s sealedKeying) byIdentity(identity string) []byte {
	return s.key.name(bByIdentity, []byte(identity))
}

// seenKey: only the day is in the clear (retention and eviction need the
// order), then a keyed hash of the id; the exact time, the flags and the
// id are in the sealed value.
func (s sealedKeying) seenKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint32(nil, uint32(dayOf(t)+1<<31))
	return append(k, s.key.name(bSeen, []byte(id))[:8]...)
}

func (sealedKeying) seenValue(t time.Time, id string, flags byte) []byte {
	p := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	p = append(p, flags)
	return append(p, id...)
}

func (sealedKeying) seen(k, p []byte) (string, time.Time, byte, error) {
	if len(p) < 9 {
		return "", time.Time{}, 0, fmt.Errorf("last-seen index entry %x is malformed", k)
	}
	return string(p[9:]), time.Unix(0, int64(binary.BigEndian.Uint64(p))).UTC(), p[8], nil
}

// ordered: hashed names sort in no useful order.
func (sealedKeying) ordered() bool { return false }

// dayOf is t's UTC day number.
func dayOf(t time.Time) int64 { return t.Unix() / 86400 }
