package store

import (
	"path/filepath"
	"sync"
	"testing"
)

// Two processes making the key at once (the device starting while a joren
// command runs) end with one key: exactly one made it, and every caller
// holds the key that is in the file.
func TestLoadOrCreateKeyRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.key")
	const n = 12
	keys := make([]*Key, n)
	made := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], made[i], errs[i] = LoadOrCreateKey(path) })
	}
	wg.Wait()
	onDisk, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	makers := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if made[i] {
			makers++
		}
		if keys[i].ID() != onDisk.ID() {
			t.Errorf("caller %d holds a key other than the file's", i)
		}
	}
	if makers != 1 {
		t.Errorf("%d callers say they made the key, want 1", makers)
	}
}
