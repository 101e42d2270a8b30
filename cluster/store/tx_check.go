package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// checkRecords opens and decodes every record and checks the indexes and
// counters against them. It reports every problem it finds, not the first.
func (tx *Tx) checkRecords() error {
	var (
		errs  []error
		total int64 // the records' bytes
	)
	bad := func(err error) { errs = append(errs, err) }
	// records calls fn with every record of bucket that opens; what does
	// not open, and what fn finds, is reported.
	records := func(bucket []byte, fn func(k, p []byte) error) error {
		return tx.tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			total += int64(len(k) + len(v))
			p, err := tx.open(bucket, k, v)
			if err == nil {
				err = fn(k, p)
			}
			if err != nil {
				bad(err)
			}
			return nil
		})
	}

	identities := map[string]bool{}
	customers := map[string]string{} // identity -> customer name
	if err := records(bIdentities, func(k, p []byte) error {
		rec, err := identityOf(k, p)
		if err != nil {
			return err
		}
		identities[rec.ID] = true
		if rec.Customer != "" {
			customers[rec.ID] = rec.Customer
		}
		if string(k) != rec.ID {
			bad(fmt.Errorf("identity under key %s has id %s", printable(k), rec.ID))
		}
		if tx.tx.Bucket(bSeen).Get(tx.seenKeyOf(rec.LastSeen, rec.ID)) == nil {
			bad(fmt.Errorf("identity %s missing from the last-seen index", rec.ID))
		}
		return nil
	}); err != nil {
		return err
	}

	c := tx.tx.Bucket(bSeen).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		id, _, _, err := tx.seenEntry(k, v)
		switch {
		case err != nil:
			bad(err)
		case !identities[id]:
			bad(fmt.Errorf("last-seen index entry %x has no identity", k))
		}
	}

	if err := records(bVisits, func(k, p []byte) error {
		rec, err := visitOf(k, p)
		if err != nil {
			return err
		}
		if !bytes.Equal(k, tx.name(bVisits, rec.ID)) {
			bad(fmt.Errorf("visit under key %s has id %s", printable(k), rec.ID))
		}
		if rec.Identity == "" {
			return nil
		}
		if !identities[rec.Identity] {
			bad(fmt.Errorf("visit %s belongs to identity %s, which does not exist", rec.ID, rec.Identity))
		}
		if tx.tx.Bucket(bByIdentity).Get(tx.byIdentityKey(rec.Identity, k)) == nil {
			bad(fmt.Errorf("visit %s missing from the by-identity index", rec.ID))
		}
		return nil
	}); err != nil {
		return err
	}

	if err := records(bStaff, func(k, p []byte) error {
		var s Staff
		if err := json.Unmarshal(p, &s); err != nil {
			return fmt.Errorf("staff %s: %w", printable(k), err)
		}
		if !bytes.Equal(k, tx.name(bStaff, s.Name)) {
			return fmt.Errorf("staff member under key %s is named %s", printable(k), s.Name)
		}
		return nil
	}); err != nil {
		return err
	}

	enrolled := map[string]bool{}
	if err := records(bCustomers, func(k, p []byte) error {
		var c Customer
		if err := json.Unmarshal(p, &c); err != nil {
			return fmt.Errorf("customer %s: %w", printable(k), err)
		}
		if !bytes.Equal(k, tx.name(bCustomers, c.Name)) {
			return fmt.Errorf("customer under key %s is named %s", printable(k), c.Name)
		}
		if customers[c.Identity] != c.Name {
			return fmt.Errorf("customer %s: identity %s is not theirs", c.Name, c.Identity)
		}
		enrolled[c.Identity] = true
		return nil
	}); err != nil {
		return err
	}
	for id, name := range customers {
		if !enrolled[id] {
			bad(fmt.Errorf("identity %s belongs to customer %s, who is not enrolled", id, name))
		}
	}

	if err := records(bAliases, func(k, p []byte) error { return nil }); err != nil {
		return err
	}

	if c, n := tx.Count(), count(tx.tx.Bucket(bIdentities)); c != n {
		bad(fmt.Errorf("identity count %d, but %d identities", c, n))
	}
	if b := tx.Bytes(); b != total {
		bad(fmt.Errorf("byte count %d, but records take %d", b, total))
	}
	if len(errs) > 0 {
		return fmt.Errorf("identity store %s is inconsistent: %w", tx.s.dir, errors.Join(errs...))
	}
	return nil
}
