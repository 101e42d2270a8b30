package event

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"joren/internal/atomicfile"
)

// MinSecretBytes is the shortest device secret accepted: 128 bits.
const MinSecretBytes = 16

// Secret is a device's pseudonym key. It never leaves the device: it is
// not in any event, log line or command reply. Its String method hides it
// so that a stray %v cannot print it.
type Secret []byte

// String hides the secret.
func (Secret) String() string { return "[secret]" }

// GoString hides the secret from %#v too.
func (Secret) GoString() string { return "event.Secret{[secret]}" }

// NewSecret returns 32 random bytes.
func NewSecret() (Secret, error) {
	s := make(Secret, 32)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("event: generating a device secret: %w", err)
	}
	return s, nil
}

// ParseSecret decodes a secret written as hex digits (surrounding white
// space is ignored).
func ParseSecret(text string) (Secret, error) {
	text = strings.TrimSpace(text)
	b, err := hex.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("not hex digits: %w", err)
	}
	if len(b) < MinSecretBytes {
		return nil, fmt.Errorf("%d bytes, want at least %d (%d hex digits)", len(b), MinSecretBytes, 2*MinSecretBytes)
	}
	return Secret(b), nil
}

// LoadSecret reads the device secret from path, creating the file with a
// new random secret (mode 0600) when it does not exist. A file that exists
// but does not hold a secret is an error and is left untouched: replacing
// it would silently change every pseudonym.
func LoadSecret(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := ParseSecret(string(b))
		if err != nil {
			return nil, fmt.Errorf("device secret %s: %w", path, err)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading device secret: %w", err)
	}
	s, err := NewSecret()
	if err != nil {
		return nil, err
	}
	// Atomically: a crash leaves either no file or the whole secret, never
	// a truncated one that the next start would reject.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating device secret %s: %w", path, err)
	}
	err = atomicfile.Create(path, []byte(hex.EncodeToString(s)+"\n"), 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process made one meanwhile: its secret wins, ours is
		// discarded, and both use the same pseudonyms.
		return LoadSecret(path)
	}
	if err != nil {
		return nil, fmt.Errorf("creating device secret %s: %w", path, err)
	}
	return s, nil
}

// derive returns a key for one use of the secret.
func (s Secret) derive(label string) []byte {
	m := hmac.New(sha256.New, s)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// pseudonym is the first 128 bits of HMAC-SHA256(key, period NUL visitor),
// in hex: enough that two visitors of one device never collide in practice,
// short enough for a topic payload.
func pseudonym(key []byte, period, visitor string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(period))
	m.Write([]byte{0})
	m.Write([]byte(visitor))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func isPseudonym(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}
