package password

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"unicode/utf8"
)

// Min is the shortest password accepted: the page shows faces.
const Min = 8

// Read reads the first line of path, without surrounding white space, and
// returns its SHA-256: the page compares hashes, so that a comparison
// takes the same time whatever the length of the guess. The password
// itself never leaves this function.
func Read(path string) ([32]byte, error) {
	if path == "" {
		return [32]byte{}, fmt.Errorf("installer page: no password file (installer.password_file)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}, fmt.Errorf("installer page: reading the password: %w", err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	pw := string(bytes.TrimSpace(line))
	switch n := utf8.RuneCountInString(pw); {
	case n == 0:
		return [32]byte{}, fmt.Errorf("installer page: password file %s: the first line is empty", path)
	case n < Min:
		return [32]byte{}, fmt.Errorf("installer page: password file %s: the password has %d characters, want at least %d", path, n, Min)
	}
	return sha256.Sum256([]byte(pw)), nil
}
