package store

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// erasedSuffix names the list of what the store deleted since its file
// was last rewritten whole (created, compacted, salvaged), beside it:
// identities.db.erased.
//
// A file cut short usually loses its newest pages, and with them the
// tree's root and the free list: the records below are still there, but
// without the free list a page in use cannot be told from a free one,
// which may hold a record deleted since, a forgotten visitor. This list
// tells them apart: Salvage reads every page then, and drops what the
// list says was deleted. It holds record keys only (visitor ids, which
// tell nothing, and an encrypted store's hashed names), is written before
// the deleting transaction commits, and starts anew at every compaction,
// which leaves no free page behind.
const erasedSuffix = ".erased"

// erasedKey is a deleted record: its bucket and stored key.
type erasedKey struct {
	bucket string
	key    []byte
}

func (s *Store) erasedPath() string { return s.path() + erasedSuffix }

// noteErased adds keys to the list, durably. If it cannot, the list is
// removed: a store without one is salvaged without reading free pages
// (less is salvaged, nothing deleted comes back). A store whose list was
// never started (one older than the list) has none until its next
// compaction.
func (s *Store) noteErased(keys []erasedKey) {
	if len(keys) == 0 {
		return
	}
	path := s.erasedPath()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil {
		w := bufio.NewWriter(f)
		for _, k := range keys {
			fmt.Fprintf(w, "%s %x\n", k.bucket, k.key)
		}
		if err = w.Flush(); err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.Remove(path)
	}
}

// resetErased starts the list anew: the file was just rewritten with only
// its live records.
func (s *Store) resetErased() {
	path := s.erasedPath()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		os.Remove(path)
	}
}

// readErased reads the list of the store file at path: the keys deleted,
// as bucket and hexadecimal key; false if there is no list (or it does
// not read).
func readErased(path string) (map[string]bool, bool) {
	b, err := os.ReadFile(path + erasedSuffix)
	if err != nil {
		return nil, false
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		bucket, key, ok := strings.Cut(line, " ")
		if line == "" {
			continue
		}
		if _, err := hex.DecodeString(key); !ok || err != nil {
			return nil, false // damaged too: not to be trusted
		}
		out[bucket+" "+key] = true
	}
	return out, true
}

// erasedKeyOf is a record's entry in a list read by readErased.
func erasedKeyOf(bucket, key []byte) string { return fmt.Sprintf("%s %x", bucket, key) }
