package password

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"unicode/utf8"
)

// Min is the shortest installer's password accepted: the page shows
// faces.
const Min = 8

// MinStaff is the shortest staff password or PIN accepted: six digits,
// with the page's login limits, take months to guess.
const MinStaff = 6

// Read reads the first line of path, without surrounding white space, and
// returns its SHA-256: the page compares hashes, so that a comparison
// takes the same time whatever the length of the guess. The password
// itself never leaves this function. key names the file's configuration
// key in errors; least is the shortest password accepted.
func Read(path, key string, least int) ([32]byte, error) {
	if path == "" {
		return [32]byte{}, fmt.Errorf("installer page: no password file (%s)", key)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}, fmt.Errorf("installer page: reading the password (%s): %w", key, err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	pw := string(bytes.TrimSpace(line))
	switch n := utf8.RuneCountInString(pw); {
	case n == 0:
		return [32]byte{}, fmt.Errorf("installer page: password file %s: the first line is empty", path)
	case n < least:
		return [32]byte{}, fmt.Errorf("installer page: password file %s: the password has %d characters, want at least %d", path, n, least)
	}
	return sha256.Sum256([]byte(pw)), nil
}
