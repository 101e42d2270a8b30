package outbox

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// PutFunc stores records and state together or not at all; the state can
// be scanned by prefix and pruned; a read-only view cannot write.
func TestPutFuncIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := open(t, path, 0)
	for i := range 5 {
		_, err := o.PutFunc([]Record{rec(i)}, func(s *State) error {
			return s.Put("seen/"+rec(i).ID, []byte{1})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// update fails: neither its state nor the record is stored.
	boom := errors.New("boom")
	_, err := o.PutFunc([]Record{rec(9)}, func(s *State) error {
		if err := s.Put("seen/e009", []byte{1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("PutFunc's error %v, want the update's", err)
	}
	if o.Len() != 5 {
		t.Errorf("%d records after a failed PutFunc, want 5", o.Len())
	}
	o.Close()

	o = open(t, path, 0)
	defer o.Close()
	var keys []string
	err = o.ViewState(func(s *State) error {
		s.Scan("seen/", func(k string, _ []byte) bool {
			keys = append(keys, k)
			return len(keys) < 3
		})
		if err := s.Put("x", nil); err == nil {
			t.Error("a read-only view wrote state")
		}
		if _, err := s.DeletePrefix("seen/"); err == nil {
			t.Error("a read-only view deleted state")
		}
		return nil
	})
	if err != nil || strings.Join(keys, " ") != "seen/e000 seen/e001 seen/e002" {
		t.Errorf("scan stopped after 3 in order: %v, %v", keys, err)
	}
	if v, _ := o.State("seen/e009"); v != nil {
		t.Error("a failed PutFunc's state was kept")
	}
	var removed int
	if _, err := o.PutFunc(nil, func(s *State) (err error) {
		removed, err = s.DeletePrefix("seen/e00")
		return err
	}); err != nil || removed != 5 {
		t.Errorf("DeletePrefix removed %d, %v; want 5", removed, err)
	}
	if v, _ := o.State("seen/e004"); v != nil || o.Len() != 5 {
		t.Errorf("after DeletePrefix: state %q, %d records (records must stay)", v, o.Len())
	}
	if o.Max() != DefaultMax {
		t.Errorf("Max %d, want the default %d", o.Max(), DefaultMax)
	}
}
