package store

// Maintenance's to-do list: the identities to re-check (merge or split)
// in the next pass, by id. It says nothing about anyone that the
// identities do not, and is kept as it is in an encrypted store.

// MarkDirty puts an identity on maintenance's to-do list.
func (tx *Tx) MarkDirty(id string) error { return tx.tx.Bucket(bDirty).Put([]byte(id), nil) }

// ClearDirty takes an identity off the to-do list.
func (tx *Tx) ClearDirty(id string) error { return tx.tx.Bucket(bDirty).Delete([]byte(id)) }

// Dirty lists up to limit identities on the to-do list (all if limit <= 0).
func (tx *Tx) Dirty(limit int) []string {
	var out []string
	c := tx.tx.Bucket(bDirty).Cursor()
	for k, _ := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
		out = append(out, string(k))
	}
	return out
}
