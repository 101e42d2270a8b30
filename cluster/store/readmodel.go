package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"joren/internal/boltfile"
	"joren/vocab"
)

// errModelFound ends ReadModel's walk at the first readable description.
var errModelFound = errors.New("model found")

// ReadModel tells the model of the store in dir without opening it, so
// that a caller can load the face models that describe faces as the
// store's people were described before it opens the store for them. It
// reads the file's pages as salvage does (a damaged file still tells its
// model, and the backup does if the file cannot), without the key (the
// description is not sealed). ErrNoStore: dir holds no store.
//
// A running service holds the file: ReadModel then waits briefly and says
// so in its error.
func ReadModel(dir string) (vocab.Model, error) {
	var errs []error
	for _, name := range []string{FileName, BackupFile} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		m, err := readModel(path)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
	}
	if errs == nil {
		return vocab.Model{}, fmt.Errorf("%w in %s", ErrNoStore, dir)
	}
	return vocab.Model{}, fmt.Errorf("reading the model of the identity store in %s: %w", dir, errors.Join(errs...))
}

func readModel(path string) (vocab.Model, error) {
	var m Meta
	_, err := boltfile.Salvage(path, boltfile.SalvageOptions{LockTimeout: 200 * time.Millisecond}, func(it boltfile.Item) error {
		if it.Bucket || !bytes.Equal(it.Key, kMeta) || !(it.Orphan || len(it.Path) > 0 && bytes.Equal(it.Path[0], bMeta)) {
			return nil
		}
		if json.Unmarshal(it.Value, &m) == nil && m.Schema > 0 && m.Model.Dim > 0 {
			return errModelFound
		}
		return nil
	})
	if errors.Is(err, errModelFound) {
		return m.Model, nil
	}
	if err != nil {
		return vocab.Model{}, err
	}
	return vocab.Model{}, fmt.Errorf("%s: no readable description of the store", path)
}
