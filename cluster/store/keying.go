package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// keying is how a store keeps its records: the key each is stored under
// and the form of its value. A plain store (the zero keying) keeps natural
// keys and values as they are; an encrypted one seals every value, bound to
// its bucket and key, and replaces the keys that would tell something
// (people's names, visit ids, which carry their time, and last-seen times)
// by keyed hashes (docs/privacy.md). The record code asks its store's
// keying and is written once for both kinds; this type is the only place
// where they differ.
//
// Identity ids are sequence numbers and tell nothing: in both kinds of
// store they are their own keys (identities, aliases, the to-do list).
//
// It is a struct, not an interface, and takes natural keys as strings, so
// that a plain store's keys made at the door stay on the stack (an
// interface's arguments, and bytes that may go to the keyed hash, escape
// to the heap).
type keying struct {
	key *Key // nil: a plain store
}

// sealed tells whether the store is encrypted.
func (k keying) sealed() bool { return k.key != nil }

// name is the stored key of a record (a visit, a staff member, a customer)
// whose natural key is logical.
func (k keying) name(bucket []byte, logical string) []byte {
	if k.key == nil {
		return []byte(logical)
	}
	return k.key.name(bucket, []byte(logical))
}

// seal is the stored form of a value kept under key sk of bucket.
func (k keying) seal(bucket, sk, plain []byte) []byte {
	if k.key == nil {
		return plain
	}
	return k.key.seal(bucket, sk, plain)
}

// open is the inverse of seal: errAuth when the stored value is not one
// that seal made for that place.
func (k keying) open(bucket, sk, stored []byte) ([]byte, error) {
	if k.key == nil {
		return stored, nil
	}
	return k.key.open(bucket, sk, stored)
}

// byIdentity is the by-identity index key of a visit of identity stored
// under vk: the id and a 0 byte, or a keyed hash of the id, then vk. With
// vk nil, it is the prefix of all the identity's keys.
func (k keying) byIdentity(identity string, vk []byte) []byte {
	if k.key == nil {
		b := make([]byte, 0, len(identity)+1+len(vk))
		return append(append(append(b, identity...), 0), vk...)
	}
	return append(k.key.name(bByIdentity, []byte(identity)), vk...)
}

// seenKey is the last-seen index key of identity id last seen at t. A
// plain store's is the time then the id, in time order. In an encrypted
// one only the day is in the clear (retention and eviction need the
// order), then a keyed hash of the id; the exact time and the id are in
// the sealed value.
func (k keying) seenKey(t time.Time, id string) []byte {
	if k.key == nil {
		return seenKey(t, id)
	}
	sk := binary.BigEndian.AppendUint32(nil, uint32(dayOf(t)+1<<31))
	return append(sk, k.key.name(bSeen, []byte(id))[:8]...)
}

// seenKey is a plain store's last-seen index key.
func seenKey(t time.Time, id string) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	return append(k, id...)
}

// seenValue is a last-seen index entry's value, before sealing: the flags
// in a plain store; the time, the flags and the id in an encrypted one.
func (k keying) seenValue(t time.Time, id string, flags byte) []byte {
	if k.key == nil {
		return []byte{flags}
	}
	p := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	p = append(p, flags)
	return append(p, id...)
}

// seen reads a last-seen index entry back from its key sk and opened
// value v (id is part of one of them).
func (k keying) seen(sk, v []byte) (id []byte, t time.Time, flags byte, err error) {
	if k.key == nil {
		if len(sk) < 8 {
			return nil, time.Time{}, 0, fmt.Errorf("last-seen index entry %x is malformed", sk)
		}
		if len(v) > 0 {
			flags = v[0]
		}
		return sk[8:], time.Unix(0, int64(binary.BigEndian.Uint64(sk))).UTC(), flags, nil
	}
	if len(v) < 9 {
		return nil, time.Time{}, 0, fmt.Errorf("last-seen index entry %x is malformed", sk)
	}
	return v[9:], time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC(), v[8], nil
}

// ordered tells whether stored names sort as natural keys do (hashes
// sort in no useful order).
func (k keying) ordered() bool { return k.key == nil }

// dayOf is t's UTC day number.
func dayOf(t time.Time) int64 { return t.Unix() / 86400 }
