package outbox

import (
	"bytes"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// State is the caller's key-value state inside one outbox transaction
// (PutFunc, ViewState): small values the caller keeps consistent with the
// queue, such as which events it has counted. Keys are ordered bytewise.
// A State is valid only during the callback it was given to; values it
// returns are too (clone what must outlive it).
type State struct {
	b        *bolt.Bucket
	readOnly bool
}

var errReadOnly = errors.New("outbox: state written in a read-only transaction")

// Get returns the value under key, nil if none.
func (s *State) Get(key string) []byte { return s.b.Get([]byte(key)) }

// Put sets key to v.
func (s *State) Put(key string, v []byte) error {
	if s.readOnly {
		return errReadOnly
	}
	return s.b.Put([]byte(key), v)
}

// Delete removes key (nothing if it is not there).
func (s *State) Delete(key string) error {
	if s.readOnly {
		return errReadOnly
	}
	return s.b.Delete([]byte(key))
}

// Scan calls fn with every key that starts with prefix, in key order,
// and its value, until fn returns false.
func (s *State) Scan(prefix string, fn func(key string, v []byte) bool) {
	p := []byte(prefix)
	c := s.b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if !fn(string(k), v) {
			return
		}
	}
}

// DeletePrefix removes every key that starts with prefix and returns how
// many it removed.
func (s *State) DeletePrefix(prefix string) (int, error) {
	if s.readOnly {
		return 0, errReadOnly
	}
	var keys []string
	s.Scan(prefix, func(k string, _ []byte) bool {
		keys = append(keys, k)
		return true
	})
	for _, k := range keys {
		if err := s.b.Delete([]byte(k)); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
