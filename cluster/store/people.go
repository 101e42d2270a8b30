package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Staff and enrolled customers are named records: JSON (they are few, and
// read once when the service starts) stored under the person's name, a
// keyed hash of it in an encrypted store.

// getJSON reads a named record into dst.
func (tx *Tx) getJSON(bucket []byte, name string, dst any) (bool, error) {
	v, _, err := tx.get(bucket, tx.name(bucket, name))
	if err != nil || v == nil {
		return false, err
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return false, fmt.Errorf("%s %s: %w", bucket, name, err)
	}
	return true, nil
}

// putJSON writes a named record.
func (tx *Tx) putJSON(bucket []byte, name string, rec any) error {
	val, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	k := tx.name(bucket, name)
	return tx.put(bucket, k, val, tx.size(bucket, k))
}

// deleteNamed deletes a named record and counts the bytes freed. false if
// there was none.
func (tx *Tx) deleteNamed(bucket []byte, name string) (bool, error) {
	n, err := tx.del(bucket, tx.name(bucket, name))
	if err != nil || n == 0 {
		return false, err
	}
	return true, tx.addCounter(kBytes, -n)
}

// eachJSON decodes every record of a named bucket, in name order: where
// stored keys do not sort as names (an encrypted store's are hashes), the
// records are sorted after decoding (they are few).
func eachJSON[T any](tx *Tx, bucket []byte, nameOf func(T) string, fn func(T) error) error {
	ordered := tx.s.keys.ordered()
	var all []T
	err := tx.each(bucket, func(k, p []byte) error {
		var rec T
		if err := json.Unmarshal(p, &rec); err != nil {
			return fmt.Errorf("%s %s: %w", bucket, printable(k), err)
		}
		if ordered {
			return fn(rec)
		}
		all = append(all, rec)
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(all, func(a, b T) int { return strings.Compare(nameOf(a), nameOf(b)) })
	for _, rec := range all {
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// Staff returns a staff member by name.
func (tx *Tx) Staff(name string) (Staff, bool, error) {
	var s Staff
	ok, err := tx.getJSON(bStaff, name, &s)
	return s, ok, err
}

// PutStaff adds or replaces a staff member.
func (tx *Tx) PutStaff(s Staff) error {
	if s.Name == "" {
		return errors.New("staff member without a name")
	}
	return tx.putJSON(bStaff, s.Name, s)
}

// DeleteStaff removes a staff member.
func (tx *Tx) DeleteStaff(name string) (bool, error) { return tx.deleteNamed(bStaff, name) }

// ForEachStaff calls fn for every staff member, by name.
func (tx *Tx) ForEachStaff(fn func(Staff) error) error {
	return eachJSON(tx, bStaff, func(s Staff) string { return s.Name }, fn)
}

// StaffCount is the number of staff members.
func (tx *Tx) StaffCount() int { return count(tx.tx.Bucket(bStaff)) }

// Customer returns an enrolled customer by name.
func (tx *Tx) Customer(name string) (Customer, bool, error) {
	var c Customer
	ok, err := tx.getJSON(bCustomers, name, &c)
	return c, ok, err
}

// PutCustomer adds or replaces an enrolled customer. Their identity must
// exist and carry their name.
func (tx *Tx) PutCustomer(c Customer) error {
	if c.Name == "" {
		return errors.New("customer without a name")
	}
	rec, ok, err := tx.Identity(c.Identity)
	if err != nil {
		return err
	}
	if !ok || rec.Customer != c.Name {
		return fmt.Errorf("customer %s: identity %q is not theirs", c.Name, c.Identity)
	}
	return tx.putJSON(bCustomers, c.Name, c)
}

// DeleteCustomer deletes an enrolled customer with everything of them:
// their enrolment, their identity, its visit log. false if there is no
// customer of that name.
func (tx *Tx) DeleteCustomer(name string) (bool, error) {
	c, ok, err := tx.Customer(name)
	if err != nil || !ok {
		return false, err
	}
	if gone, err := tx.DeleteIdentity(c.Identity); err != nil || gone {
		return gone, err
	}
	// No identity (it cannot happen; be thorough all the same).
	return tx.deleteNamed(bCustomers, name)
}

// deleteCustomer deletes a customer's enrolment record (DeleteIdentity
// calls it: a customer goes with their identity) and returns the bytes
// freed, for the caller to count.
func (tx *Tx) deleteCustomer(name string) (int64, error) {
	return tx.del(bCustomers, tx.name(bCustomers, name))
}

// ForEachCustomer calls fn for every enrolled customer, by name.
func (tx *Tx) ForEachCustomer(fn func(Customer) error) error {
	return eachJSON(tx, bCustomers, func(c Customer) string { return c.Name }, fn)
}

// CustomerCount is the number of enrolled customers.
func (tx *Tx) CustomerCount() int { return count(tx.tx.Bucket(bCustomers)) }
