package store

import (
	"bytes"
	"encoding/binary"
	"time"
)

// Merge aliases are stored under the merged-away id; the value is when
// the merge was (8 bytes, Unix nanoseconds) and then the surviving id.
// They let an old id still find its visitor (forget --visitor OLD) until
// retention prunes them.

// aliasValue is the value of an alias to id to, made at at.
func aliasValue(to string, at time.Time) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())), to...)
}

// aliasTarget is the surviving id of an alias's opened value.
func aliasTarget(v []byte) []byte {
	if len(v) < 8 {
		return v
	}
	return v[8:]
}

// aliasBefore tells whether an alias's opened value was made before t.
func aliasBefore(v []byte, t time.Time) bool {
	return len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) < t.UnixNano()
}

// PutAlias records that identity from was merged into to at time at, so
// that the old id still finds its visitor (forget --visitor OLD).
func (tx *Tx) PutAlias(from, to string, at time.Time) error {
	// Earlier aliases that led to from now lead to to.
	var keys [][]byte
	if err := tx.each(bAliases, func(k, v []byte) error {
		if string(aliasTarget(v)) == from {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	val := aliasValue(to, at)
	for _, k := range append(keys, []byte(from)) {
		if err := tx.put(bAliases, k, val, tx.size(bAliases, k)); err != nil {
			return err
		}
	}
	return nil
}

// Resolve follows merge aliases: the id under which identity id lives now
// (id itself if it was never merged away).
func (tx *Tx) Resolve(id string) (string, error) {
	v, _, err := tx.get(bAliases, []byte(id))
	if err != nil || v == nil {
		return id, err
	}
	return string(aliasTarget(v)), nil
}

// PruneAliases deletes aliases made before t.
func (tx *Tx) PruneAliases(before time.Time) error {
	freed, err := tx.deleteAll(bAliases, func(_, v []byte) bool { return aliasBefore(v, before) })
	if err != nil {
		return err
	}
	return tx.addCounter(kBytes, -freed)
}

// deleteAliases deletes the aliases that lead to identity id (its own
// deletion) and returns the bytes freed, for the caller to count.
func (tx *Tx) deleteAliases(id string) (int64, error) {
	return tx.deleteAll(bAliases, func(_, v []byte) bool { return string(aliasTarget(v)) == id })
}
